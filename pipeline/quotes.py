"""Direct quotations in an article body, with who said them.

`find_quotes(body, language, names)` returns every direct quotation of `body` as a `Quote`:
the quoted text without its marks, its offsets in `body`, whether it is partial (embedded in the
writer's own sentence), its order, and its speaker.

What counts as a quotation
- Text between “ ” (English), "…" (straight), « » (French, Spanish, Italian, Portuguese), „ “
  (German; „ ” too), ‹ › and, in German, » «; a paragraph without the proper closing mark may
  close “ with a straight " and " with ” (scraped text mixes them); British ‘ ’ when the closing ’ is not an
  apostrophe (it follows punctuation, or is followed by punctuation or a space after a letter
  other than s). Straight single quotes are never quote marks (they are apostrophes).
- News style continues a quotation over paragraphs by leaving the closing mark off and opening
  the next paragraph with a quote mark. Each paragraph of such a chain is its own `Quote`; they
  share the chain's speaker. An opening mark that is never closed (and not continued) is a stray
  mark and gives nothing.
- Scare quotes and titles are not quotations: a quoted run of at most TITLE_MAX_WORDS words that
  are all capitalised ("Operation Quiet Street") is a title; a run of fewer than MIN_QUOTE_WORDS
  words is a quotation only when a speech verb is attached to it ("“No,” she said", "added:
  “Never.”"); "called the comments a “rare direct denial”" is not.

Speakers
- From the sentence around the quotation, with the speech verbs, "according to" phrases, title
  words and pronouns of `schemas/lexicons/attribution/<language>.txt` (the article's language
  plus English; all languages for 'und'): "…,” X said", "said X", "said the mayor, X", "X told
  Reuters", "X, who …, added: “…", "according to X", "«…», dijo X", "« … », a-t-elle ajouté",
  "„…“, sagte X" / "so X", "«…», ha detto X", "segundo X".
- A pronoun ("she added", "a-t-il dit", "sagte er") or, in es/pt/it, a verb with no subject
  ("«…», dijo.") goes to the person last named before the quotation, within
  PRONOUN_REACH_PARAGRAPHS paragraphs (people from `names` with label PERSON, and speakers
  already attributed).
- An unattributed quotation takes the speaker of the quotation before it when it opens its own
  paragraph right after that quotation's paragraph, or follows it in the same paragraph (news
  style for a statement quoted in several parts). Otherwise it keeps speaker None.
- The speaker is resolved to the fullest name the article gives that person or organisation:
  titles go ("Defense Secretary Lloyd Austin" -> "Lloyd Austin"), a surname grows to the full
  name ("Austin" -> "Lloyd Austin"), "the Pentagon" becomes the article's "Pentagon". Names come
  from `names` (the article's named entities as (text, label) pairs) and, failing those, from the
  article's runs of two or more capitalised words.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterable, Sequence

MIN_QUOTE_WORDS = 5          # a quotation without an attached speech verb needs this many words
TITLE_MAX_WORDS = 10         # a quoted run of this many capitalised words or fewer is a title
PRONOUN_REACH_PARAGRAPHS = 3  # how far back a pronoun looks for the person it stands for
ATTRIBUTIONS_REMEMBERED = 4096  # texts beside quotations whose attribution each Attributor keeps
NAMES_REMEMBERED = 16384  # runs of capitalised words whose cleaned name each Attributor keeps
# The lexicons shipped with the project; the extract stage passes its own `lexicon_dir`.
DEFAULT_LEXICONS = Path(__file__).resolve().parents[1] / "schemas" / "lexicons"

_UPPER = "A-Z" + "".join(c for c in map(chr, range(0xC0, 0x17F)) if c.isupper() and c.isalpha())
# A name word: initials ("J.", "U.S.") or a capitalised word. The capital opening both is written
# once, before the alternation (same matches, tried in the same order): a pattern that opens with
# a character class lets the regex engine skip to capitals instead of trying every position.
_NAME_WORD = rf"(?:[{_UPPER}](?:\.(?:[{_UPPER}]\.){{0,3}}(?![\w])|[\w'’-]*))"
_PARTICLE = (r"(?:al-|el-|bin\s+|ibn\s+|de\s+|del\s+|della\s+|di\s+|da\s+|do\s+|dos\s+|du\s+"
             r"|van\s+(?:der\s+|den\s+)?|von\s+(?:der\s+)?|le\s+|la\s+)")
_ARTICLE = r"(?:the|la|le|el|der|die|das|il|lo|o|a)"
# Abbreviated titles that may open a name ("Rep. Brian Babin", "Dr. Ana Ruiz", "M. Dupont").
_ABBREVIATION = (r"(?:(?:Mr|Mrs|Ms|Mx|Dr|Drs|Prof|Rep|Sen|Gov|Gen|Lt|Col|Sgt|Capt|Cmdr|Adm|Rev|Fr|Sr|Sra|Srta"
                 r"|Dra|Mme|Mlle|M|Dott|Hon)\.\s+)")
NAME = rf"(?:{_ARTICLE}\s+)?{_ABBREVIATION}?{_NAME_WORD}(?:\s+{_PARTICLE}?{_NAME_WORD}|-{_NAME_WORD})*"
_MARKS = "“”\"«»„‹›‘"
_LEAD = r"^[\s,.;:!?…—–-]*"
# text within one clause: no sentence end and no quote mark (a dot inside "U.S." is fine)
_CLAUSE = rf"(?:[^.!?{_MARKS}\n]|\.(?=[^\s{_MARKS}]))"
_DESCRIPTION = rf"[^\W\d][^,.;:!?{_MARKS}\n]{{0,60}}?"
_AUXILIARIES = r"(?:has|had|have|also|then|later|hat|ha|a|já|también|aussi|auch|anche|ainsi)"
# A name right after one of these is inside a phrase ("published in the journal JAMA
# Psychiatry argued"), not the subject of the speech verb that follows.
_PREPOSITIONS = (r"(?:in|of|at|for|from|with|by|on|to|into|about|under|over|than|de|del|della|di|da|do|"
                 r"dans|du|des|en|von|vom|im|zu|bei|mit|aus|für|para|por|com|per|con|su)")
_ENDS_IN_PREPOSITIONAL_PHRASE = re.compile(rf"\b{_PREPOSITIONS}\s+(?:[a-z][\w’'-]*\s+){{0,2}}$")
_MARK = re.compile(f"[{_MARKS}]")
_WEEKDAYS_AND_MONTHS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december lunes martes miércoles jueves viernes sábado domingo "
    "lundi mardi mercredi jeudi vendredi samedi dimanche montag dienstag mittwoch donnerstag freitag samstag "
    "sonntag segunda terça quarta quinta sexta sábado lunedì martedì mercoledì giovedì venerdì sabato "
    "domenica".split())
_SENTENCE_END = re.compile(rf"[.!?…](?=[\s”»“]+[{_UPPER}“\"«„‘])")
_CAPITALISED_RUN = re.compile(rf"{_NAME_WORD}(?:\s+{_PARTICLE}?{_NAME_WORD})+")
_PAIRS = {"“": "”", '"': '"', "«": "»", "„": "“”", "‹": "›", "‘": "’"}
# Scraped text mixes curly and straight double quotes: when a paragraph has no proper closing
# mark, these close the quotation instead.
_FALLBACK_CLOSERS = {"“": '"', '"': "”"}


@dataclass(frozen=True)
class Quote:
    """A direct quotation: `body[start:end] == text` (the quote marks are outside)."""

    index: int
    text: str
    speaker: str | None
    start: int
    end: int
    partial: bool


# --- lexicon -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttributionLexicon:
    """Speech verbs, source phrases, name prefixes and pronouns per language."""

    sections: dict  # language -> {"verbs"|"sources"|"openers"|"titles"|"pronouns": tuple[str, ...]}
    _rules: dict = field(default_factory=dict, repr=False, compare=False)
    _title_words: dict = field(default_factory=dict, repr=False, compare=False)

    def words(self, language: str, section: str) -> tuple[str, ...]:
        """The entries of `section` for `language` plus English ('und' or unknown: every language)."""
        languages = [language, "en"] if language in self.sections else list(self.sections)
        found = {w for lang in languages for w in self.sections.get(lang, {}).get(section, ())}
        return tuple(sorted(found, key=lambda w: (-len(w), w)))

    def leading_words(self, language: str) -> frozenset[str]:
        """Lower-case words that may open a sentence before a name but are no part of it:
        openers, one-word sources, titles and function words ("laut", "secondo", "the", "mayor",
        "ein", "nach")."""
        words = [*self.words(language, "openers"), *self.words(language, "sources"), *self.words(language, "titles"),
                 *self.words(language, "stopwords")]
        return frozenset(w.casefold().rstrip(".") for w in words if " " not in w)

    def title_words(self, language: str) -> frozenset[str]:
        """The one-word titles of `language` (and English), lower case, without a final dot (built
        once per language, then cached: extraction asks for them once per article)."""
        if language not in self._title_words:
            self._title_words[language] = frozenset(w.casefold().rstrip(".") for w in self.words(language, "titles")
                                                    if " " not in w)
        return self._title_words[language]

    def rules(self, language: str) -> "Attributor":
        """The compiled attribution patterns for `language` (built once, then cached)."""
        key = language if language in self.sections else "und"
        if key not in self._rules:
            self._rules[key] = Attributor(self, key)
        return self._rules[key]


def load_attribution(lexicon_dir: Path) -> AttributionLexicon:
    """The attribution lexicon from `lexicon_dir/attribution/<language>.txt` (sections in
    [brackets], one entry a line, `# comments`)."""
    sections: dict = {}
    for path in sorted((Path(lexicon_dir) / "attribution").glob("*.txt")):
        current = None
        entries: dict[str, list[str]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                current = line[1:-1].strip()
                entries.setdefault(current, [])
            elif current:
                entries[current].append(line)
        stopwords = Path(lexicon_dir) / "stopwords" / path.name
        if stopwords.exists():  # function words: a capitalised one opening a sentence is no name
            words = [w for line in stopwords.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("#") for w in line.split()]
            entries["stopwords"] = words
        sections[path.stem] = {name: tuple(values) for name, values in entries.items()}
    return AttributionLexicon(sections)


@lru_cache(maxsize=1)
def default_lexicon() -> AttributionLexicon:
    """The attribution lexicon shipped in the project's `schemas/lexicons/`."""
    return load_attribution(DEFAULT_LEXICONS)


def _alternation(entries: Iterable[str]) -> str:
    return "|".join(re.escape(e).replace(r"\ ", r"\s+") for e in entries) or r"(?!)"


@dataclass(frozen=True)
class Attribution:
    name: str | None = None      # a name as written ("Defense Secretary Lloyd Austin")
    pronoun: bool = False        # attributed to a pronoun or an implied subject
    direct: bool = False         # a speech verb is attached to the quotation itself


class Attributor:
    """The attribution patterns of one language, compiled from the lexicon."""

    def __init__(self, lexicon: AttributionLexicon, language: str):
        verbs = _alternation(lexicon.words(language, "verbs"))
        sources = _alternation(lexicon.words(language, "sources"))
        pronouns = _alternation(lexicon.words(language, "pronouns"))
        # a source word opening a sentence ("Selon Marc Lefèvre, …") is no part of a name either
        self.openers = frozenset(w.casefold() for w in (*lexicon.words(language, "openers"),
                                                        *lexicon.words(language, "sources")) if " " not in w)
        # function words ("During", "Will") open a sentence, rarely a name; a named entity keeps them
        self.function_words = frozenset(w.casefold() for w in lexicon.words(language, "stopwords"))
        self.openers_and_function_words = self.openers | self.function_words
        self.titles = frozenset(w.casefold().rstrip(".") for w in lexicon.words(language, "titles"))
        self.pronouns = frozenset(p.casefold() for p in lexicon.words(language, "pronouns"))
        verb = rf"(?:{verbs})(?![\w-])"
        name = rf"(?P<name>{NAME})"
        titles = _alternation(lexicon.words(language, "titles"))
        # "Ana Ruiz of the World Bank said": the affiliation is not part of the speaker
        affiliation = (rf"(?:\s+(?:of|from|at|de|du|des|del|della|dell’|von|vom|da|do|di)\s+(?:the\s+)?{NAME})?"
                       r"(?:\s+and\s+(?:his|her|their|its)\s+[a-z]+)?")  # "Paganini and his team wrote"
        # ", the mayor," between a name and its verb: right after a quotation it may hold commas
        # ("Jim Chilton, senior vice president at Boeing Defense, Space & Security, said")
        appositive = affiliation + rf"(?:,[^,{_MARKS}\n]{{1,200}},)?"
        long_appositive = affiliation + rf"(?:,[^{_MARKS}\n]{{1,160}}?,)?"
        # lower-case words of a role ("administrator", "planetary geologist"), not function words
        # ("nach der Abstimmung", "on Tuesday")
        function_words = _alternation([*lexicon.words(language, "stopwords"), "on", "in", "at", "after", "before"])
        role_word = r"[a-zà-ÿ][\w’'-]*"
        not_function_word = rf"(?!(?:{function_words}|{_PREPOSITIONS})\s)"
        aux = rf"(?:{_AUXILIARIES}\s+)?"
        pronoun = rf"(?:{pronouns})"
        # "said NASA administrator Jim Bridenstine": a role between the verb and the name
        role = rf"(?:the\s+)?(?:{NAME}\s+)?(?:[a-z][\w-]*\s+){{0,2}}(?i:{titles})\s+"
        # the pronoun of a pronoun pattern follows the start, a space or punctuation, and is
        # followed by a space or a word boundary: a text without such a pronoun needs no search
        pronoun_word = re.compile(rf"(?<!\w)(?i:{pronoun})(?:\s|\b)")
        # after the closing mark
        self.after = [
            # "responded NASA administrator Jim Bridenstine": an organisation, a role, the name
            ("direct", re.compile(
                rf"{_LEAD}{verb}\s+(?:the\s+)?{NAME}\s+(?:{not_function_word}{role_word}\s+){{1,3}}{name}")),
            ("direct", re.compile(rf"{_LEAD}{verb}\s+(?:(?i:{_DESCRIPTION}),\s+|{role})??{name}")),
            # "said planetary geologist Rosaly Lopes": lower-case words between verb and name
            ("direct", re.compile(rf"{_LEAD}{verb}\s+(?:(?:{_ARTICLE}|an|l’|l')\s*)?(?:{NAME}\s+)?"
                                  rf"(?:{not_function_word}{role_word}\s+){{1,4}}{name}")),
            ("direct", re.compile(rf"{_LEAD}{name}{long_appositive}\s+{aux}{verb}")),
            ("pronoun", _NeedsPronoun(rf"{_LEAD}(?i:{pronoun}\s+{aux}{verb}|{verb}\s+{pronoun}\b)", pronoun_word)),
            ("source", re.compile(rf"{_LEAD}(?i:{sources})\s+(?:(?i:{_DESCRIPTION}),\s+)??{name}")),
            ("near_after", re.compile(rf"(?<![\w’'-]){name}{long_appositive},?\s+{aux}{verb}")),
            ("pronoun_near", _NeedsPronoun(rf"{_LEAD}(?:{_CLAUSE}*?[\s,])?(?i:{pronoun}\s+{aux}{verb})",
                                           pronoun_word)),
        ]
        if language in ("fr", "und"):
            participles = [v.split(" ", 1)[1] for v in lexicon.words("fr", "verbs") if v.startswith("a ")]
            present = [v for v in lexicon.words("fr", "verbs") if " " not in v]
            inversion = (rf"a-t-(?:il|elle|on)\s+(?:{_alternation(participles)})"
                         rf"|(?:{_alternation(present)})-(?:t-)?(?:il|elle|on)\b")
            self.after.insert(2, ("pronoun", re.compile(rf"{_LEAD}(?i:{inversion})")))
        if language in ("de", "und"):
            self.after.insert(2, ("direct", re.compile(rf"{_LEAD}so\s+{name}")))
        if language in ("es", "pt", "it", "und"):  # the subject is often left out: «…», dijo.
            self.after.append(("pronoun", re.compile(rf"{_LEAD}{verb}(?!\s+{NAME})")))
        # before the opening mark (in the same sentence)
        verb_endings = tuple(sorted({v.split()[-1] for v in lexicon.words(language, "verbs")}))
        self.before = [
            ("direct", _EndsWithVerb(rf"{name}{appositive}\s+{aux}{verb}\s*[:,]?\s*$", verb_endings)),
            ("pronoun", _NeedsPronoun(rf"(?:^|[\s,;])(?i:{pronoun}\s+{aux}{verb})\s*[:,]?\s*$", pronoun_word)),
            ("near_before", re.compile(rf"(?<![\w’'-]){name}{appositive}\s+{aux}{verb}[^{_MARKS}]*$")),
            # "Volker said he never used the term “three amigos” and added, “…": the sentence's
            # subject, and a verb right before the quotation
            ("direct", _EndsWithVerb(rf"^\W*(?:\w+,\s+)?{name}\s[^\n]*?\b{verb}\s*[:,]?\s*$", verb_endings)),
            ("pronoun_near", _NeedsPronoun(rf"(?:^|[\s,;])(?i:{pronoun}\s+{aux}{verb})[^{_MARKS}]*$", pronoun_word)),
            ("source", re.compile(rf"(?i:\b(?:{sources}))\s+(?:(?i:{_DESCRIPTION}),\s+)??{name}")),
        ]
        # The text on either side of a quotation recurs ("she said.", ".", a sentence that opens
        # several quotations): each side's answer for a text is remembered, a bounded number of them.
        self._match_after = lru_cache(maxsize=ATTRIBUTIONS_REMEMBERED)(lambda text: self._match(self.after, text))
        self._match_before = lru_cache(maxsize=ATTRIBUTIONS_REMEMBERED)(lambda text: self._match(self.before, text))
        # names recur within an article and across articles: each run's name is remembered too
        self.run_name = lru_cache(maxsize=NAMES_REMEMBERED)(self._run_name)

    def attribute(self, before: str, after: str, partial: bool) -> Attribution:
        """The attribution of a quotation from its sentence: `before` the opening mark and
        `after` the closing one. A partial quotation belongs to the clause around it, so the text
        before it is tried first; a full one is attributed by what follows it first."""
        after, before = after[:300], before[-400:]
        # the second side is searched only when the first finds nothing
        if partial:
            return self._match_before(before) or self._match_after(after) or Attribution()
        return self._match_after(after) or self._match_before(before) or Attribution()

    def _match(self, patterns, text: str) -> Attribution | None:
        for kind, pattern in patterns:
            if kind.startswith("near"):
                # the first name with a speech verb in the clause that is not inside a phrase
                # ("in the journal JAMA Psychiatry argued")
                clause = _MARK.split(text, maxsplit=1)[0] if kind == "near_after" else text
                position = 0
                while (match := pattern.search(clause, position)) is not None:
                    position = match.end("name")  # candidates may overlap: step over this name only
                    lead = clause[max(0, match.start("name") - 40):match.start("name")]
                    if _ENDS_IN_PREPOSITIONAL_PHRASE.search(lead):
                        continue
                    candidate = self.clean_name(match["name"])
                    if candidate:
                        return Attribution(name=candidate)
                continue
            match = pattern.search(text)
            if not match:
                continue
            if kind.startswith("pronoun"):
                return Attribution(pronoun=True, direct=kind == "pronoun")
            candidate = self.clean_name(match["name"])
            if candidate:
                return Attribution(name=candidate, direct=kind == "direct")
        return None

    def clean_name(self, name: str, entity: bool = False) -> str | None:
        """`name` without leading articles, conjunctions, sentence adverbs and (unless it is a
        named `entity`) function words: "the Pentagon" -> "Pentagon", "But Smith" -> "Smith",
        "During Smith" -> "Smith"; None if nothing is left or it is no name (a pronoun, a
        possessive like "Thursday’s", a weekday)."""
        drop = self.openers if entity else self.openers_and_function_words
        words = " ".join(name.strip(" ,.;:’'").split()).split(" ")
        while len(words) > 1 and words[0].casefold() in drop:
            words = words[1:]
        text = " ".join(words).strip(" ,.;:")
        folded = text.casefold()
        if not text or folded in drop or folded in self.pronouns or folded.rstrip(".") in self.titles:
            return None
        if text.endswith(("’s", "'s")) or not text[:1].isupper() or folded in _WEEKDAYS_AND_MONTHS:
            return None
        return text

    def _run_name(self, run: str) -> str | None:
        """The name a run of capitalised words stands for (`clean_name`, then `strip_titles`), or
        None when it is no name."""
        cleaned = self.clean_name(run)
        return self.strip_titles(cleaned) if cleaned else None

    def strip_titles(self, name: str) -> str:
        """`name` after the last title among its leading words ("Defense Secretary Lloyd Austin"
        -> "Lloyd Austin", "Kataib Hezbollah spokesman Mohammed Mohi" -> "Mohammed Mohi"), or
        `name` itself when no title leads it."""
        words = name.split()
        cut = 0
        for i in range(len(words) - 1):
            one = words[i].casefold().rstrip(".")
            two = " ".join(words[i:i + 2]).casefold().rstrip(".")
            if two in self.titles and i + 2 < len(words):
                cut = i + 2
            elif one in self.titles:
                cut = i + 1
        rest = words[cut:]
        while rest and not rest[0][:1].isupper():
            rest = rest[1:]
        return " ".join(rest) if rest else name


class _EndsWithVerb:
    """A pattern that ends with a case-sensitive speech verb, spaces, an optional colon or comma
    and spaces (`…{verb}\\s*[:,]?\\s*$`, the verb after a space or at a word boundary), searched
    only in texts that can match it: those that end with the last word of some speech verb
    (`endings`) once that tail is taken off. Most text before a quotation does not, and the check
    costs far less than the pattern."""

    def __init__(self, pattern: str, endings: tuple[str, ...]):
        self.pattern = re.compile(pattern)
        self.endings = endings
        self.ending_set = frozenset(endings)
        self.ending_lengths = sorted({len(e) for e in endings})

    def search(self, text: str) -> re.Match | None:
        """`re.Pattern.search` of the pattern, None at once when `text` cannot end with a verb."""
        tail = text.rstrip()
        if self._ends_with_verb(tail) or (tail.endswith((":", ",")) and self._ends_with_verb(tail[:-1].rstrip())):
            return self.pattern.search(text)
        return None

    def _ends_with_verb(self, text: str) -> bool:
        """Whether `text` ends with one of `endings` that is not glued to a word character before
        it ("decision" does not end with the verb "on"; an ending that opens with no word
        character may follow anything)."""
        if not text.endswith(self.endings):
            return False
        for length in self.ending_lengths:
            if length > len(text):
                break
            ending = text[-length:]
            if ending in self.ending_set and (length == len(text) or not _is_word_character(ending[0])
                                              or not _is_word_character(text[-length - 1])):
                return True
        return False


class _NeedsPronoun:
    """A pattern whose every match holds a pronoun that `gate` finds, searched only in texts
    where it finds one: the gate is a small, fast part of the pattern (a case-insensitive
    alternation is slow to search, and most text near a quotation holds no pronoun)."""

    def __init__(self, pattern: str, gate: re.Pattern):
        self.pattern = re.compile(pattern)
        self.gate = gate

    def search(self, text: str) -> re.Match | None:
        """`re.Pattern.search` of the pattern, None at once when `gate` finds nothing in `text`."""
        return self.pattern.search(text) if self.gate.search(text) else None


def _is_word_character(character: str) -> bool:
    """Whether `character` is what `\\w` matches in a regex."""
    return character.isalnum() or character == "_"


# --- quote marks ---------------------------------------------------------------------------

def _closes_single(body: str, i: int) -> bool:
    """Whether the ’ at `i` closes a ‘…’ quotation rather than being an apostrophe."""
    before = body[i - 1] if i > 0 else " "
    after = body[i + 1] if i + 1 < len(body) else " "
    if after.isalnum():
        return False  # don’t, Kait’ib
    if before in ",.!?;:…":
        return True
    if after in ".,;:!?)…—–":
        return True
    return after.isspace() and before.lower() not in "sz"  # workers’ demands: a possessive


def _can_open(body: str, i: int) -> bool:
    mark = body[i]
    following = body[i + 1] if i + 1 < len(body) else ""
    preceding = body[i - 1] if i > 0 else " "
    if not following or following == "\n":
        return False
    if mark == '"':
        return not preceding.isalnum() and not following.isspace()
    if mark == "‘":
        return not preceding.isalnum()
    return True


def _find_close(body: str, cursor: int, limit: int, mark: str, closers: str) -> int:
    """Index of the mark closing a quotation opened with `mark`, searched in body[cursor:limit]:
    its proper closing mark, else its fallback (a straight quote for “, a curly one for ")."""
    close = _first_close(body, cursor, limit, mark, closers)
    if close == -1 and mark in _FALLBACK_CLOSERS:
        close = _first_close(body, cursor, limit, mark, _FALLBACK_CLOSERS[mark])
    return close


# Typewriter habits: two apostrophes close a double quotation ("…voters,’’ Will Moy said").
_DOUBLED_APOSTROPHES = ("’’", "''")


def _first_close(body: str, cursor: int, limit: int, mark: str, closers: str) -> int:
    candidates = (*closers, *_DOUBLED_APOSTROPHES) if mark in "“\"" else tuple(closers)
    while cursor < limit:
        positions = [p for p in (body.find(c, cursor, limit) for c in candidates) if p != -1]
        if not positions:
            return -1
        close = min(positions)
        if mark != "‘" or _closes_single(body, close):
            return close
        cursor = close + 1
    return -1


@dataclass(frozen=True)
class Chain:
    """One quotation: its spans (one per paragraph, inside the marks, spaces trimmed), the index
    of its opening mark and of its closing mark."""

    spans: tuple[tuple[int, int], ...]
    opened: int
    closed: int


def quote_chains(body: str, language: str = "en") -> list[Chain]:
    """The quotations of `body` in order (see the module docstring for the rules)."""
    pairs = dict(_PAIRS)
    if language == "de":
        pairs["»"] = "«"
    opener = re.compile("[" + re.escape("".join(pairs)) + "]")
    chains: list[Chain] = []
    position = 0
    while (found := opener.search(body, position)) is not None:
        i = found.start()
        mark = body[i]
        if not _can_open(body, i):
            position = i + 1
            continue
        spans: list[tuple[int, int]] = []
        start = i + 1
        close = -1
        while True:
            paragraph_end = body.find("\n\n", start)
            limit = len(body) if paragraph_end == -1 else paragraph_end
            close = _find_close(body, start, limit, mark, pairs[mark])
            if close != -1:
                spans.append((start, close))
                break
            following = paragraph_end + 2
            while following < len(body) and body[following] == "\n":
                following += 1
            if paragraph_end != -1 and following < len(body) and body[following] in pairs:
                spans.append((start, paragraph_end))  # continued: the next paragraph reopens
                mark, start = body[following], following + 1
                continue
            break
        if close != -1:
            trimmed = tuple(_trim(body, s, e) for s, e in spans)
            if all(e > s for s, e in trimmed):
                chains.append(Chain(trimmed, i, close))
            position = close + 1
        else:
            position = i + 1
    return chains


def _trim(body: str, start: int, end: int) -> tuple[int, int]:
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    return start, end


# --- names ---------------------------------------------------------------------------------

def _fold(text: str) -> str:
    text = text.replace("’", "'")
    if text.isascii():  # nothing to decompose or strip
        return text.casefold()
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Name:
    text: str
    label: str | None  # the NER label, or None for a run of capitalised words

    @cached_property
    def folded(self) -> str:
        """`text` folded for comparison (computed once: an article's names meet every speaker)."""
        return _fold(self.text)


def _article_names(names: Sequence, body: str, attributor: Attributor) -> list[Name]:
    """The named entities given (as (text, label) pairs or plain strings) first, then the body's
    runs of two or more capitalised words, without leading articles and titles."""
    found: list[Name] = []
    for entry in names:
        text, label = (entry, None) if isinstance(entry, str) else (entry[0], entry[1])
        cleaned = attributor.clean_name(text, entity=True)
        if cleaned:
            found.append(Name(cleaned, label))
    for match in _CAPITALISED_RUN.finditer(body):
        cleaned = attributor.run_name(match.group(0))
        if cleaned and " " in cleaned:
            found.append(Name(cleaned, "run"))
    return found


_RANK = {"PERSON": 0, "ORG": 1, None: 2}


def _fullest(candidates: list[Name]) -> str:
    """Named entities before capitalised runs, people first, then the longest name."""
    return min(candidates, key=lambda n: (n.label == "run", _RANK.get(n.label, 2), -len(n.text), n.text)).text


def resolve(speaker: str | None, names: Sequence[Name | str], attributor: Attributor | None = None) -> str | None:
    """The fullest name of `speaker` among the article's `names` (Name or plain strings).

    In order: a named entity equal to the speaker as written ("General Motors") or ending with
    it ("Austin" -> "Lloyd Austin"); the speaker
    without leading titles ("President Biden" -> "Biden") equal to a name, or the end of a longer
    one ("Austin" -> "Lloyd Austin"); a person's name the speaker ends with ("Kataib Hezbollah
    spokesman Mohammed Mohi" -> "Mohammed Mohi"). Failing all, the speaker without titles when
    that still has two words, else as written.
    """
    if not speaker:
        return speaker
    attributor = attributor or default_lexicon().rules("und")
    entries = [n if isinstance(n, Name) else Name(n, None) for n in names]
    whole = _fold(speaker)
    exact = [n for n in entries if n.label != "run" and (n.folded == whole or n.folded.endswith(" " + whole))]
    if exact:
        return _fullest(exact)
    bare = attributor.strip_titles(speaker)
    key = _fold(bare)
    same_or_longer = [n for n in entries if n.folded == key or n.folded.endswith(" " + key)]
    named = [n for n in same_or_longer if n.label != "run"]
    if named:
        return _fullest(named)
    of = [n for n in entries if n.label not in ("PERSON", "run") and n.folded.startswith(key + " of ")]
    if of:
        return _fullest(of)  # "Eastbrook Chamber" of "Eastbrook Chamber of Commerce said"
    inside = [n for n in entries if n.label in ("PERSON", None) and whole.endswith(" " + n.folded)]
    if inside:
        return max(inside, key=lambda n: (len(n.text), n.text)).text
    if same_or_longer:
        return _fullest(same_or_longer)
    if " " not in key:  # a family name written first ("Liu" of "Liu Xiaming"), when only one fits
        first = {n.text for n in entries if n.label == "PERSON" and n.folded.split(" ")[0] == key and " " in n.folded}
        if len(first) == 1:
            return first.pop()
    return bare if " " in bare else speaker


# --- quotations ----------------------------------------------------------------------------

_STOP_BEFORE_SPACE = re.compile(r"[.!?]\s")
_PARAGRAPH_BREAK = re.compile(r"\n\n+")
_TITLE_MINOR_WORDS = {"a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "for", "with", "from", "by",
                      "de", "del", "la", "le", "les", "el", "los", "las", "des", "du", "der", "die", "das",
                      "und", "von", "di", "da", "do", "della", "e", "y", "et", "o"}


def _is_title(text: str) -> bool:
    """A short run of capitalised words (minor words aside): "Operation Quiet Street"."""
    words = text.strip(" ,.;:!?").split()
    if not words or len(words) > TITLE_MAX_WORDS or _STOP_BEFORE_SPACE.search(text):
        return False
    return all(w[:1].isupper() or w[:1].isdigit() or w.casefold() in _TITLE_MINOR_WORDS for w in words)


def is_quotation(text: str, attributed_directly: bool) -> bool:
    """Whether quoted `text` is a quotation rather than a scare quote or a title."""
    if _is_title(text):
        return False
    return len(text.split()) >= MIN_QUOTE_WORDS or attributed_directly


def _last_sentence(text: str) -> str:
    parts = _SENTENCE_END.split(text)
    return parts[-1] if parts else text


_ABBREVIATIONS = frozenset(re.findall(r"\w+", _ABBREVIATION)) | {"St", "Jr", "No", "Inc", "Co", "Corp", "Ltd"}
_STOP_BEFORE_SPACE_OR_ELLIPSIS = re.compile(r"[.!?…](?=\s)")
_LAST_WORD = re.compile(r"(\w+)$")


def _first_sentence(text: str) -> str:
    """`text` up to its first sentence end (not the dot of "Rep." or of an initial "J.")."""
    for match in _STOP_BEFORE_SPACE_OR_ELLIPSIS.finditer(text):
        if match.group(0) == ".":
            word = _LAST_WORD.search(text, 0, match.start())
            if word and (word.group(1) in _ABBREVIATIONS or len(word.group(1)) == 1):
                continue
        return text[:match.end()]
    return text


def find_quotes(body: str, language: str = "en", names: Sequence = (),
                lexicon: AttributionLexicon | None = None) -> list[Quote]:
    """Every direct quotation of `body`, in order, with speaker, offsets and partial flag.

    `language` is the article's ISO 639-1 code ('und' if unknown); `names` the article's named
    entities as (text, label) pairs (plain strings are accepted too); `lexicon` the attribution
    lexicon (default: the project's `schemas/lexicons/attribution`).
    """
    chains = quote_chains(body, language)
    if not chains:
        return []
    attributor = (lexicon or default_lexicon()).rules(language)
    known = _article_names(names, body, attributor)
    paragraph_starts = [0] + [m.end() for m in _PARAGRAPH_BREAK.finditer(body)]

    def paragraph_of(offset: int) -> int:
        return bisect.bisect_right(paragraph_starts, offset) - 1

    mentions = _person_mentions(body, known, [(c.opened, c.closed) for c in chains])
    resolved: dict[str | None, str | None] = {}  # a speaker is often quoted more than once
    quotes: list[Quote] = []
    previous: tuple[str | None, int] | None = None  # (speaker, paragraph where it closed)
    for chain in chains:
        paragraph_start = paragraph_starts[paragraph_of(chain.opened)]
        paragraph_end = body.find("\n\n", chain.closed)
        paragraph_end = len(body) if paragraph_end == -1 else paragraph_end
        before = _last_sentence(body[paragraph_start:chain.opened])
        after = _first_sentence(body[chain.closed + 1:paragraph_end])
        text = " ".join(body[s:e] for s, e in chain.spans)
        partial = _is_partial(before, text)
        attribution = attributor.attribute(before, after, partial)
        if not is_quotation(text, attribution.direct):
            continue
        if attribution.name not in resolved:
            resolved[attribution.name] = resolve(attribution.name, known, attributor)
        speaker = resolved[attribution.name]
        first_paragraph = paragraph_of(chain.opened)
        if attribution.pronoun:
            speaker = _last_person(mentions, chain.opened, paragraph_of, first_paragraph)
        elif speaker is None and previous is not None and previous[0] is not None:
            opens_paragraph = not body[paragraph_start:chain.opened].strip()
            if (opens_paragraph and previous[1] == first_paragraph - 1) or previous[1] == first_paragraph:
                speaker = previous[0]
        if speaker is not None:
            bisect.insort(mentions, (chain.closed, speaker))
        for n, (start, end) in enumerate(chain.spans):
            quotes.append(Quote(len(quotes), body[start:end], speaker, start, end, partial and n == 0))
        previous = (speaker, paragraph_of(chain.closed))
    return quotes


def _is_partial(before: str, text: str) -> bool:
    """A quotation is partial when the writer's sentence runs into it: text precedes it in the
    sentence (not ending in a colon) and it does not open with a capital."""
    lead = before.strip()
    if not lead or lead.endswith((":", ".", "?", "!", "—", "–")):
        return False
    return not text[:1].isupper()


def _person_mentions(body: str, known: list[Name], quoted: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """(offset, full name) of each mention of a PERSON name or its surname outside quotations."""
    # single-word PERSON entities are often the small model's mistakes ("Moon", "Gateway")
    people = sorted({n.text for n in known if n.label == "PERSON" and " " in n.text and "’s" not in n.text
                     and "'s" not in n.text}, key=len, reverse=True)
    forms: dict[str, str] = {}
    for person in people:
        forms.setdefault(person, person)
        parts = person.split()
        if len(parts) > 1:
            forms.setdefault(parts[-1], person)
    if not forms:
        return []
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
                         + r")(?![\w-])")
    mentions = []
    for match in pattern.finditer(body):
        if any(s <= match.start() < e for s, e in quoted):
            continue
        if body[match.end():match.end() + 2] in ("’s", "'s"):
            continue  # "Simmons teed up McDonald’s cameo": a possessive is rarely who speaks next
        mentions.append((match.start(), forms[match.group(0)]))
    return sorted(mentions)


def _last_person(mentions, offset: int, paragraph_of, paragraph: int) -> str | None:
    earlier = [(at, name) for at, name in mentions if at < offset]
    if not earlier:
        return None
    at, name = max(earlier)
    return name if paragraph - paragraph_of(at) <= PRONOUN_REACH_PARAGRAPHS else None
