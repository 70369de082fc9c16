"""Article fields from metadata and text: publication time, authors, dateline, cited outlets.

Pure functions of strings, used by the extract stage. No clock is ever read: a relative phrase
("2 hours ago") is not a date, and an incomplete date is not completed from today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

MONTHS = {
    # en
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
    # es, pt, it
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6, "julho": 7, "setembro": 9,
    "outubro": 10, "novembro": 11, "dezembro": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9,
    "ottobre": 10, "dicembre": 12,
    # fr, de
    "janvier": 1, "février": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "août": 8,
    "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
    "januar": 1, "februar": 2, "märz": 3, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
}
# UTC offsets of the timezone abbreviations news sites print (hours).
ZONES = {"utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6,
         "pst": -8, "pdt": -7, "bst": 1, "cet": 1, "cest": 2, "eet": 2, "eest": 3, "ist": 5.5, "jst": 9,
         "aest": 10, "aedt": 11}
_MONTH = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_TIME = r"(?:(?P<hour>\d{1,2})[:h.](?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?)"
_ZONE = r"(?:\s*(?P<zone>" + "|".join(sorted(ZONES, key=len, reverse=True)) + r")\b)?"
_TEXT_DATES = [
    # March 2, 2021 / Mar. 2 2021
    re.compile(rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b", re.I),
    # 2 March 2021 / 2 mars 2021 / 2. März 2021 / 2 de marzo de 2021
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:\.|º|er)?\s+(?:de\s+)?(?P<month>{_MONTH})\.?\s+(?:de\s+)?(?P<year>\d{{4}})\b", re.I),
]
_NUMERIC_DATE = re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<year>\d{4})\b")
_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:[T ](?P<rest>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?))?")
_RELATIVE = re.compile(r"\b(ago|hace|il y a|vor \d|fa\b|há \d|yesterday|today|ayer|hier|gestern|ieri|ontem)\b", re.I)


def _time_of(text: str) -> tuple[int, int, int, float | None]:
    match = re.search(_TIME + _ZONE, text, re.I)
    if not match:
        zone = re.search(r"\b(" + "|".join(k for k in ZONES if len(k) > 1) + r")\b", text, re.I)
        return 0, 0, 0, ZONES[zone.group(1).lower()] if zone else None
    hour, minute = int(match["hour"]), int(match["minute"])
    ampm = (match["ampm"] or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    if ampm == "am" and hour == 12:
        hour = 0
    zone = ZONES[match["zone"].lower()] if match["zone"] else None
    return hour, minute, int(match["second"] or 0), zone


def _build(year: int, month: int, day: int, text: str) -> datetime | None:
    hour, minute, second, zone = _time_of(text)
    try:
        local = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    offset = timedelta(hours=zone or 0)
    return (local - offset).replace(tzinfo=timezone.utc)


def parse_date(text: str | None, *, month_first: bool = True) -> datetime | None:
    """A UTC datetime from a date string or a timestamp line, or None.

    Understands ISO 8601, "March 2, 2021", "2 March 2021" (and the es/fr/de/pt/it month names),
    numeric dates ("02/03/2021": month first when `month_first` and both parts could be a month,
    i.e. US style for English pages; day first otherwise) with an optional time, AM/PM and a
    timezone abbreviation (a time without a zone is taken as UTC). Relative phrases are None.
    """
    if not text or _RELATIVE.search(text):
        return None
    iso = _ISO_DATE.search(text)
    if iso:
        try:
            value = datetime.fromisoformat(iso.group(0).replace(" ", "T").replace("Z", "+00:00"))
        except ValueError:
            value = None
        if value is not None:
            return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    for pattern in _TEXT_DATES:
        match = pattern.search(text)
        if match:
            return _build(int(match["year"]), MONTHS[match["month"].lower()], int(match["day"]), text)
    numeric = _NUMERIC_DATE.search(text)
    if numeric:
        a, b = int(numeric["a"]), int(numeric["b"])
        month, day = (a, b) if (month_first and a <= 12) or b > 12 else (b, a)
        return _build(int(numeric["year"]), month, day, text)
    return None


def published_at(meta_published: str | None, timestamp_text: str | None, body_head: str = "",
                 language: str = "en") -> datetime | None:
    """Publication time in UTC: the source's metadata, else the timestamp line cleaning kept
    aside, else a "Published …"/"Updated …" line at the start of the body; None when none is a date."""
    month_first = language == "en"
    for candidate in (meta_published, timestamp_text):
        value = parse_date(candidate, month_first=month_first)
        if value is not None:
            return value
    head = re.search(r"^(?:published|updated|posted)\b.{0,80}$", body_head[:400], re.I | re.M)
    return parse_date(head.group(0), month_first=month_first) if head else None


_BYLINE_PREFIX = re.compile(r"^\s*(?:by|por|par|von|di|de|written by|text:)\s+", re.I)
_ROLE_WORDS = re.compile(
    r"\b(staff writer|staff reporter|reporter|correspondent|editor|contributor|columnist|"
    r"senior writer|writer|redacción|rédaction|redaktion|redazione|redação)\b.*$", re.I)
_NAME_SPLIT = re.compile(r"\s*(?:,|&|\band\b|\by\b|\bet\b|\bund\b|\be\b|\|)\s*", re.I)


def authors(meta_authors: list[str] | None, byline: str | None, outlets: "OutletGazetteer | None" = None) -> list[str]:
    """Author names: the source's metadata when it has any, else the byline split into names
    ("By Ana Ruiz and JOHN SMITH, Associated Press" -> ["Ana Ruiz", "John Smith"]), without roles
    and outlet names."""
    names = [n for n in (meta_authors or []) if n and n.strip()]
    if not names and byline:
        text = _BYLINE_PREFIX.sub("", byline.strip())
        for part in _NAME_SPLIT.split(text):
            part = _ROLE_WORDS.sub("", part).strip(" .-|")
            if not part or (outlets and outlets.is_outlet(part)) or not part[:1].isalpha():
                continue
            if len(part.split()) > 4 or not any(ch.isupper() for ch in part):
                continue
            names.append(part.title() if part.isupper() else part)
    unique: list[str] = []
    for name in names:
        if name not in unique:
            unique.append(name)
    return unique


_DATELINE = re.compile(
    r"^(?P<place>[A-ZÀ-Ý][A-ZÀ-Ý .'-]{1,40}(?:,\s*[A-ZÀ-Ý][\w .'-]{1,30})?)\s*(?P<agency>\([A-Za-z .]{2,30}\))?\s*[—–-]{1,2}\s*")


def dateline(dateline_line: str | None, first_paragraph: str) -> str | None:
    """The dateline, e.g. "NAIROBI, Kenya (Reuters)": cleaning's dateline line, else one opening
    the first paragraph ("MADRID (AP) — The …"). The place must be in capitals."""
    for candidate in (dateline_line, first_paragraph):
        if not candidate:
            continue
        match = _DATELINE.match(candidate.strip() + (" —" if candidate is dateline_line else ""))
        if match and match["place"].split(",")[0].strip().isupper():
            return " ".join((match["place"].strip() + " " + (match["agency"] or "")).split())
    return None


@dataclass(frozen=True)
class OutletGazetteer:
    """Names of news outlets and agencies (schemas/lexicons/outlets.txt), longest first."""

    names: tuple[str, ...]

    def __post_init__(self):
        alternatives = "|".join(re.escape(n) for n in self.names)
        object.__setattr__(self, "_cited", re.compile(
            rf"(?i:\btold|\baccording to|\bvia|\bin an interview with|\bspeaking to|\bdijo a|\bsegún|"
            rf"\bselon|\ba déclaré à|\blaut|\bsagte (?:der|dem)|\bsegundo|\bdisse à|\bsecondo|\bha detto a)\s+"
            rf"(?:the\s+|la\s+|le\s+|el\s+|der\s+|die\s+|o\s+|il\s+)?(?P<a>{alternatives})\b"
            rf"|\b(?P<b>{alternatives})\s+(?i:reported|reports|said|says|wrote|informó|a rapporté|berichtete|"
            rf"noticiou|ha riferito)\b"
            rf"|\((?P<c>{alternatives})\)\s*[—–-]"))
        object.__setattr__(self, "_exact", {n.casefold(): n for n in self.names})

    def is_outlet(self, text: str) -> bool:
        return text.strip().casefold().removeprefix("the ") in self._exact or text.strip().casefold() in self._exact

    def cited(self, body: str) -> list[str]:
        """Outlets the text names as sources ("told Reuters", "USA Today reported",
        "according to Le Monde", "(AP) —"), in order of first citation, without repeats."""
        found: list[str] = []
        for match in self._cited.finditer(body):
            name = match["a"] or match["b"] or match["c"]
            canonical = self._exact[name.casefold()]
            if canonical not in found:
                found.append(canonical)
        return found


def load_outlets(lexicon_dir: Path) -> OutletGazetteer:
    """The outlet gazetteer from `lexicon_dir/outlets.txt` (one name per line, `# comments`)."""
    path = Path(lexicon_dir) / "outlets.txt"
    names = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return OutletGazetteer(tuple(sorted({n for n in names if n}, key=lambda n: (-len(n), n))))
