import json
import re
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.fields import (authors, cited_outlets, dateline, load_outlets, parse_date, published_at,
                             us_daylight_time)
from tests.conftest import REPO, SEED_DIR, needs

OUTLETS = load_outlets(REPO / "schemas" / "lexicons")
FIXTURES = sorted((Path(__file__).parent / "fixtures" / "extract").glob("*.json"))


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    # English forms, 12-hour clock and US zones
    ("Published 3:42 PM EST, Tue March 2, 2021", utc(2021, 3, 2, 20, 42)),
    ("Updated: 02/03/2021", utc(2021, 2, 3)),
    ("March 2, 2021", utc(2021, 3, 2)),
    ("Mar. 2 2021 9 a.m. PST", utc(2021, 3, 2, 17, 0)),
    ("Last updated 14:05 GMT, 3 November 2023", utc(2023, 11, 3, 14, 5)),
    ("USA TODAY | Published 3:42 PM EST March 2, 2021", utc(2021, 3, 2, 20, 42)),
    # ISO 8601 and RFC 2822
    ("2024-03-14T08:00:00+01:00", utc(2024, 3, 14, 7, 0)),
    ("2021-03-02T15:42:00.000Z", utc(2021, 3, 2, 15, 42)),
    ("2024-03-14 08:00", utc(2024, 3, 14, 8, 0)),
    ("2024-03-14", utc(2024, 3, 14)),
    ("Tue, 02 Mar 2021 15:42:00 +0100", utc(2021, 3, 2, 14, 42)),
    # es, fr, de, pt, it
    ("2 de marzo de 2021 - 10:15 CET", utc(2021, 3, 2, 9, 15)),
    ("Publié le 1er mars 2021 à 14h30", utc(2021, 3, 1, 14, 30)),
    ("Veröffentlicht am 2. März 2021, 14.30 Uhr", utc(2021, 3, 2, 14, 30)),
    ("Stand: 02.03.2021 14:30 Uhr", utc(2021, 3, 2, 14, 30)),
    ("Atualizado em 14/03/2024 10h00", utc(2024, 3, 14, 10, 0)),
    ("2 de março de 2021", utc(2021, 3, 2)),
    ("20 settembre 2022, ore 18:00", utc(2022, 9, 20, 18, 0)),
    # a date inside a number-laden line: the time is not taken from the date
    ("13.03.2024 10:00", utc(2024, 3, 13, 10, 0)),
])
def test_dates_in_many_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2 hours ago", "hace 3 horas", "il y a 2 jours", "vor 5 Minuten",
                                  "2 ore fa", "há 3 horas", "yesterday", "Updated today at 3:42 PM",
                                  "02/03/21", "March 2", "", None])
def test_relative_and_incomplete_dates_are_not_dates(text):
    assert parse_date(text) is None


def test_day_and_month_order_of_numeric_dates():
    assert parse_date("02/03/2021", month_first=True) == utc(2021, 2, 3)    # English page: US style
    assert parse_date("02/03/2021", month_first=False) == utc(2021, 3, 2)   # other languages
    assert parse_date("13/03/2021", month_first=True) == utc(2021, 3, 13)   # a part over 12 decides
    assert parse_date("03/13/2021", month_first=False) == utc(2021, 3, 13)
    assert parse_date("02.03.2021", month_first=True) == utc(2021, 3, 2)    # dotted: always day first


def test_us_generic_zones_follow_daylight_saving_time():
    assert us_daylight_time(datetime(2021, 3, 13).date()) is False
    assert us_daylight_time(datetime(2021, 3, 14).date()) is True     # second Sunday of March
    assert us_daylight_time(datetime(2021, 11, 7).date()) is False    # first Sunday of November
    assert parse_date("July 4, 2021 9:00 a.m. ET") == utc(2021, 7, 4, 13, 0)
    assert parse_date("Jan. 4, 2021 9:00 a.m. ET") == utc(2021, 1, 4, 14, 0)


def test_zone_abbreviations_count_only_in_capitals():
    # "est" (French "is") and "ist" (German "is") are words, not zones
    assert parse_date("le 2 mars 2021, il est 14h30") == utc(2021, 3, 2, 14, 30)
    assert parse_date("2. März 2021, die Lage ist 10:00 ruhig") == utc(2021, 3, 2, 10, 0)


def test_published_at_prefers_metadata_then_the_timestamp_line_then_the_body_head():
    assert published_at("2024-01-05", "Published March 2, 2021") == utc(2024, 1, 5)
    assert published_at("not a date", "Published March 2, 2021") == utc(2021, 3, 2)
    assert published_at(None, None, "Updated: March 4, 2021\n\nBody") == utc(2021, 3, 4)
    assert published_at(None, None, "Mis à jour le 4 mars 2021 à 10h00\n\nTexte") == utc(2021, 3, 4, 10)
    assert published_at(None, None, "Tuesday, March 4, 2021 10:00 GMT\n\nBody") == utc(2021, 3, 4, 10)
    assert published_at(None, "2 hours ago") is None


def test_a_date_in_the_body_text_is_not_the_publication_date():
    assert published_at(None, None, "On March 2, 2021, the council voted to close the street.") is None


def test_published_at_reads_ambiguous_numeric_dates_by_language():
    assert published_at(None, "Updated: 02/03/2021", language="en") == utc(2021, 2, 3)
    assert published_at(None, "Mis à jour : 02/03/2021", language="fr") == utc(2021, 3, 2)


@pytest.mark.parametrize("byline, expected", [
    ("By Ana Ruiz and JOHN SMITH, Associated Press", ["Ana Ruiz", "John Smith"]),
    ("By JOHN SMITH, Associated Press", ["John Smith"]),
    ("By Ana Ruiz, Tom Becker and Li Wei", ["Ana Ruiz", "Tom Becker", "Li Wei"]),
    ("Maria Okafor | Staff Writer", ["Maria Okafor"]),
    ("Maria Okafor | Political Correspondent", ["Maria Okafor"]),
    ("By Ana Ruiz for The Guardian | Updated March 2, 2021", ["Ana Ruiz"]),
    ("By Ana Ruiz (ana.ruiz@example.org) @anaruiz", ["Ana Ruiz"]),
    ("Written by: Tom Becker", ["Tom Becker"]),
    ("Por Lucía Moreno y Diego Salas", ["Lucía Moreno", "Diego Salas"]),
    ("Guillermo del Toro", ["Guillermo del Toro"]),
    ("Par Camille Dubois et Julien Mercier", ["Camille Dubois", "Julien Mercier"]),
    ("Von Lena Hoffmann und Markus Weber", ["Lena Hoffmann", "Markus Weber"]),
    ("Por Ana Souza e Pedro Lima", ["Ana Souza", "Pedro Lima"]),
    ("di Giulia Romano", ["Giulia Romano"]),
    ("Di Maio", ["Di Maio"]),          # a surname, not the Italian byline prefix
    ("Reuters", []),                   # an outlet is no author
    ("By Staff", []),
])
def test_bylines_become_author_lists(byline, expected):
    assert authors([], byline, OUTLETS) == expected


def test_metadata_authors_win_over_the_byline_and_repeats_go():
    assert authors(["Ana Ruiz", " ana ruiz "], "By Someone Else", OUTLETS) == ["Ana Ruiz"]
    assert authors([], None) == []


@pytest.mark.parametrize("line, paragraph, expected", [
    ("NAIROBI, Kenya (Reuters) —", "", "NAIROBI, Kenya (Reuters)"),
    ("NAIROBI, Kenya (Reuters)", "", "NAIROBI, Kenya (Reuters)"),
    (None, "MADRID (AP) — The government said on Monday …", "MADRID (AP)"),
    (None, "SANTA LUCERNA, Costa Verde (Reuters) — Hundreds of residents …", "SANTA LUCERNA, Costa Verde (Reuters)"),
    (None, "WASHINGTON — The Senate voted …", "WASHINGTON"),
    (None, "BERLIN, 2. März (dpa) - Die Bundesregierung …", "BERLIN, 2. März (dpa)"),
    ("MADRID, 5 Oct. (EUROPA PRESS) -", "", "MADRID, 5 Oct. (EUROPA PRESS)"),
    (None, "LYON (AFP) - La métropole …", "LYON (AFP)"),
    (None, "ROMA - Il Comune …", "ROMA"),
    (None, "NEW DELHI: The government on Monday …", "NEW DELHI"),
    (None, "The US President said on Monday …", None),
    (None, "US President, Joe Biden ordered the military to carry out airstrikes", None),
    (None, "UPDATE — The council has now voted …", None),
    (None, "BREAKING: Fire at the port", None),
])
def test_datelines(line, paragraph, expected):
    assert dateline(line, paragraph) == expected


@pytest.mark.parametrize("text, expected", [
    ("Mohi told Reuters, and USA Today reported that …", ["Reuters", "USA Today"]),
    ("According to Le Monde, the plan … the BBC reported on Monday.", ["Le Monde", "BBC"]),
    ("“It is over,” he told the Associated Press in an interview.", ["Associated Press"]),
    ("MADRID (AP) — The government …", ["Associated Press"]),
    ("Según El País, el plan … dijo a EFE el ministro.", ["El País", "Agencia EFE"]),
    ("Según informó la agencia EFE, el presupuesto …", ["Agencia EFE"]),
    ("Selon l'AFP, trois personnes … Le Monde a rapporté mardi que …", ["Agence France-Presse", "Le Monde"]),
    ("Laut Spiegel plant die Regierung … wie die Süddeutsche Zeitung berichtete.",
     ["Der Spiegel", "Süddeutsche Zeitung"]),
    ("De acordo com o jornal O Globo, o projeto …", ["O Globo"]),
    ("Lo ha riferito l’agenzia ANSA, citando fonti …", ["ANSA"]),
    ("He reads Reuters every morning and the ap style guide.", []),
    ("The Washington Post and the New York Times reported it first.", ["The New York Times"]),
])
def test_cited_outlets(text, expected):
    assert cited_outlets(text, OUTLETS) == expected


def test_the_dateline_agency_is_a_cited_outlet_first():
    assert cited_outlets("Según informó la agencia EFE …", OUTLETS, "MADRID, 5 Oct. (EUROPA PRESS)") == [
        "Europa Press", "Agencia EFE"]
    assert cited_outlets("No citation here.", OUTLETS, "NAIROBI, Kenya (Unknown Wire)") == []


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_articles_fields(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    document, expected = data["document"], data["expected"]
    body = "\n\n".join(document["paragraphs"])
    found_dateline = dateline(document["dateline"], document["paragraphs"][0])
    value = published_at(document["meta_published"], document["timestamp_text"], body[:600], document["language"])
    assert (value.isoformat() if value else None) == expected["published_at"]
    assert authors(document["meta_authors"], document["byline"], OUTLETS) == expected["authors"]
    assert found_dateline == expected["dateline"]
    assert cited_outlets(body, OUTLETS, found_dateline) == expected["outlets"]


def test_the_seed_fields():
    expected = json.loads(needs(SEED_DIR / "000_a1afa4b16a1fe23b.expected.json").read_text(encoding="utf-8"))
    body = "\n\n".join(expected["body_paragraphs"])
    assert set(cited_outlets(body, OUTLETS)) == {"Reuters", "USA Today"} == set(expected["cited_outlets"])
    assert published_at(None, None, body[:600]) is None
    assert dateline(None, expected["body_paragraphs"][0]) is None
    assert authors([], None, OUTLETS) == expected["authors"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80), st.sampled_from(["en", "es", "fr", "de", "pt", "it", "und"]))
def test_fields_never_fail_on_any_text(a, b, language):
    value = published_at(a, b, a + "\n" + b, language)
    assert value is None or value.tzinfo is not None
    assert all(name.strip() == name and name for name in authors([], a, OUTLETS))
    found = dateline(a, b)
    assert found is None or found.strip() == found
    assert len(set(cited_outlets(a + " told Reuters " + b, OUTLETS))) == len(cited_outlets(a + " told Reuters " + b, OUTLETS))


@settings(max_examples=500, deadline=None)
@example(["March", " ", "2", " ", "2021"])
@example(["2021", "-", "03", "-", "03", "T15:42:00"])
@example(["03", "/", "03", "/", "2021"])
@example(["١٢٣٤", "-", "03", "-", "03"])
@given(st.lists(st.sampled_from(["2021", "202", "21", "2", "03", "-", "/", ".", " ", "March", "mars", "2nd", "de ",
                                 "T15:42:00", "Z", "+01:00", "١٢٣٤", "x"]), max_size=12))
def test_a_date_needs_a_four_digit_year(pieces):
    from pipeline import fields

    text = "".join(pieces)
    if fields._YEAR.search(text) is None:  # parse_date's shortcut: none of its patterns can match
        assert not any(p.search(text) for p in (fields._ISO_DATE, *fields._TEXT_DATES, fields._NUMERIC_DATE))


NAME_PIECES = ["Reuters", "Reu", "AP", "AFP", "A", "Associated Press", "Associated", "Le Monde", "BBC", "B", "dpa",
               "taz", "x", " ", "(", "é", "Agence France-Presse", "Agence France"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(NAME_PIECES), max_size=12),
       st.lists(st.sampled_from(["A", "AP", "AFP", "Reuters", "Reuters TV", "R", "Le Monde", "é", ""]), max_size=5))
def test_the_name_tree_finds_an_occurrence_as_a_plain_alternation(pieces, words):
    from pipeline import fields

    text = "".join(pieces)
    plain = re.compile("|".join(re.escape(w) for w in words) if words else r"(?!)")
    assert (re.search(fields._occurrence_pattern(words), text) is None) is (plain.search(text) is None)
    every_name = [n for n in OUTLETS.names if n[:1].isupper()]
    assert (re.search(fields._occurrence_pattern(every_name), text) is None) is (
        re.search("|".join(re.escape(n) for n in every_name), text) is None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(NAME_PIECES + ["REUTERS", "Dpa", "bbc"]), max_size=10).map("".join),
                max_size=6))
def test_polars_finds_the_gazetteer_names_names_a_name_finds(bodies):
    found = OUTLETS.name_names(pl.Series(bodies, dtype=pl.String)).to_list()
    assert found == [OUTLETS.names_a_name(body) for body in bodies]
