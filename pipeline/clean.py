"""Stage 2, clean: repaired text, the article's paragraphs, and a log of every removed line.

Reads ingest's `documents` shards and writes per shard:
- `documents`: id, source_*, url, meta_*, title, subtitle, byline, dateline, timestamp_text,
  paragraphs;
- `removed_lines`: article_id, line_no, text, reason (one row per removed line);
- `rejects`: documents with too little prose left to be an article (`not_article`).
Before the shards, one pass over the corpus counts in how many documents each (folded) line
occurs; lines in many documents are site templates.
"""

from __future__ import annotations

import bisect
import contextlib
import html as html_lib
import itertools
import logging
import re
import signal
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import ftfy
import polars as pl
import xxhash

from pipeline.cache import ArticleCache, Output, RecordingSet
from pipeline.config import CleanParams, Params
from pipeline.executor import map_shards
from pipeline.fields import MONTHS, US_GENERIC_ZONES, ZONES
from pipeline.io import shard_part_name, table_parts, write_parquet
from pipeline.reasons import RejectReason, RemovalReason
from pipeline.schema import REJECTS, REMOVED_LINES
from pipeline.text import casefolded_words, fold_for_compare, word_count

STAGE = "clean"
# trafilatura logs a warning for every page it finds no main text in; the fallback handles those
logging.getLogger("trafilatura").setLevel(logging.ERROR)
DOCUMENT_SCHEMA = {
    "id": pl.String, "source_id": pl.String, "source_path": pl.String, "source_format": pl.String,
    "url": pl.String, "meta_title": pl.String, "meta_published": pl.String,
    "meta_authors": pl.List(pl.String), "meta_language": pl.String, "title": pl.String,
    "subtitle": pl.String, "byline": pl.String, "dateline": pl.String, "timestamp_text": pl.String,
    "paragraphs": pl.List(pl.String),
}
_SEPARATOR = re.compile(r"^[\W_]+$")
_FRAMED = re.compile(r"^[_=\-*~#.\s]{3,}(.*?)[_=\-*~#.\s]{3,}$")
_DOUBLED_OPENING = re.compile(r"([\u201c\"])[\u201c\u201d\"]+(?=\w)")
_BYLINE = re.compile(r"^(by|por|par|von|di|de)\s+\S.{0,80}$", re.IGNORECASE)
# A credit line anywhere on the page: "by Jeff Foust — November 18, 2019", "Written by …", "BY: …".
_CREDIT = re.compile(r"^((written|posted|reported)\s+by|by)\b:?\s*[A-Z]", re.IGNORECASE)
_TIMESTAMP = re.compile(
    r"^((published|updated|posted|last updated|publicado|actualizado|publié|mis à jour|veröffentlicht|"
    r"aktualisiert|pubblicato|aggiornato)\b.{0,60}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}.{0,30}|"
    r"\d+\s+(minutes?|hours?|days?)\s+ago)$", re.IGNORECASE)
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,40}(,\s*[A-Z][\w .'-]{1,40})?\s*(\([A-Za-z .]{2,30}\))?\s*[\u2014\u2013-]+\s*$")
_CAPTION = re.compile(r"^((photo|image|picture|foto|imagen|credit|crédit|bild)\b.{0,120}|"
                      r".{0,200}\((photo|image|foto)( by|:)? .{0,80}\)|"
                      r".{0,250}\b(getty images|shutterstock|istock(photo)?|alamy)\b.{0,40}|"
                      r"(in this|this)\b.{0,60}?\b(file )?(photo|photograph|image|picture)\b.{0,250})$", re.IGNORECASE)


# Calls to subscribe, legal notices and the like are boilerplate wherever they sit in a short line;
# in a longer one they are more likely the story's own words ("the privacy policy it changed").
CONTAINED_MAX_CHARS = 200


@dataclass(frozen=True)
class Phrases:
    """Folded phrases matched as whole lines, as line openings (`prefixes`), or anywhere in a line
    of at most CONTAINED_MAX_CHARS characters (`contained`, whole words)."""

    lines: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    contained: tuple[str, ...] = ()

    def __post_init__(self):
        def alternatives(phrases):
            return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))

        object.__setattr__(self, "_prefix", re.compile(f"^(?:{alternatives(self.prefixes)})(?!\\w)")
                           if self.prefixes else None)
        object.__setattr__(self, "_contained", re.compile(f"(?<!\\w)(?:{alternatives(self.contained)})(?!\\w)")
                           if self.contained else None)

    def matches(self, folded: str, *, anywhere: bool = True) -> bool:
        """Whether a folded line is one of the phrases, opens with one of the prefixes, or (with
        `anywhere`) is a short line holding one of the contained phrases."""
        return (folded in self.lines or bool(self._prefix and self._prefix.match(folded))
                or (anywhere and bool(self._contained) and len(folded) <= CONTAINED_MAX_CHARS
                    and bool(self._contained.search(folded))))


@dataclass(frozen=True)
class Lexicon:
    """Boilerplate phrases; headings that open what follows an article (comments, share widgets,
    the author box) and headings of lists of other stories; stop-word lists per language for the
    line classifier."""

    boilerplate: Phrases = Phrases()
    end_of_article: Phrases = Phrases()
    related_links: Phrases = Phrases()
    stopwords: dict[str, frozenset[str]] = field(default_factory=dict)

    def matches(self, folded: str, *, anywhere: bool = True) -> bool:
        """Whether a folded line is boilerplate (see `Phrases.matches`)."""
        return self.boilerplate.matches(folded, anywhere=anywhere)


def _phrases(path: Path) -> list[str]:
    return [p for raw in path.read_text(encoding="utf-8").splitlines() if (p := raw.split("#", 1)[0].strip())]


def load_phrases(folder: Path) -> Phrases:
    """The phrases of every `*.txt` in `folder`: one per line, `# comments`; a trailing `*` marks
    a phrase that only has to open the line, `*` at both ends one that may sit anywhere in a
    short line."""
    lines, prefixes, contained = set(), set(), set()
    for path in sorted(Path(folder).glob("*.txt")):
        for phrase in _phrases(path):
            if len(phrase) > 2 and phrase.startswith("*") and phrase.endswith("*"):
                contained.add(fold_for_compare(phrase[1:-1]))
            elif phrase.endswith("*"):
                prefixes.add(fold_for_compare(phrase[:-1]))
            else:
                lines.add(fold_for_compare(phrase))
    return Phrases(frozenset(lines), tuple(sorted(p for p in prefixes if p)), tuple(sorted(p for p in contained if p)))


def load_lexicon(lexicon_dir: Path) -> Lexicon:
    """Read `boilerplate/`, `end_of_article/`, `related_links/` (phrases, see `load_phrases`) and
    `stopwords/<language>.txt` under `lexicon_dir`."""
    stopwords = {path.stem: frozenset(w.casefold() for line in _phrases(path) for w in line.split())
                 for path in sorted((Path(lexicon_dir) / "stopwords").glob("*.txt"))}
    return Lexicon(load_phrases(Path(lexicon_dir) / "boilerplate"),
                   load_phrases(Path(lexicon_dir) / "end_of_article"),
                   load_phrases(Path(lexicon_dir) / "related_links"), stopwords)


@dataclass(frozen=True)
class CleanedText:
    """What cleaning keeps of one document, and what it removed with the reasons."""

    title: str | None
    paragraphs: list[str]
    removed: list[tuple[int, str, str]]
    subtitle: str | None = None
    byline: str | None = None
    dateline: str | None = None
    timestamp_text: str | None = None
    metadata: dict = field(default_factory=dict)


# Characters that UTF-8 decoded as cp1252/Latin-1 leaves behind (Ã©, â€™, Â ), and C1 controls:
# ftfy is slow (about 2 ms per article), so it runs only on text that shows one of them.
_MOJIBAKE_HINT = re.compile("[\u00c2\u00c3\u00c5\u00e2\u00c4\u00d0\u00d1][\u0080-\u00bf\u0152\u0153\u0160"
                            "\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-"
                            "\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|[\u0080-\u009f]")


# An HTML entity (&amp; &#8217; &#x2019;): a bare "&" ("Q&A", "News & Politics") needs no ftfy.
_HTML_ENTITY = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")


def repair(text: str) -> str:
    """Fix mojibake and HTML entities (ftfy), NFC, normalise line ends and spaces, and
    collapse doubled opening quotes (`“”We` -> `“We`)."""
    if _HTML_ENTITY.search(text) or _MOJIBAKE_HINT.search(text):
        text = ftfy.fix_text(text, unescape_html=True, uncurl_quotes=False)
        text = html_lib.unescape(text) if "&" in text else text
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u00a0", " ").replace("\t", " ")
    return _DOUBLED_OPENING.sub(r"\1", text)


# What sites put between a headline and their name in the page title: "Headline - Site",
# "Headline | Section | Site", "Site :: Headline".
_TITLE_SEPARATOR = re.compile(r"\s+(?:[|\u2013\u2014\u00b7\u2022\u00bb:-]|::|//)\s+")


def title_keys(title: str) -> frozenset[str]:
    """Folded forms under which the headline can repeat: the whole title and, for a page title
    like "Headline - Site", each part of at least three words or 20 characters."""
    keys = {fold_for_compare(title)}
    for part in _TITLE_SEPARATOR.split(title):
        folded = fold_for_compare(part)
        if len(folded.split()) >= 3 or len(folded) >= 20:
            keys.add(folded)
    return frozenset(k for k in keys if k)


def is_repeated_title(folded: str, title_key: str | frozenset[str] | None) -> bool:
    """The headline again: equal after folding to the title or to one of its parts ("Headline"
    of "Headline - Site"), or the title with a site name added or cut, i.e. one is the start of
    the other and covers 60% of it or more."""
    if not title_key or not folded:
        return False
    keys = (title_key,) if isinstance(title_key, str) else title_key
    if folded in keys:
        return True
    for key in keys:
        shorter, longer = (folded, key) if len(folded) <= len(key) else (key, folded)
        if longer.startswith(shorter) and len(shorter) >= 0.6 * len(longer) and len(shorter.split()) >= 3:
            return True
    return False


def is_separator(line: str) -> bool:
    """A line of punctuation and symbols only ("* * *", "-")."""
    return bool(_SEPARATOR.match(line))


def is_boilerplate(line: str, folded: str, lexicon: Lexicon, *, anywhere: bool = True) -> bool:
    """A widget framed by rules ("____ Join us on WhatsApp ____") or a boilerplate phrase of the
    lexicon (contained phrases only with `anywhere`)."""
    framed = _FRAMED.match(line)
    if framed and framed.group(1).strip():
        return True
    return lexicon.matches(folded, anywhere=anywhere)


def is_byline(line: str, *, first: bool = True) -> bool:
    """"By …" in any of six languages, at most 12 words, no final full stop; where prose was
    already seen (`first=False`) only an English credit of at most CREDIT_MAX_WORDS words."""
    if len(line.split()) > 12 or line.rstrip().endswith("."):
        return False
    if first:
        return bool(_BYLINE.match(line))
    return bool(_CREDIT.match(line)) and len(line.split()) <= CREDIT_MAX_WORDS and not _TERMINAL.search(line)


CREDIT_MAX_WORDS = 10


def is_timestamp(line: str) -> bool:
    """"Published …", "3 hours ago", a numeric date, or a line that is only a date and time."""
    return bool(_TIMESTAMP.match(line)) or is_date_only(line)


# Words a line that is only a date and time may hold besides month names, zones and numbers.
_DATE_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun "
    "lunes martes miércoles jueves viernes sábado domingo lundi mardi mercredi jeudi vendredi samedi "
    "dimanche montag dienstag mittwoch donnerstag freitag samstag sonntag segunda terça quarta quinta "
    "sexta feira lunedì martedì mercoledì giovedì venerdì sabato domenica "
    "am pm a m p at on of the de del à le um uhr h t z st nd rd th updated published posted".split())
_DATE_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?!\d)")


def is_date_only(line: str) -> bool:
    """A line that is only a date, with perhaps a weekday, a time and a zone ("Nov. 19, 2019,
    8:41 AM UTC", "Monday 18 November 2019", "2019-11-18T20:51:19Z"): the story's timestamp,
    or a date in a list of other stories."""
    if len(line) > 60:
        return False
    tokens = _DATE_TOKEN.findall(line.casefold())
    words = [t for t in tokens if not t.isdigit()]
    if not any(t.isdigit() for t in tokens):
        return False
    if not all(w in MONTHS or w in ZONES or w in US_GENERIC_ZONES or w in _DATE_WORDS for w in words):
        return False
    return any(w in MONTHS for w in words) or bool(_ISO_DATE.search(line))


_MONTH_NAME = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
# A date and time of day near the start of a line: "Jan Smith August 8, 2018 at 7:21 pm Hi, …",
# "sammievee says: November 19, 2019 at 7:42 am …", "Dallas' Balara … Nov. 20, 2019 12:00 AM EST".
_STAMP = re.compile(rf"^[^.!?]{{0,60}}?\b(?:{_MONTH_NAME})\.?\s+\d{{1,2}},?\s+\d{{4}}\s*(?:at|,|-|\|)?\s*"
                    rf"\d{{1,2}}:\d{{2}}(?:\s*[ap]\.?m\.?)?(?=\s|$)", re.IGNORECASE)


_TIME_OF_DAY = re.compile(r"\d:\d\d")


_FULL_DATE = re.compile(rf"\b(?:{_MONTH_NAME})\.?\s+\d{{1,2}},?\s+\d{{4}}\b|"
                        rf"\b\d{{1,2}}\.?\s+(?:de\s+)?(?:{_MONTH_NAME})\.?,?\s+(?:de\s+)?\d{{4}}\b", re.IGNORECASE)
# Teasers run together, each with its date; on the dev pages no article line holds three dates.
DATED_ITEMS_MIN = 4
# A four-digit number standing alone (as r"\b\d{4}\b"), written to start with a digit so that the
# regex engine skips ahead to digits instead of trying every position
_YEAR = re.compile(r"\d(?<!\w\d)\d{3}(?!\w)")


def lists_dated_items(line: str) -> bool:
    """Whether a line holds DATED_ITEMS_MIN or more full dates ("November 20, 2019", "20 de
    noviembre de 2019"): a list of stories run together."""
    return len(_YEAR.findall(line)) >= DATED_ITEMS_MIN and len(_FULL_DATE.findall(line)) >= DATED_ITEMS_MIN


def has_stamp(line: str) -> bool:
    """Whether a date with a time of day stands in the first words of a line (a post's or a
    teaser's stamp; an article's own sentences do not give the minute)."""
    return bool(_TIME_OF_DAY.search(line, 0, 160)) and bool(_STAMP.match(line))


def is_dateline(line: str) -> bool:
    """"NAIROBI, Kenya (Reuters) —" on a line of its own."""
    return bool(_DATELINE.match(line))


# Every branch of _CAPTION holds one of these words (ASCII ones: "crédit" cannot be in ASCII text)
_CAPTION_WORDS = ("photo", "image", "picture", "foto", "credit", "bild", "getty images", "shutterstock",
                  "istock", "alamy")


def is_caption(line: str) -> bool:
    """An image caption or photo credit ("Photo: …", "… (Photo by …)", "… Getty Images", news
    agencies' "In this Nov. 10, 2019, photo, …")."""
    if len(line) >= 300:
        return False
    if line.isascii():  # a plain search for the words is much faster than the regex on prose
        lowered = line.lower()
        if not any(word in lowered for word in _CAPTION_WORDS):
            return False
    return bool(_CAPTION.match(line))


# Line classifier thresholds, after jusText (Pomikálek 2011, "Removing boilerplate and duplicate
# content from web corpora", ch. 3): characters and share of stop words decide whether a line is
# prose ("good"), possibly prose ("neutral"), too short to tell ("short") or boilerplate ("bad");
# neighbours then settle the short and neutral ones. Values tuned on the dev pages with 3-fold
# cross-validation (bench/quality.py); STOP_LOW is below jusText's 0.30 because our stop-word
# lists are shorter than jusText's.
LENGTH_LOW = 70
LENGTH_HIGH = 120
STOP_LOW = 0.26
STOP_HIGH = 0.32
_LINKISH = re.compile(r"https?://|www\.|\s[|•›»]\s|\s[|•›»]$|^[|•›»]")
_LINK_MARKS = ("http", "www.", "|", "•", "›", "»")


def is_linkish(line: str) -> bool:
    """Links and link separators ("a | b", "» c", URLs) take one in 40 characters or more."""
    # each mark of _LINKISH holds one of _LINK_MARKS: the regex (slow on prose) runs only then
    return any(mark in line for mark in _LINK_MARKS) and 40 * len(_LINKISH.findall(line)) > len(line)


_CODE_CHARS = re.compile(r"[{};=<>]")
WEAK_STOP = 0.05
MIN_STOP_COVERAGE = 0.05
_TERMINAL = re.compile(r"[.!?…\"'\u201d\u2019»)\u3002\uff01\uff1f\u300d\u300f]$")


def document_stopwords(tokens_per_line: list[list[str]], lexicon: Lexicon) -> frozenset[str] | None:
    """The stop-word list of the language whose stop words cover most of the casefolded tokens
    (one list per line, see `casefolded_words`), or None when no list covers at least
    MIN_STOP_COVERAGE of them (a language without a list)."""
    counts = Counter(itertools.chain.from_iterable(tokens_per_line))
    total = sum(counts.values())
    if not lexicon.stopwords or not total:
        return None
    covered = {lang: sum(counts[w] for w in words & counts.keys()) for lang, words in lexicon.stopwords.items()}
    best = max(sorted(covered), key=lambda lang: covered[lang])
    return lexicon.stopwords[best] if covered[best] >= MIN_STOP_COVERAGE * total else None


# Script and JSON that survive a page dump as text: function literals, declarations, arrows,
# escaped markup, quoted keys, the browser's objects.
_CODE_TOKEN = re.compile(r"\bfunction\s*\(|\b(?:var|let|const)\s+\w+\s*=|=>|\\u00[0-9a-fA-F]{2}|\"\w+\"\s*:|"
                         r"\b(?:document|window)\.\w")
CODE_TOKEN_MIN = 3
CODE_TOKEN_SPACING = 500  # at most this many characters per code token: prose quoting a snippet has fewer


def looks_like_code(line: str) -> bool:
    """Script or style text: braces, semicolons and operators are more than 2% of the line, or
    CODE_TOKEN_MIN or more code tokens, one per CODE_TOKEN_SPACING characters or closer."""
    if len(_CODE_CHARS.findall(line)) > 0.02 * len(line) + 1:
        return True
    # Every code token holds one of "(", "=", a backslash, "document." or "window.", or two '"':
    # when even that count is too small, the token search (the slow part) cannot succeed.
    most_tokens = (line.count("(") + line.count("=") + line.count("\\") + line.count('"') // 2
                   + line.count("document.") + line.count("window."))
    if most_tokens < CODE_TOKEN_MIN or most_tokens * CODE_TOKEN_SPACING < len(line):
        return False
    tokens = len(_CODE_TOKEN.findall(line))
    return tokens >= CODE_TOKEN_MIN and tokens * CODE_TOKEN_SPACING >= len(line)


# A menu whose items a page dump glued together: "SportsLionsTigersRed Wings", "(65)Surface".
# (a capital after a lower-case letter or ")"; written capital first, so that the regex engine
# skips ahead to capitals instead of trying every position)
_GLUED_ITEM = re.compile(r"[A-Z](?<=[a-z\)][A-Z])")
_URL_LIKE = re.compile(r"\S*(?:https?:|www\.|\.com\b|@)\S*")
GLUED_MIN = 2
GLUED_SHARE = 0.1


def looks_like_glued_menu(line: str) -> bool:
    """Menu items run together without spaces: places where a lower-case letter or a closing
    bracket meets a capital, beyond the first in each word (brand names like "WeWork", "iPhone",
    "McDonald" have one), at least GLUED_MIN of them and GLUED_SHARE of the words; URLs and
    handles do not count."""
    if len(_GLUED_ITEM.findall(line)) < GLUED_MIN:
        return False
    glued = sum(max(0, len(_GLUED_ITEM.findall(word)) - 1) for word in _URL_LIKE.sub(" ", line).split())
    return glued >= GLUED_MIN and glued >= GLUED_SHARE * len(line.split())


# A block whose text repeats itself (a teaser's headline as link, image alt text and title) is
# a widget: on the dev pages no line of an article body has a tenth of its 5-token shingles
# occur again (a twentieth already catches two).
REPEATED_SHINGLE_SHARE = 0.1


def repeats_itself(tokens: list[str]) -> bool:
    """Whether REPEATED_SHINGLE_SHARE or more of a line's 5-token shingles are repeats of an
    earlier one in the same line."""
    if len(tokens) < 10:
        return False
    shingles = list(zip(tokens, tokens[1:], tokens[2:], tokens[3:], tokens[4:]))
    return len(shingles) - len(set(shingles)) >= REPEATED_SHINGLE_SHARE * len(shingles)


def line_class(line: str, tokens: list[str], stopwords: frozenset[str] | None) -> str:
    """'good', 'neutral', 'weak', 'short' or 'bad' for one line and its casefolded tokens
    (`casefolded_words`), from its own features only.

    'weak' is a sentence-like line with few stop words (names, numbers): prose only when a page
    has nothing better. Without a stop-word list (`None`), length and final punctuation decide."""
    if tokens and looks_like_code(line):
        return "code"
    if not tokens or is_linkish(line) or looks_like_glued_menu(line) \
            or has_stamp(line) or lists_dated_items(line) or repeats_itself(tokens):
        return "bad"
    if len(line) < LENGTH_LOW:
        return "short"
    terminal = bool(_TERMINAL.search(line))
    if stopwords is None:
        return ("good" if len(line) >= LENGTH_HIGH else "neutral") if terminal else "bad"
    density = sum(map(stopwords.__contains__, tokens)) / len(tokens)
    if density >= STOP_HIGH and len(line) >= LENGTH_HIGH:
        return "good" if terminal or len(line) >= 2 * LENGTH_HIGH else "neutral"
    if density >= STOP_LOW:
        return "neutral" if terminal or len(line) >= 2 * LENGTH_HIGH else "bad"
    return "weak" if terminal and density >= WEAK_STOP else "bad"


def settle_by_context(classes: list[str]) -> list[str]:
    """Resolve undecided lines from their decided neighbourhood (after jusText's context pass):
    a neutral line within NEAR_GOOD lines of a good one is good; a weak line is good when the
    nearest decided line on either side is good (a lead of names and figures next to the story);
    a short line is good between good lines, or between a good line and the edge of the text when
    it is one of at most EDGE_REACH short lines there (the last line of a bare article), unless it is one of more than
    SHORT_RUN_MAX short lines in a row (a menu, a list of staff or tags); everything else is bad."""
    good_rows = [i for i, c in enumerate(classes) if c == "good"]
    decided = ["good" if c == "good" or (c == "neutral" and _near(good_rows, i, NEAR_GOOD))
               else c if c in ("short", "weak") else "bad" for i, c in enumerate(classes)]
    out = []
    for i, cls in enumerate(decided):
        if cls in ("short", "weak"):
            (before, first), (after, last) = _neighbour(decided, i, -1), _neighbour(decided, i, 1)
            sides = (before, after)
            run = last - first - 1  # the short and weak lines in a row around this one
            if cls == "weak":
                cls = "good" if "good" in sides else "bad"
            else:
                cls = "good" if "good" in sides and all(s in ("good", "edge") for s in sides) \
                    and run <= SHORT_RUN_MAX and ("edge" not in sides or run <= EDGE_REACH) else "bad"
        out.append(cls)
    return out


def _near(rows: list[int], i: int, distance: int) -> bool:
    position = bisect.bisect_left(rows, i - distance)
    return position < len(rows) and rows[position] <= i + distance


def _neighbour(classes: list[str], i: int, step: int) -> tuple[str, int]:
    """The nearest decided class from line i in direction `step` ('good', 'bad', or 'edge' where
    the text ends) and the row where it stands."""
    j = i + step
    while 0 <= j < len(classes) and classes[j] in ("short", "weak"):
        j += step
    return (classes[j] if 0 <= j < len(classes) else "edge"), j


EDGE_REACH = 1
# Swept on the dev pages (4-15): lists inside articles are shorter, menus and staff lists longer.
SHORT_RUN_MAX = 10
NEAR_GOOD = 8


def rule_main_text(lines: list[str], lexicon: Lexicon) -> tuple[list[str], list[bool]]:
    """(classes, keep) by the transparent rules: classify, settle by context, then keep the run of
    good lines with the most text (runs are split by MAX_GAP bad lines or more) and any other
    run at least RUN_SHARE of its size."""
    tokens = [casefolded_words(line) for line in lines]
    stopwords = document_stopwords(tokens, lexicon)
    classes = [line_class(line, line_words, stopwords) for line, line_words in zip(lines, tokens)]
    rows = [i for i, c in enumerate(classes) if c != "code"]
    prose = [classes[i] for i in rows]
    settled = settle_by_context(prose)
    if "good" not in settled:  # a short or name-heavy article: accept the next tier of prose
        relaxed = {"weak": "neutral", "neutral": "good"}
        settled = settle_by_context([relaxed.get(c, c) for c in prose])
    good = [False] * len(lines)
    for i, c in zip(rows, settled):
        good[i] = c == "good"
    runs, start, gap, end = [], None, 0, 0
    for i, keep in enumerate(good + [False] * MAX_GAP):
        if keep:
            start = i if start is None else start
            gap, end = 0, i
        elif start is not None:
            gap += 1
            if gap >= MAX_GAP:
                runs.append((start, end))
                start, gap = None, 0
    if not runs:
        return classes, good
    sizes = [sum(len(lines[i]) for i in range(a, b + 1) if good[i]) for a, b in runs]
    best = max(sizes)
    keep = [False] * len(lines)
    for (a, b), size in zip(runs, sizes):
        if size >= RUN_SHARE * best:
            for i in range(a, b + 1):
                keep[i] = good[i]
    return classes, keep


def main_text(lines: list[str], lexicon: Lexicon) -> list[bool]:
    """Which candidate lines are the article (see `rule_main_text`)."""
    return rule_main_text(lines, lexicon)[1] if lines else []


MAX_GAP = 8
RUN_SHARE = 0.3


def line_key(line: str) -> int:
    """64-bit key of a line for the corpus-wide template count: the line with spaces collapsed,
    casefolded. Site templates repeat byte for byte, so no heavier folding is needed on this hot
    path (every short line of the corpus)."""
    return xxhash.xxh3_64_intdigest(" ".join(line.split()).casefold().encode("utf-8"))


@dataclass
class Line:
    """One non-empty line of a document: its 1-based number in the repaired text, its text with
    spaces collapsed, its comparison key, and the reason a named rule removes it (None: a
    candidate for the article body)."""

    line_no: int
    text: str
    folded: str
    reason: RemovalReason | None = None


@dataclass
class NamedLines:
    """The lines of a document after the named-line rules, and the fields those rules found."""

    title: str | None
    lines: list[Line]
    byline: str | None = None
    dateline: str | None = None
    timestamp_text: str | None = None


def named_lines(text: str, *, title_hint: str | None, template_keys: frozenset[int], lexicon: Lexicon,
                params: CleanParams, whole_page: bool = True) -> NamedLines:
    """Repair `text` and run the rules for named kinds of lines over every non-empty line.

    The first non-empty line (or `title_hint`) is the title. Lines no rule names keep reason None.
    With `whole_page=False`, for text an extractor already cut down to the article, repeated
    paragraphs stay (lists, an interview's recurring question) and boilerplate phrases must match
    whole lines or line openings."""
    title = " ".join(title_hint.split()) if title_hint else None
    title_key = title_keys(title) if title else None
    out = NamedLines(title=title, lines=[])
    seen_paragraphs: set[str] = set()
    field_lines: dict[str, RemovalReason] = {}
    candidates_seen = False
    for line_no, raw in enumerate(repair(text).split("\n"), start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        folded = fold_for_compare(line)
        if out.title is None:
            out.title, title_key = line, title_keys(line)
            out.lines.append(Line(line_no, line, folded, RemovalReason.TITLE))
            continue
        reason = None
        if folded and is_repeated_title(folded, title_key):
            reason = RemovalReason.REPEATED_TITLE
        elif is_separator(line):
            reason = RemovalReason.SEPARATOR
        elif is_boilerplate(line, folded, lexicon, anywhere=whole_page):
            reason = RemovalReason.BOILERPLATE
        elif template_keys and len(line.split()) <= params.template_max_words \
                and line_key(line) in template_keys:
            reason = RemovalReason.TEMPLATE
        elif is_byline(line, first=not candidates_seen):
            reason, out.byline = RemovalReason.BYLINE, out.byline or line
        elif is_timestamp(line):
            reason, out.timestamp_text = RemovalReason.TIMESTAMP, out.timestamp_text or line
        elif not candidates_seen and is_dateline(line):
            reason, out.dateline = RemovalReason.DATELINE, out.dateline or line.rstrip(" -\u2014\u2013")
        elif is_caption(line):
            reason = RemovalReason.CAPTION
        elif whole_page and folded in seen_paragraphs:
            reason = RemovalReason.DUPLICATE_PARAGRAPH
        elif folded in field_lines:
            reason = field_lines[folded]  # a byline, dateline or timestamp seen before
        if reason in (RemovalReason.BYLINE, RemovalReason.DATELINE, RemovalReason.TIMESTAMP):
            field_lines[folded] = reason
        if reason is None:
            seen_paragraphs.add(folded)
            candidates_seen = True
        out.lines.append(Line(line_no, line, folded, reason))
    return out


# A count before a section heading ("12 Comments") does not change what the heading opens.
_LEADING_COUNT = re.compile(r"^\d[\d,.]*\s+")
# Kept characters an article needs before a section heading can end it: a "Related" box above
# the first paragraph, or inside the lead, must not cut the whole story.
END_MIN_CHARS = 400


def opens_after_article(line: Line, lexicon: Lexicon) -> bool:
    """Whether a line opens what follows an article on a web page: the comments, share widgets,
    the author box (lexicon `end_of_article/`)."""
    return lexicon.end_of_article.matches(_LEADING_COUNT.sub("", line.folded)) and not looks_like_code(line.text)


def opens_related_links(line: Line, lexicon: Lexicon) -> bool:
    """Whether a line heads a list of other stories: related, popular, more from the section
    (lexicon `related_links/`)."""
    return lexicon.related_links.matches(_LEADING_COUNT.sub("", line.folded)) and not looks_like_code(line.text)


def cut_before_headline(lines: list[Line]) -> None:
    """Drop the body lines above the headline's repetition on the page (menus, teasers, breaking
    news tickers come before it), unless they hold more body text than the lines below it (a
    headline repeated at the foot of the story). In place: reason LOW_CONTENT."""
    first = next((at for at, line in enumerate(lines) if line.reason == RemovalReason.REPEATED_TITLE), None)
    if first is None:
        return
    above = sum(len(line.text) for line in lines[:first] if line.reason is None)
    below = sum(len(line.text) for line in lines[first:] if line.reason is None)
    if above < below:
        for line in lines[:first]:
            if line.reason is None:
                line.reason = RemovalReason.LOW_CONTENT


# A heading of related links ends the article only when the kept text before it is at least
# RELATED_SHARE of all kept text and no sentence follows within RESUME_WINDOW lines: boxes of
# links also sit between paragraphs (swept on the dev pages: 0.5 and 3-12 lines score alike).
RELATED_SHARE = 0.5
RESUME_WINDOW = 4


def story_resumes(lines: list[Line]) -> bool:
    """Whether a kept sentence (LENGTH_LOW characters or more, final punctuation) is among `lines`."""
    return any(line.reason is None and len(line.text) >= LENGTH_LOW and bool(_TERMINAL.search(line.text))
               for line in lines)


_META_REASONS = (RemovalReason.BYLINE, RemovalReason.TIMESTAMP, RemovalReason.DATELINE, RemovalReason.CAPTION)
SUBTITLE_MAX_CHARS = 300
SUBTITLE_MIN_WORDS = 6  # fewer are a credit ("Tom Davies, Associated Press"), not a standfirst


def find_subtitle(lines: list[Line]) -> str | None:
    """Mark the standfirst (reason SUBTITLE) and return it: the first body line after the
    headline's repetition, SUBTITLE_MIN_WORDS words to SUBTITLE_MAX_CHARS characters, when a
    byline, timestamp, dateline or caption separates it from the next body line (headline,
    standfirst, credits, then the story)."""
    first = next((at for at, line in enumerate(lines) if line.reason == RemovalReason.REPEATED_TITLE), None)
    if first is None:
        return None
    candidate = next((at for at in range(first + 1, len(lines)) if lines[at].reason is None), None)
    if candidate is None or len(lines[candidate].text) > SUBTITLE_MAX_CHARS \
            or len(lines[candidate].text.split()) < SUBTITLE_MIN_WORDS:
        return None
    following = next((at for at in range(candidate + 1, len(lines)) if lines[at].reason is None), len(lines))
    if not any(line.reason in _META_REASONS for line in lines[candidate + 1:following]):
        return None
    lines[candidate].reason = RemovalReason.SUBTITLE
    return lines[candidate].text


# The author box: "Meg James is a corporate media reporter for …", "Ana Ruiz es periodista …".
_AUTHOR_BIO = re.compile(
    r"^[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){0,3},? (?:is|was|has been|es|est|ist|é|è) "
    r"(?:an? |the |una? |une |eine? |uma? |uno )?.{0,100}?"
    r"\b(?:reporter|writer|editor|journalist|correspondent|columnist|contributor|author|producer|blogger|"
    r"periodista|redactora?|journaliste|rédact(?:eur|rice)|journalist(?:in)?|redakteur(?:in)?|jornalista|repórter|"
    r"giornalista|redattrice|redattore)\b")


def is_author_bio(line: str) -> bool:
    """A line that opens the author box: a name, "is a" and a journalist's role (six languages)."""
    return bool(_AUTHOR_BIO.match(line))


def cut_after_article(lines: list[Line], lexicon: Lexicon) -> None:
    """Drop every body line after the first heading that opens what follows the article (or the
    author box's first line), once END_MIN_CHARS of body text came before it; a heading of
    related links ends the article only as RELATED_SHARE and RESUME_WINDOW allow (in place:
    reason LOW_CONTENT). Where the story goes on after a box of related links, the box's links
    (the short lines under its heading) go (reason NAVIGATION)."""
    total = sum(len(line.text) for line in lines if line.reason is None)
    kept = 0
    for at, line in enumerate(lines):
        related = opens_related_links(line, lexicon)
        if kept >= END_MIN_CHARS and (
                opens_after_article(line, lexicon) or is_author_bio(line.text)
                or (related and kept >= RELATED_SHARE * total
                    and not story_resumes(lines[at + 1:at + 1 + RESUME_WINDOW]))):
            for later in lines[at:]:
                if later.reason is None:
                    later.reason = RemovalReason.LOW_CONTENT
            return
        if related:
            drop_link_box(lines[at + 1:at + 1 + RESUME_WINDOW])
        if line.reason is None:
            kept += len(line.text)


def drop_link_box(lines: list[Line]) -> None:
    """Mark the links under a related-links heading (reason NAVIGATION): the kept lines up to the
    first sentence (LENGTH_LOW characters or final punctuation)."""
    for line in lines:
        if line.reason is None:
            if len(line.text) >= LENGTH_LOW or _TERMINAL.search(line.text):
                return
            line.reason = RemovalReason.NAVIGATION


def clean_text(text: str, *, title_hint: str | None = None, template_keys: frozenset[int] = frozenset(),
               lexicon: Lexicon = Lexicon(), params: CleanParams = CleanParams(),
               select_main: bool = True) -> CleanedText:
    """Classify every line of a plain-text article; return the kept paragraphs and the removed
    lines with their reasons. The first non-empty line (or `title_hint`) is the title.

    Steps: the rules for named kinds of lines (`named_lines`), the lines above the headline's
    repetition (`cut_before_headline`), the main-text classifier (`main_text`), and what follows
    the article (`cut_after_article`). With `select_main=False`, for text an HTML extractor already
    reduced to the main content, the classifier does not run (see also `named_lines`)."""
    named = named_lines(text, title_hint=title_hint, template_keys=template_keys, lexicon=lexicon, params=params,
                        whole_page=select_main)
    cut_before_headline(named.lines)
    subtitle = find_subtitle(named.lines)
    if select_main:
        candidates = [line for line in named.lines if line.reason is None]
        for line, keep in zip(candidates, main_text([c.text for c in candidates], lexicon)):
            if not keep:
                line.reason = RemovalReason.LOW_CONTENT
    cut_after_article(named.lines, lexicon)
    return CleanedText(title=named.title, paragraphs=[line.text for line in named.lines if line.reason is None],
                       removed=[(line.line_no, line.text, line.reason) for line in named.lines if line.reason],
                       subtitle=subtitle, byline=named.byline, dateline=named.dateline,
                       timestamp_text=named.timestamp_text)


# Tables are part of many articles (results, schedules, specifications): with them the HTML path
# scores 0.969 on aeb-dev/html, without 0.964 (bench/quality.py cross-validates the choice).
HTML_TABLES = True


# A table row longer than this is a page laid out with a table, not a table of data.
LAYOUT_ROW_CHARS = 1000


def has_layout_table(text: str) -> bool:
    """Whether trafilatura's text holds a table row ("| … |") of more than LAYOUT_ROW_CHARS."""
    return any(line.startswith("|") and len(line) > LAYOUT_ROW_CHARS for line in text.split("\n"))


def extract_main_text(page: str, *, url: str | None, params: CleanParams, tables: bool) -> tuple[str | None, dict]:
    """(main text, metadata) of an HTML page by trafilatura; (None, {}) when it fails."""
    import trafilatura

    try:
        with time_limit(params.max_parse_seconds):
            document = trafilatura.bare_extraction(
                page, url=url, with_metadata=True, include_comments=False, include_tables=tables,
                favor_precision=params.html_favor == "precision", favor_recall=params.html_favor == "recall")
    except Exception:  # trafilatura/lxml raise many kinds on hostile pages, or ran out of time
        return None, {}
    if document is None:
        return None, {}
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    metadata = {k: data.get(k) for k in ("title", "author", "date", "url", "language", "description") if data.get(k)}
    return data.get("text"), metadata


def clean_html(page: str, *, url: str | None = None, template_keys: frozenset[int] = frozenset(),
               lexicon: Lexicon = Lexicon(), params: CleanParams = CleanParams()) -> CleanedText:
    """Main text of an HTML page with trafilatura (tables included, unless the page is laid out
    in one), then the plain-text line pass over it.

    Falls back to the page's visible text when trafilatura finds too little."""
    text, metadata = extract_main_text(page, url=url, params=params, tables=HTML_TABLES)
    if HTML_TABLES and text and has_layout_table(text):
        text, metadata = extract_main_text(page, url=url, params=params, tables=False)
    fallback = not text or len(text) < params.html_min_chars
    if fallback:
        text = visible_text(page)
    # trafilatura's text is already the main content: only the named-line rules and the cuts run
    # on it; the main-text classifier is for the whole-page text of the fallback
    cleaned = clean_text(text, title_hint=metadata.get("title"), template_keys=template_keys,
                         lexicon=lexicon, params=params, select_main=fallback)
    return CleanedText(**{**cleaned.__dict__, "metadata": metadata})


_SCRIPT_OR_STYLE = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(r"</?(p|div|h[1-6]|li|td|tr|br|article|section|header|footer)\b[^>]*>", re.IGNORECASE)


class ParseTimeout(Exception):
    """Parsing one page took longer than `clean.max_parse_seconds`."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise ParseTimeout in the block after `seconds` of wall time (main thread only: elsewhere,
    and with 0, no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise ParseTimeout(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def visible_text(page: str) -> str:
    """The text blocks of an HTML page, one per line, without scripts and styles.

    Uses lxml; when lxml gives nothing (pages nested deeper than libxml2 allows, broken markup)
    the tags are stripped with regular expressions instead."""
    text = ""
    try:
        import lxml.html

        tree = lxml.html.fromstring(page)
        for bad in tree.xpath("//script|//style|//noscript"):
            bad.drop_tree()
        blocks = [" ".join(el.text_content().split()) for el in tree.iter("p", "h1", "h2", "h3", "li", "td")]
        text = "\n\n".join(b for b in blocks if b) or " ".join(tree.text_content().split())
    except Exception:  # lxml raises several kinds on hostile markup; the regex path below copes
        text = ""
    if len(text) < 100:
        stripped = _TAG.sub(" ", _BLOCK_TAG.sub("\n\n", _SCRIPT_OR_STYLE.sub(" ", page)))
        text = html_lib.unescape("\n".join(" ".join(line.split()) for line in stripped.split("\n")))
    return text


def _authors(value) -> list[str]:
    if not value:
        return []
    parts = [p.strip() for p in re.split(r";|,\s*(?=[A-Z])", str(value)) if p.strip()]
    return parts


def count_words(paragraphs: list[str], *, up_to: int) -> int:
    """The number of words in `paragraphs`, or a number at least `up_to` once that many are
    counted (enough to tell an article from a fragment)."""
    words = 0
    for paragraph in paragraphs:
        words += word_count(paragraph)
        if words >= up_to:
            break
    return words


def clean_documents(documents: pl.DataFrame, template_keys: frozenset[int], lexicon: Lexicon,
                    params: CleanParams,
                    lookups: list | None = None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Clean a frame of ingest documents; return (documents, removed_lines, rejects).

    With a `lookups` list, each document's (template keys asked about, those that were templates)
    is appended to it in input order: what the article cache checks before reusing a result."""
    rows, removed_rows, rejects = [], [], []
    keys = RecordingSet(template_keys) if lookups is not None else template_keys
    for doc in documents.iter_rows(named=True):
        if doc["content_type"] == "html":
            cleaned = clean_html(doc["raw_text"], url=doc["url"], template_keys=keys,
                                 lexicon=lexicon, params=params)
        else:
            cleaned = clean_text(doc["raw_text"], title_hint=doc["meta_title"], template_keys=keys,
                                 lexicon=lexicon, params=params)
        if lookups is not None:
            lookups.append(keys.take())
        words = count_words(cleaned.paragraphs, up_to=params.min_body_words)
        if words < params.min_body_words or not cleaned.paragraphs:
            rejects.append({"source_path": doc["source_path"], "stage": STAGE,
                            "reason": str(RejectReason.NOT_ARTICLE),
                            "detail": f"{words} words of prose left after cleaning "
                                      f"(clean.min_body_words={params.min_body_words})"})
            continue
        meta = cleaned.metadata
        rows.append({
            "id": doc["id"], "source_id": doc["source_id"], "source_path": doc["source_path"],
            "source_format": doc["source_format"], "url": doc["url"] or meta.get("url"),
            "meta_title": doc["meta_title"] or meta.get("title"),
            "meta_published": doc["meta_published"] or meta.get("date"),
            "meta_authors": doc["meta_authors"] or _authors(meta.get("author")),
            "meta_language": doc["meta_language"] or meta.get("language"),
            "title": cleaned.title, "subtitle": cleaned.subtitle, "byline": cleaned.byline,
            "dateline": cleaned.dateline, "timestamp_text": cleaned.timestamp_text,
            "paragraphs": cleaned.paragraphs,
        })
        removed_rows += [{"article_id": doc["id"], "line_no": n, "text": t, "reason": str(r)}
                         for n, t, r in cleaned.removed]
    return (pl.DataFrame(rows, schema=DOCUMENT_SCHEMA).sort("id"),
            REMOVED_LINES.conform(pl.DataFrame(removed_rows, schema=REMOVED_LINES.polars_schema)),
            REJECTS.conform(pl.DataFrame(rejects, schema=REJECTS.polars_schema)))


def count_line_keys(document_path: str, max_words: int) -> dict[int, int]:
    """{line key: number of documents of this shard containing the line}, for plain-text
    documents and lines of at most `max_words` words (long prose repeated across documents is
    a duplicate story, which dedup handles, not a template)."""
    counts: Counter[int] = Counter()
    frame = pl.read_parquet(document_path, columns=["raw_text", "content_type"])
    for text in frame.filter(pl.col("content_type") == "text")["raw_text"]:
        counts.update({line_key(line) for line in text.split("\n")
                       if line.strip() and line.count(" ") < 2 * max_words and len(line.split()) <= max_words})
    return dict(counts)


def template_keys(parts: list[Path], documents: int, params: Params) -> frozenset[int]:
    """Short lines in at least `template_min_docs` documents and `template_min_share` of them."""
    totals: Counter[int] = Counter()
    tasks = [(str(p), params.clean.template_max_words) for p in parts]
    for counts in map_shards(count_line_keys, tasks, workers=params.worker_count,
                             executor=params.executor, description="clean: line counts"):
        totals.update(counts)
    needed = max(params.clean.template_min_docs, params.clean.template_min_share * documents)
    return frozenset(k for k, n in totals.items() if n >= needed)


# The clean stage's tables, each row owned by one input document (what the article cache stores).
OUTPUTS = (Output("documents", "id", "id", ("id",)),
           Output("removed_lines", "article_id", "id", REMOVED_LINES.key),
           Output("rejects", "source_path", "source_path", REJECTS.key))


def clean_shard(document_path: str, index: int, out_dir: str, keys: frozenset[int], lexicon_dir: str,
                params: CleanParams, cache_dir: str | None = None) -> dict:
    """Clean one shard and write its documents, removed_lines and rejects parts.

    With `cache_dir`, articles cleaned before (same input, code, params and template lines) are
    read from the article cache and only the others are cleaned."""
    documents = pl.read_parquet(document_path)
    lexicon = load_lexicon(Path(lexicon_dir))
    counts: dict = {}
    if cache_dir is None:
        tables = dict(zip(("documents", "removed_lines", "rejects"),
                          clean_documents(documents, keys, lexicon, params)))
    else:
        def compute(frame: pl.DataFrame) -> tuple[dict, list]:
            lookups: list = []
            frames = clean_documents(frame, keys, lexicon, params, lookups)
            return dict(zip(("documents", "removed_lines", "rejects"), frames)), lookups

        tables, counts = ArticleCache(cache_dir).apply(documents, compute, OUTPUTS, keys)
    out = Path(out_dir)
    for name, frame in tables.items():
        write_parquet(frame, out / name / shard_part_name(index))
    removed = tables["removed_lines"]
    return {"documents": tables["documents"].height, "rejects": tables["rejects"].height,
            "removed": dict(Counter(removed["reason"].to_list())), **counts}


def run(ingest_dir: Path, out_dir: Path, params: Params, lexicon_dir: Path) -> dict:
    """Clean every shard of `ingest_dir/documents` into `out_dir`; return counts (with the article
    cache's hits and misses when `cache.enabled`)."""
    parts = table_parts(ingest_dir, "documents")
    if not parts:
        raise FileNotFoundError(f"{Path(ingest_dir) / 'documents'}: no shard files (run ingest first)")
    documents = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in parts)
    keys = template_keys(parts, documents, params)
    cache = (ArticleCache.for_stage(params.paths.cache, STAGE, params.section_fingerprint(STAGE), [lexicon_dir])
             if params.cache.enabled else None)
    tasks = [(str(p), i, str(out_dir), keys, str(lexicon_dir), params.clean,
              str(cache.directory) if cache else None) for i, p in enumerate(parts)]
    results = map_shards(clean_shard, tasks, workers=params.worker_count, executor=params.executor,
                         description=STAGE)
    removed: Counter[str] = Counter()
    for r in results:
        removed.update(r["removed"])
    counts = {"documents": sum(r["documents"] for r in results), "rejects": sum(r["rejects"] for r in results),
              "templates": len(keys), "removed_lines": dict(sorted(removed.items()))}
    if cache:
        cache.commit([r["batch"] for r in results], params.cache.keep)
        counts |= {k: sum(r[k] for r in results) for k in ("cache_hits", "cache_misses")}
    return counts
