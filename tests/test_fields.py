from datetime import datetime, timezone

import pytest

from pipeline.fields import authors, dateline, load_outlets, parse_date, published_at
from tests.conftest import REPO

OUTLETS = load_outlets(REPO / "schemas" / "lexicons")


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("Published 3:42 PM EST, Tue March 2, 2021", utc(2021, 3, 2, 20, 42)),
    ("Updated: 02/03/2021", utc(2021, 2, 3)),
    ("13/03/2024 10:00", utc(2024, 3, 13, 10, 0)),
    ("2024-03-14T08:00:00+01:00", utc(2024, 3, 14, 7, 0)),
    ("2 de marzo de 2021", utc(2021, 3, 2)),
    ("Publié le 2 mars 2021 à 14h30", utc(2021, 3, 2, 14, 30)),
    ("Veröffentlicht am 2. März 2021", utc(2021, 3, 2)),
    ("2 hours ago", None),
    ("hace 3 horas", None),
    ("yesterday", None),
    (None, None),
])
def test_dates_in_many_forms_and_relative_phrases_are_not_dates(text, expected):
    assert parse_date(text) == expected


def test_numeric_dates_are_day_first_outside_english():
    assert parse_date("02/03/2021", month_first=False) == utc(2021, 3, 2)


def test_published_at_prefers_metadata_then_the_timestamp_line():
    assert published_at("2024-01-05", "Published March 2, 2021") == utc(2024, 1, 5)
    assert published_at(None, "Published March 2, 2021") == utc(2021, 3, 2)
    assert published_at(None, None, "Updated: March 4, 2021\n\nBody") == utc(2021, 3, 4)
    assert published_at(None, "2 hours ago") is None


@pytest.mark.parametrize("byline, expected", [
    ("By Ana Ruiz and JOHN SMITH, Associated Press", ["Ana Ruiz", "John Smith"]),
    ("Maria Okafor | Staff Writer", ["Maria Okafor"]),
    ("Por Lucía Moreno y Diego Salas", ["Lucía Moreno", "Diego Salas"]),
    ("Par Camille Dubois et Julien Mercier", ["Camille Dubois", "Julien Mercier"]),
    ("Von Lena Hoffmann und Markus Weber", ["Lena Hoffmann", "Markus Weber"]),
    ("Di Giulia Romano", ["Giulia Romano"]),
])
def test_bylines_become_author_lists(byline, expected):
    assert authors([], byline, OUTLETS) == expected


def test_metadata_authors_win_over_the_byline():
    assert authors(["Ana Ruiz"], "By Someone Else", OUTLETS) == ["Ana Ruiz"]


@pytest.mark.parametrize("line, paragraph, expected", [
    ("NAIROBI, Kenya (Reuters)", "", "NAIROBI, Kenya (Reuters)"),
    (None, "MADRID (AP) — The government said on Monday …", "MADRID (AP)"),
    (None, "SANTA LUCERNA, Costa Verde (Reuters) — Hundreds of residents …", "SANTA LUCERNA, Costa Verde (Reuters)"),
    (None, "The US President said on Monday …", None),
])
def test_datelines(line, paragraph, expected):
    assert dateline(line, paragraph) == expected


@pytest.mark.parametrize("text, expected", [
    ("Mohi told Reuters, and USA Today reported that …", ["Reuters", "USA Today"]),
    ("According to Le Monde, the plan … the BBC reported on Monday.", ["Le Monde", "BBC"]),
    ("MADRID (AP) — The government …", ["AP"]),
    ("Según El País, el plan … dijo a EFE el ministro.", ["El País", "EFE"]),
    ("Laut Der Spiegel plant die Regierung …", ["Der Spiegel"]),
    ("He reads Reuters every morning.", []),
])
def test_cited_outlets(text, expected):
    assert OUTLETS.cited(text) == expected
