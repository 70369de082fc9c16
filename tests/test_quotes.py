import json

import pytest

from pipeline.fields import load_outlets
from pipeline.quotes import Attributor, find_quotes, load_speech_verbs, quote_spans, resolve
from tests.conftest import REPO, SEED_DIR, needs

ATTRIBUTOR = Attributor(load_speech_verbs(REPO / "schemas" / "lexicons"), load_outlets(REPO / "schemas" / "lexicons"))


def speakers(text, names=()):
    return [(q.speaker, q.text, q.partial) for q in find_quotes(text, ATTRIBUTOR, list(names))]


@pytest.mark.parametrize("text, speaker", [
    ("“We will build it this year,” Mayor Ana Ruiz said.", "Ana Ruiz"),
    ("“We will build it this year,” said Ana Ruiz.", "Ana Ruiz"),
    ("\"We will build it this year,\" Ana Ruiz told Reuters.", "Ana Ruiz"),
    ("Ana Ruiz added: “We will build it this year and the next.”", "Ana Ruiz"),
    ("According to Ana Ruiz, “the bridge will be built this year.”", "Ana Ruiz"),
    ("“We will build it this year,” Ana Ruiz warned on Tuesday.", "Ana Ruiz"),
    ("«Queremos que ir en bicicleta sea seguro», dijo Carmen Ruiz.", "Carmen Ruiz"),
    ("« C’est un changement profond pour le nord », a déclaré la maire, Hélène Marchand.", "Hélène Marchand"),
    ("„Mobilität darf keine Frage des Geldbeutels sein“, sagte Thomas Krüger.", "Thomas Krüger"),
    ("“O mercado é o coração do centro histórico”, afirmou Ricardo Santos.", "Ricardo Santos"),
    ("«Vogliamo restituire le piazze ai cittadini», ha detto Marco Ricci.", "Marco Ricci"),
])
def test_attribution_patterns_in_six_languages(text, speaker):
    assert [s for s, _, _ in speakers(text, ["Ana Ruiz"])] == [speaker]  # names come from NER


def test_an_unattributed_quote_keeps_no_speaker_and_scare_quotes_are_not_quotes():
    assert speakers("Critics called it “a mistake” and “hasty”.") == []
    assert speakers("“Nobody expected the vote to pass this quickly at all.”") == [
        (None, "Nobody expected the vote to pass this quickly at all.", False)]


def test_a_quote_continued_over_paragraphs_and_a_continuation_paragraph():
    body = ("“The first part of the statement runs on here,\n\n“and the second part ends here,” "
            "Ana Ruiz said.\n\n“A new paragraph that continues what she was saying today.”")
    quotes = find_quotes(body, ATTRIBUTOR, [])
    assert [q.speaker for q in quotes] == ["Ana Ruiz", "Ana Ruiz"]
    assert "\n\n“and the second part" in quotes[0].text
    assert all(body[q.start:q.end] == q.text for q in quotes)


def test_partial_quotes_and_name_resolution():
    body = "Lloyd Austin spoke first. Later, Austin told reporters the army was “confident that the target was right.”"
    [quote] = find_quotes(body, ATTRIBUTOR, ["Lloyd Austin"])
    assert (quote.speaker, quote.partial) == ("Lloyd Austin", True)
    assert resolve("Defense Secretary Lloyd Austin", ["Lloyd Austin"]) == "Lloyd Austin"


def test_spans_ignore_unclosed_marks():
    assert quote_spans("He said “this never closes.\n\nNext paragraph.") == []


def test_the_seed_quotes_and_speakers():
    expected = json.loads(needs(SEED_DIR / "000_a1afa4b16a1fe23b.expected.json").read_text(encoding="utf-8"))
    body = "\n\n".join(expected["body_paragraphs"])
    names = ["Joe Biden", "Lloyd Austin", "Mohammed Mohi", "Pentagon", "US State Department"]
    found = {q.text.strip(): q.speaker for q in find_quotes(body, ATTRIBUTOR, names)}
    for quote in expected["quotes"]:
        speaker = found[quote["text"].strip()]
        assert speaker and (speaker in quote["speaker"] or quote["speaker"] in speaker), (quote, speaker)
    for scare in expected["scare_quotes"]:
        assert scare not in found
