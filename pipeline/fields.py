"""Article fields from metadata and text: publication time, authors, dateline, cited outlets.

Pure functions of strings, used by the extract stage. No clock is ever read: a relative phrase
("2 hours ago", "hace 3 horas") is not a date, and an incomplete date (no year) is not completed
from today. The outlet gazetteer is data (`schemas/lexicons/outlets.txt`), loaded by
`load_outlets(lexicon_dir)` and passed in.

Dates, the rules in one place:
- Order of sources: the source's metadata (JSONL field, HTML meta tag), then the timestamp line
  cleaning set aside, then a timestamp line among the first lines of the body.
- Forms: ISO 8601 ("2021-03-02", "2021-03-02T15:42:00Z", "+01:00"), "March 2, 2021", "Mar. 2
  2021", "2 March 2021", "Tue, 02 Mar 2021 15:42:00 +0100" (RFC 2822), month names in en, es,
  fr, de, pt and it ("2 mars 2021", "2. März 2021", "2 de marzo de 2021", "1er mars"), and
  numeric "02/03/2021", "02.03.2021", "02-03-2021" (four-digit years only).
- Day or month first in numeric dates: a part over 12 decides. When both parts could be a month,
  English pages read month first (US style, the commonest in English-language news) and every
  other language day first. So "Updated: 02/03/2021" is 3 February on an English page and
  2 March on a French one. German, Italian and Portuguese dotted dates are always day first.
- Time: "3:42 PM", "15:42", "14h30", "14.30 Uhr", "9 a.m."; without a time the date is taken at
  00:00. Zone: a numeric offset ("+0100", "-05:00"), "Z", or an abbreviation in ZONES; US
  "ET/CT/MT/PT" take daylight time between the second Sunday of March and the first Sunday of
  November (the rule in force since 2007; before that, first Sunday of April to last Sunday of
  October). No zone means UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

MONTHS = {
    # en
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
    # es (and the names pt/it share with it)
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "ene": 1, "abr": 4, "ago": 8, "dic": 12,
    # pt
    "janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6, "julho": 7, "setembro": 9,
    "outubro": 10, "novembro": 11, "dezembro": 12, "fev": 2, "set": 9, "out": 10, "dez": 12,
    # it
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12, "gen": 1, "mag": 5, "giu": 6, "lug": 7,
    "ott": 10,
    # fr
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12, "janv": 1, "févr": 2, "avr": 4, "juil": 7, "déc": 12,
    # de
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "juni": 6, "juli": 7,
    "oktober": 10, "dezember": 12, "okt": 10, "dez": 12,
}
# UTC offsets (hours) of the zone abbreviations news sites print. Ambiguous ones take the reading
# commonest in news: IST is India (not Ireland or Israel), CST is US Central (not China).
ZONES = {
    "utc": 0, "gmt": 0, "wet": 0, "bst": 1, "ist": 5.5, "cet": 1, "cest": 2, "mez": 1,
    "mesz": 2, "eet": 2, "eest": 3, "msk": 3, "jst": 9, "kst": 9, "hkt": 8, "sgt": 8,
    "aest": 10, "aedt": 11, "awst": 8, "nzst": 12, "nzdt": 13, "brt": -3, "art": -3,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
    "akst": -9, "akdt": -8, "hst": -10,
}
# US zones written without saying whether daylight time applies: (standard, daylight) offsets.
US_GENERIC_ZONES = {"et": (-5, -4), "ct": (-6, -5), "mt": (-7, -6), "pt": (-8, -7)}

_MONTH = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_ZONE_NAMES = "|".join(sorted([*ZONES, *US_GENERIC_ZONES], key=len, reverse=True))
_TEXT_DATES = [
    # March 2, 2021 / Mar. 2 2021 / March 2nd, 2021
    re.compile(rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b",
               re.I),
    # 2 March 2021 / 2 mars 2021 / 2. März 2021 / 2 de marzo de 2021 / 1er mars 2021 / 02 Mar 2021
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:\.|º|°|er|st|nd|rd|th)?\s+(?:de\s+)?(?P<month>{_MONTH})\.?,?\s+"
               rf"(?:de\s+)?(?P<year>\d{{4}})\b", re.I),
]
# The four-digit year that ISO, text and numeric dates all contain.
_YEAR = re.compile(r"\d{4}")
_NUMERIC_DATE = re.compile(r"\b(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4})\b")
_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
                       r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?)?")
_TIME = re.compile(
    r"(?<![\d.:/-])(?:(?P<hour>\d{1,2})(?:[:h]|\.(?=\d{2}\s*(?:uhr|h\b)))(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"|(?P<bare_hour>\d{1,2})(?=\s*[ap]\.?\s?m\b\.?))"
    r"\s*(?P<ampm>[ap]\.?\s?m\b\.?)?(?:\s*(?:uhr|h)\b)?", re.I)
_OFFSET = re.compile(r"(?<![\w:+-])(?:UTC|GMT)?\s?(?P<sign>[+-])(?P<h>[01]\d):?(?P<m>[0-5]\d)(?![\d:/.-])")
# Zone abbreviations count only in capitals: "est", "ist", "art" are words in fr, de, en.
_ZONE_WORD = re.compile(rf"(?<![\w-])(?P<zone>{_ZONE_NAMES.upper()})\b")
# Words that open a timestamp line at the top of a body, in the six languages.
_TIMESTAMP_LINE = re.compile(
    r"^\s*(?:published|updated|posted|last updated|first published|publicado|actualizado|"
    r"publié|publie|mis à jour|mis a jour|veröffentlicht|aktualisiert|stand|pubblicato|"
    r"aggiornato|atualizado|atualização)\b", re.I)


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    first_sunday = first + timedelta(days=(6 - first.weekday()) % 7)
    if n > 0:
        return first_sunday + timedelta(weeks=n - 1)
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def us_daylight_time(day: date) -> bool:
    """Whether US daylight saving time is in force on `day` (2007 rules; older rules before)."""
    if day.year >= 2007:
        return _nth_sunday(day.year, 3, 2) <= day < _nth_sunday(day.year, 11, 1)
    return _nth_sunday(day.year, 4, 1) <= day < _nth_sunday(day.year, 10, -1)


def _zone_offset(text: str, day: date) -> float | None:
    """Hours east of UTC named in `text` (numeric offset or abbreviation), or None."""
    offset = _OFFSET.search(text)
    if offset:
        hours = int(offset["h"]) + int(offset["m"]) / 60
        return hours if offset["sign"] == "+" else -hours
    zone = _ZONE_WORD.search(text)
    if not zone:
        return None
    name = zone["zone"].lower()
    if name in US_GENERIC_ZONES:
        standard, daylight = US_GENERIC_ZONES[name]
        return daylight if us_daylight_time(day) else standard
    return ZONES[name]


def _time_of(text: str) -> tuple[int, int, int]:
    match = _TIME.search(text)
    if not match:
        return 0, 0, 0
    hour = int(match["hour"] or match["bare_hour"])
    minute = int(match["minute"] or 0)
    ampm = (match["ampm"] or "").lower().replace(".", "").replace(" ", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    if ampm == "am" and hour == 12:
        hour = 0
    return hour, minute, int(match["second"] or 0)


def _build(year: int, month: int, day: int, rest: str) -> datetime | None:
    """The UTC datetime of a date plus the time and zone found in `rest` (the text without the date)."""
    try:
        calendar_day = date(year, month, day)
        hour, minute, second = _time_of(rest)
        local = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    offset = _zone_offset(rest, calendar_day) or 0
    return (local - timedelta(hours=offset)).replace(tzinfo=timezone.utc)


def _without(text: str, match: re.Match) -> str:
    return text[:match.start()] + " " + text[match.end():]


def parse_date(text: str | None, *, month_first: bool = True) -> datetime | None:
    """A UTC datetime from a date string or a timestamp line, or None (see the module docstring).

    `month_first` decides numeric dates whose two first parts could both be a month; dotted
    dates ("02.03.2021") are always day first. A phrase without an absolute date ("2 hours ago",
    "yesterday") gives None: nothing is computed from the current time.
    """
    if not text or not _YEAR.search(text):  # every form has a four-digit year: no need to try them
        return None
    iso = _ISO_DATE.search(text)
    if iso:
        try:
            parsed = datetime.fromisoformat(iso.group(0).replace(",", ".").replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is not None:
                return parsed.astimezone(timezone.utc)
            rest = _without(text, iso)
            if not iso["time"]:
                return _build(parsed.year, parsed.month, parsed.day, rest)
            offset = _zone_offset(rest, parsed.date()) or 0
            return (parsed - timedelta(hours=offset)).replace(tzinfo=timezone.utc)
    for pattern in _TEXT_DATES:
        match = pattern.search(text)
        if match:
            return _build(int(match["year"]), MONTHS[match["month"].lower()], int(match["day"]),
                          _without(text, match))
    numeric = _NUMERIC_DATE.search(text)
    if numeric:
        a, b = int(numeric["a"]), int(numeric["b"])
        day_first = numeric["sep"] == "." or not month_first
        month, day = (b, a) if (day_first and b <= 12) or a > 12 else (a, b)
        return _build(int(numeric["year"]), month, day, _without(text, numeric))
    return None


def _timestamp_in_head(body_head: str, month_first: bool) -> datetime | None:
    """A date on one of the first three lines of the body that is a timestamp line: it opens with
    "Published"/"Updated"/… (six languages), or it is nothing but a date, time and zone."""
    lines = [line for line in body_head.splitlines() if line.strip()][:3]
    for line in lines:
        if len(line) > 160:
            continue
        value = parse_date(line, month_first=month_first)
        if value is None:
            continue
        if _TIMESTAMP_LINE.match(line) or _only_a_date(line):
            return value
    return None


def _only_a_date(line: str) -> bool:
    rest = line
    for pattern in (_ISO_DATE, *_TEXT_DATES, _NUMERIC_DATE, _TIME, _OFFSET, _ZONE_WORD):
        rest = pattern.sub(" ", rest)
    weekdays = re.compile(r"\b(?:mon|tue|tues|wed|thu|thurs|fri|sat|sun)[a-z]*\b|\b(?:at|à|um|às|alle|a las)\b",
                          re.I)
    return not re.findall(r"[^\W\d_]{2,}", weekdays.sub(" ", rest))


def published_at(meta_published: str | None, timestamp_text: str | None, body_head: str = "",
                 language: str = "en") -> datetime | None:
    """Publication time as a timezone-aware UTC datetime, or None.

    Takes the source's metadata value (JSONL field or HTML meta tag), the timestamp line cleaning
    set aside, and the first lines of the body, in that order of trust; returns the first that
    holds an absolute date. `language` (ISO 639-1) decides ambiguous numeric dates: month first
    for "en", day first otherwise.
    """
    month_first = language == "en"
    for candidate in (meta_published, timestamp_text):
        value = parse_date(candidate, month_first=month_first)
        if value is not None:
            return value
    return _timestamp_in_head(body_head[:600], month_first)


# --- authors -------------------------------------------------------------------------------

_BYLINE_PREFIX = re.compile(
    r"^\s*(?:(?:written|reported|words|text|texto|texte)\s+by|by|por|par|von|text|texto|texte|"
    r"autor|autore|auteur|author)\s*[:.]?\s+", re.I)
# "Di", "De", "Da" open Italian/Portuguese bylines but also surnames ("Di Maio"): they are a
# prefix only when a name of at least two words follows.
_AMBIGUOUS_PREFIX = re.compile(r"^\s*(?:di|de|da)\s+(?=\S+\s+\S)", re.I)
# Job titles and desks that follow (or replace) a name in a byline; the rest of that part goes.
_ROLE_WORDS = re.compile(
    r"(?:^|\s)(?:staff writer|staff reporter|senior writer|senior reporter|reporter|correspondent|"
    r"editor|contributor|columnist|writer|special to|news service|wire service|"
    r"redacción|redactor|redactora|corresponsal|enviado especial|enviada especial|"
    r"rédaction|rédacteur|rédactrice|correspondant|correspondante|envoyé spécial|envoyée spéciale|"
    r"redaktion|redakteur|redakteurin|korrespondent|korrespondentin|"
    r"redazione|corrispondente|inviato|inviata|redação|redacção|correspondente|enviado|enviada)\b.*$",
    re.I)
_AFFILIATION = re.compile(r"\s+(?:for|para|pour|für|per|with|in|en|em)\s+(?:the\s+)?[A-ZÀ-Ý].*$")
_NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\+|/|\||·|•|\band\b|\by\b|\bet\b|\bund\b|\be\b)\s*", re.I)
_CONTACT = re.compile(r"\S+@\S+|\bhttps?://\S+|(?<!\w)@\w+")


def authors(meta_authors: list[str] | None, byline: str | None,
            outlets: "OutletGazetteer | None" = None) -> list[str]:
    """Author names, in byline order, without repeats.

    The source's metadata wins when it names anyone; else the byline is split into names:
    "By Ana Ruiz and JOHN SMITH, Associated Press" -> ["Ana Ruiz", "John Smith"]. A prefix
    ("By", "Por", "Par", "Von", "Di", "De"), job titles ("Staff Writer", "corresponsal"), an
    affiliation ("for The Guardian"), contact details and parts that are an outlet of `outlets`
    are dropped; a name written in capitals is title-cased. Outlets are not authors: a byline
    that only names an outlet gives [].
    """
    names = [" ".join(n.split()) for n in (meta_authors or []) if n and n.strip()]
    if not names and byline:
        text = _CONTACT.sub(" ", byline)
        text = text.strip()
        text = _BYLINE_PREFIX.sub("", text) if _BYLINE_PREFIX.match(text) else _AMBIGUOUS_PREFIX.sub("", text)
        for part in _NAME_SPLIT.split(text):
            part = _AFFILIATION.sub("", _ROLE_WORDS.sub("", part)).strip(" .-–—:|()")
            if not _looks_like_a_name(part) or (outlets and outlets.is_outlet(part)):
                continue
            names.append(part.title() if part.isupper() else part)
    unique: list[str] = []
    for name in names:
        if name.casefold() not in {u.casefold() for u in unique}:
            unique.append(name)
    return unique


def _looks_like_a_name(part: str) -> bool:
    """Two to five words, starting with a capital, no digits (a byline name has a surname;
    "Political" left over from "Political Correspondent" is no name)."""
    words = part.split()
    return (2 <= len(words) <= 5 and part[:1].isalpha() and part[:1].isupper()
            and not any(ch.isdigit() for ch in part))


# --- dateline ------------------------------------------------------------------------------

_DATELINE = re.compile(
    r"^(?P<place>[A-ZÀ-Ý][A-ZÀ-Ý .'’-]{1,40}"
    r"(?:,\s*(?:[A-ZÀ-Ý][\w .'’-]{1,30}?|\d{1,2}\.?\s+[\w.]{3,12}\.?(?:\s+\d{4})?))?)"
    r"\s*(?P<agency>\([^()\n]{2,30}\))?\s*(?:[—–-]{1,2}|:)\s+")
# All-capital words that open a paragraph like a dateline but are labels, not places.
_NOT_PLACES = {"UPDATE", "UPDATED", "BREAKING", "BREAKING NEWS", "EXCLUSIVE", "ANALYSIS", "OPINION",
               "WATCH", "LIVE", "VIDEO", "PHOTOS", "EDITOR'S NOTE", "CORRECTION", "URGENTE", "EXCLUSIVA",
               "ÚLTIMA HORA", "EN DIRECT", "EILMELDUNG", "ULTIM'ORA", "ATUALIZAÇÃO", "NOTE", "FILE"}


def dateline(dateline_line: str | None, first_paragraph: str) -> str | None:
    """The dateline: place in capitals, optional region or date, optional agency in brackets.

    Takes cleaning's dateline line ("NAIROBI, Kenya (Reuters) —") or, failing that, the start of
    the first paragraph ("MADRID (AP) — The …", "BERLIN, 2. März (dpa) - Die …"), and returns it
    without the dash: "NAIROBI, Kenya (Reuters)". None when neither opens with one.
    """
    for candidate, whole_line in ((dateline_line, True), (first_paragraph, False)):
        if not candidate or not candidate.strip():
            continue
        text = candidate.strip()
        if whole_line:
            text = re.sub(r"\s*[—–:-]+\s*$", "", text) + " — "
        match = _DATELINE.match(text)
        if not match:
            continue
        place = match["place"].strip()
        head = place.split(",")[0].strip()
        if not head.isupper() or len(head.replace(" ", "")) < 2 or head in _NOT_PLACES:
            continue
        return " ".join(f"{place} {match['agency'] or ''}".split())
    return None


# --- cited outlets -------------------------------------------------------------------------

# Phrases that put an outlet right after them as a source ("told Reuters", "according to Le
# Monde", "selon l'AFP"), with the articles that may come between, and verbs of reporting that
# follow an outlet ("USA Today reported") or precede it ("informó EFE", "berichtete der Spiegel").
_CITED_BEFORE = (
    r"told|tells|telling|according to|via|in an interview with|speaking to|spoke to|said to|"
    r"reported by|quoted by|cited by|confirmed to|wrote in|writing in|"
    r"dijo a|declaró a|afirmó a|explicó a|según|de acuerdo con|en declaraciones a|"
    r"selon|a déclaré à|a dit à|a indiqué à|a confié à|a expliqué à|d'après|cité par|"
    r"laut|sagte (?:der|dem)|sagte|erklärte (?:der|dem)|gegenüber|zitiert von|"
    r"segundo|de acordo com|disse à|disse ao|afirmou à|afirmou ao|em entrevista à|em entrevista ao|"
    r"secondo|ha detto a|ha dichiarato a|intervistato da|citato da"
)
_REPORTING_VERBS = (
    r"reported|reports|said|says|wrote|writes|revealed|first reported|"
    r"informó|informa|publicó|publica|reveló|"
    r"a rapporté|rapporte|a révélé|révèle|indique|"
    r"berichtete|berichtet|meldete|meldet|schreibt|schrieb|"
    r"noticiou|informou|publicou|revelou|"
    r"ha riferito|riferisce|ha scritto|scrive|ha rivelato"
)
_ARTICLES = r"(?:the|la|le|l'|l’|el|der|die|das|dem|den|o|a|il|lo|al|ao|à|du|del|dello|della)"


@dataclass(frozen=True)
class OutletGazetteer:
    """Names of news outlets and agencies (schemas/lexicons/outlets.txt), longest first."""

    names: tuple[str, ...]
    canonical_of: dict = field(default_factory=dict)  # a name -> the name reported for it
    _cited: re.Pattern = field(init=False, repr=False, compare=False)
    _exact: dict = field(init=False, repr=False, compare=False)
    _capitalised: re.Pattern = field(init=False, repr=False, compare=False)
    _lowercase: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        name = "|".join(re.escape(n) for n in self.names) or r"(?!)"
        article = rf"(?:{_ARTICLES}\s*)?"
        agency = (r"(?:(?i:news agency|agency|newspaper|broadcaster|network|magazine|agencia|diario|periódico|"
                  r"cadena|agence|journal|quotidien|chaîne|nachrichtenagentur|agentur|zeitung|sender|"
                  r"magazin|agência|jornal|revista|agenzia|quotidiano|giornale|emittente|rivista)\s+)?")
        object.__setattr__(self, "_cited", re.compile(
            rf"(?i:\b(?:{_CITED_BEFORE}))\s+{article}{agency}{article}(?P<a>{name})(?![\w-])"
            rf"|(?<![\w-])(?P<b>{name})\s+(?:(?i:has|had|have|hat|ha|a|also)\s+)?(?i:{_REPORTING_VERBS})\b"
            rf"|(?i:\b(?:{_REPORTING_VERBS}))\s+{article}{agency}{article}(?P<c>{name})(?![\w-])"
            rf"|\((?P<d>{name})\)\s*[—–-]"))
        object.__setattr__(self, "_exact", {n.casefold(): self.canonical_of.get(n, n) for n in self.names})
        # every citation contains a name as written: a body without one needs no citation search.
        # Names opening with a capital are found by one regex, which skips to capitals quickly;
        # the few others ("dpa", "taz") by substring search.
        capitalised = [n for n in self.names if n[:1].isupper()]
        object.__setattr__(self, "_capitalised", re.compile(_occurrence_pattern(capitalised)))
        object.__setattr__(self, "_lowercase", tuple(n for n in self.names if not n[:1].isupper()))

    def names_a_name(self, body: str) -> bool:
        """Whether some name of the gazetteer occurs in `body` as written (case-sensitive)."""
        return self._capitalised.search(body) is not None or any(n in body for n in self._lowercase)

    def name_names(self, bodies: pl.Series) -> pl.Series:
        """`names_a_name` of each of `bodies`, in one Polars pass over them all."""
        return bodies.str.contains_any(list(self.names))

    def canonical(self, text: str) -> str | None:
        """The gazetteer's spelling of `text` ("the BBC" -> "BBC"), or None when it is no outlet."""
        folded = " ".join(text.split()).casefold()
        for candidate in (folded, re.sub(rf"^{_ARTICLES}\s*", "", folded)):
            if candidate in self._exact:
                return self._exact[candidate]
        return None

    def is_outlet(self, text: str) -> bool:
        return self.canonical(text) is not None

    def cited(self, body: str, names_a_name: bool | None = None) -> list[str]:
        """See `cited_outlets`."""
        found: list[str] = []
        if not (self.names_a_name(body) if names_a_name is None else names_a_name):
            return found
        for match in self._cited.finditer(body):
            name = self._exact[(match["a"] or match["b"] or match["c"] or match["d"]).casefold()]
            if name not in found:
                found.append(name)
        return found


def _occurrence_pattern(words: list[str]) -> str:
    """A regex that finds an occurrence of any of `words`, written as a tree of shared prefixes
    ("A(?:P|FP|ssociated Press)"): the regex engine tries alternatives one by one, and a tree
    rules most out at their first character. Where a word ends, the longer words it begins are
    left out (the shorter one occurs wherever they do): the pattern tells whether a word occurs,
    not which."""
    tree: dict = {}
    for word in words:
        node = tree
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}

    def branches(node: dict) -> str:
        if "" in node:
            return ""
        options = [re.escape(character) + branches(child) for character, child in sorted(node.items())]
        return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"

    return branches(tree) if tree else r"(?!)"


def cited_outlets(body: str, gazetteer: OutletGazetteer, dateline: str | None = None,
                  names_a_name: bool | None = None) -> list[str]:
    """Outlets of `gazetteer` that `body` names as a source, in order of first citation, each once.

    A citation is a pattern around a gazetteer name: "told Reuters", "according to Le Monde",
    "USA Today reported", "the BBC reported", "informó la agencia EFE", "laut Spiegel", "selon
    l'AFP", or a wire dateline "(AP) —". A name merely mentioned ("he reads Reuters") is no
    citation. Names are matched with their gazetteer capitalisation, so "ap" or "abc" in running
    text never match. The agency of the article's `dateline` ("MADRID (EFE)", also in capitals:
    "(EUROPA PRESS)") comes first. Each outlet is reported under the first name of its lexicon line.
    `names_a_name` is whether `body` holds a gazetteer name at all, when the caller knows it
    (`OutletGazetteer.name_names` over many bodies); else it is looked up.
    """
    found: list[str] = []
    agency = re.search(r"\(([^()]+)\)\s*$", dateline or "")
    if agency:
        name = gazetteer.canonical(agency.group(1))
        if name:
            found.append(name)
    for name in gazetteer.cited(body, names_a_name):
        if name not in found:
            found.append(name)
    return found


def load_outlets(lexicon_dir: Path) -> OutletGazetteer:
    """The outlet gazetteer from `lexicon_dir/outlets.txt`.

    One outlet a line, `# comments`; other names of the same outlet follow on its line after
    `|` ("Der Spiegel | Spiegel"): any of them is recognised, the first is what is reported.
    """
    path = Path(lexicon_dir) / "outlets.txt"
    names: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        forms = [f.strip() for f in line.split("#", 1)[0].split("|") if f.strip()]
        for form in forms:
            names.setdefault(form, forms[0])
    return OutletGazetteer(tuple(sorted(names, key=lambda n: (-len(n), n))), names)
