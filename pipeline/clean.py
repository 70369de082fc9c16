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

import contextlib
import html as html_lib
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

from pipeline.config import CleanParams, Params
from pipeline.executor import map_shards
from pipeline.io import shard_part_name, table_parts, write_parquet
from pipeline.reasons import RejectReason, RemovalReason
from pipeline.schema import REJECTS, REMOVED_LINES
from pipeline.text import fold_for_compare, word_count

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
_SEPARATOR = re.compile(r"^[\W_]{3,}$")
_FRAMED = re.compile(r"^[_=\-*~#.\s]{3,}(.*?)[_=\-*~#.\s]{3,}$")
_DOUBLED_OPENING = re.compile(r"([\u201c\"])[\u201c\u201d\"]+(?=\w)")
_BYLINE = re.compile(r"^(by|por|par|von|di|de)\s+\S.{0,80}$", re.IGNORECASE)
_TIMESTAMP = re.compile(
    r"^((published|updated|posted|last updated|publicado|actualizado|publié|mis à jour|veröffentlicht|"
    r"aktualisiert|pubblicato|aggiornato)\b.{0,60}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}.{0,30}|"
    r"\d+\s+(minutes?|hours?|days?)\s+ago)$", re.IGNORECASE)
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,40}(,\s*[A-Z][\w .'-]{1,40})?\s*(\([A-Za-z .]{2,30}\))?\s*[\u2014\u2013-]+\s*$")
_CAPTION = re.compile(r"^((photo|image|picture|foto|imagen|credit|crédit|bild)\b.{0,120}|"
                      r".{0,200}\((photo|image|foto)( by|:)? .{0,80}\))$", re.IGNORECASE)
_PROSE_END = re.compile(r"[.!?\u201d\"\u2019')\]…:]$")


@dataclass(frozen=True)
class Lexicon:
    """Boilerplate phrases (folded), matched as whole lines or as line openings."""

    lines: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def matches(self, folded: str) -> bool:
        return folded in self.lines or any(folded.startswith(p) for p in self.prefixes)


def load_lexicon(lexicon_dir: Path) -> Lexicon:
    """Read `boilerplate/*.txt` under `lexicon_dir`: one phrase per line, `# comments`,
    a trailing `*` marks a phrase that only has to open the line."""
    lines, prefixes = set(), []
    for path in sorted((Path(lexicon_dir) / "boilerplate").glob("*.txt")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            phrase = raw.split("#", 1)[0].strip()
            if not phrase:
                continue
            if phrase.endswith("*"):
                prefixes.append(fold_for_compare(phrase[:-1]))
            else:
                lines.add(fold_for_compare(phrase))
    return Lexicon(frozenset(lines), tuple(sorted(set(p for p in prefixes if p))))


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


def repair(text: str) -> str:
    """Fix mojibake and HTML entities (ftfy), NFC, normalise line ends and spaces, and
    collapse doubled opening quotes (`“”We` -> `“We`)."""
    if not text.isascii() or "&" in text:
        text = ftfy.fix_text(text, unescape_html=True, uncurl_quotes=False)
        text = html_lib.unescape(text) if "&" in text else text
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u00a0", " ").replace("\t", " ")
    return _DOUBLED_OPENING.sub(r"\1", text)


def is_separator(line: str) -> bool:
    return bool(_SEPARATOR.match(line))


def is_boilerplate(line: str, folded: str, lexicon: Lexicon) -> bool:
    framed = _FRAMED.match(line)
    if framed and framed.group(1).strip():
        return True  # "____ Join us on WhatsApp ____": a widget framed by rules
    return lexicon.matches(folded)


def is_byline(line: str) -> bool:
    return bool(_BYLINE.match(line)) and len(line.split()) <= 12 and not line.rstrip().endswith(".")


def is_timestamp(line: str) -> bool:
    return bool(_TIMESTAMP.match(line))


def is_dateline(line: str) -> bool:
    return bool(_DATELINE.match(line))


def is_caption(line: str) -> bool:
    return bool(_CAPTION.match(line)) and len(line) < 300


def line_key(line: str) -> int:
    """64-bit key of a folded line, for the corpus-wide template count."""
    return xxhash.xxh3_64_intdigest(fold_for_compare(line).encode("utf-8"))


def clean_text(text: str, *, title_hint: str | None = None, template_keys: frozenset[int] = frozenset(),
               lexicon: Lexicon = Lexicon(), params: CleanParams = CleanParams()) -> CleanedText:
    """Classify every line of a plain-text article; return the kept paragraphs and the removed
    lines with their reasons. The first non-empty line (or `title_hint`) is the title."""
    lines = repair(text).split("\n")
    removed: list[tuple[int, str, str]] = []
    paragraphs: list[str] = []
    seen_paragraphs: set[str] = set()
    field_lines: dict[str, RemovalReason] = {}
    title = " ".join(title_hint.split()) if title_hint else None
    title_key = fold_for_compare(title) if title else None
    byline = dateline = timestamp_text = None
    for line_no, raw in enumerate(lines, start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        folded = fold_for_compare(line)
        if title is None:
            title, title_key = line, folded
            removed.append((line_no, line, RemovalReason.TITLE))
            continue
        reason = None
        if folded and folded == title_key:
            reason = RemovalReason.REPEATED_TITLE
        elif is_separator(line):
            reason = RemovalReason.SEPARATOR
        elif is_boilerplate(line, folded, lexicon):
            reason = RemovalReason.BOILERPLATE
        elif template_keys and line_key(line) in template_keys:
            reason = RemovalReason.TEMPLATE
        elif not paragraphs and is_byline(line):
            reason, byline = RemovalReason.BYLINE, byline or line
        elif is_timestamp(line):
            reason, timestamp_text = RemovalReason.TIMESTAMP, timestamp_text or line
        elif not paragraphs and is_dateline(line):
            reason, dateline = RemovalReason.DATELINE, dateline or line.rstrip(" -\u2014\u2013")
        elif is_caption(line):
            reason = RemovalReason.CAPTION
        elif folded in seen_paragraphs:
            reason = RemovalReason.DUPLICATE_PARAGRAPH
        elif folded in field_lines:
            reason = field_lines[folded]  # a byline, dateline or timestamp seen before
        if reason is not None:
            if reason in (RemovalReason.BYLINE, RemovalReason.DATELINE, RemovalReason.TIMESTAMP):
                field_lines[folded] = reason
            removed.append((line_no, line, reason))
            continue
        seen_paragraphs.add(folded)
        paragraphs.append(line)
    return CleanedText(title=title, paragraphs=paragraphs, removed=removed, byline=byline,
                       dateline=dateline, timestamp_text=timestamp_text)


def clean_html(page: str, *, url: str | None = None, template_keys: frozenset[int] = frozenset(),
               lexicon: Lexicon = Lexicon(), params: CleanParams = CleanParams()) -> CleanedText:
    """Main text of an HTML page with trafilatura, then the plain-text line pass over it.

    Falls back to the page's visible text when trafilatura finds too little."""
    import trafilatura

    metadata: dict = {}
    text = None
    try:
        with time_limit(params.max_parse_seconds):
            document = trafilatura.bare_extraction(
                page, url=url, with_metadata=True, include_comments=False, include_tables=False,
                favor_precision=params.html_favor == "precision", favor_recall=params.html_favor == "recall")
    except Exception:  # trafilatura/lxml raise many kinds on hostile pages, or ran out of time
        document = None
    if document is not None:
        data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
        text = data.get("text")
        metadata = {k: data.get(k) for k in ("title", "author", "date", "url", "language", "description")
                    if data.get(k)}
    if not text or len(text) < params.html_min_chars:
        text = visible_text(page)
    cleaned = clean_text(text, title_hint=metadata.get("title"), template_keys=template_keys,
                         lexicon=lexicon, params=params)
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


def clean_documents(documents: pl.DataFrame, template_keys: frozenset[int], lexicon: Lexicon,
                    params: CleanParams) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Clean a frame of ingest documents; return (documents, removed_lines, rejects)."""
    rows, removed_rows, rejects = [], [], []
    for doc in documents.iter_rows(named=True):
        if doc["content_type"] == "html":
            cleaned = clean_html(doc["raw_text"], url=doc["url"], template_keys=template_keys,
                                 lexicon=lexicon, params=params)
        else:
            cleaned = clean_text(doc["raw_text"], title_hint=doc["meta_title"], template_keys=template_keys,
                                 lexicon=lexicon, params=params)
        words = sum(word_count(p) for p in cleaned.paragraphs)
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
                       if line.strip() and len(line.split()) <= max_words})
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


def clean_shard(document_path: str, index: int, out_dir: str, keys: frozenset[int], lexicon_dir: str,
                params: CleanParams) -> dict:
    """Clean one shard and write its documents, removed_lines and rejects parts."""
    documents = pl.read_parquet(document_path)
    cleaned, removed, rejects = clean_documents(documents, keys, load_lexicon(Path(lexicon_dir)), params)
    out = Path(out_dir)
    write_parquet(cleaned, out / "documents" / shard_part_name(index))
    write_parquet(removed, out / "removed_lines" / shard_part_name(index))
    write_parquet(rejects, out / "rejects" / shard_part_name(index))
    return {"documents": cleaned.height, "rejects": rejects.height,
            "removed": dict(Counter(removed["reason"].to_list()))}


def run(ingest_dir: Path, out_dir: Path, params: Params, lexicon_dir: Path) -> dict:
    """Clean every shard of `ingest_dir/documents` into `out_dir`; return counts."""
    parts = table_parts(ingest_dir, "documents")
    if not parts:
        raise FileNotFoundError(f"{Path(ingest_dir) / 'documents'}: no shard files (run ingest first)")
    documents = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in parts)
    keys = template_keys(parts, documents, params)
    tasks = [(str(p), i, str(out_dir), keys, str(lexicon_dir), params.clean) for i, p in enumerate(parts)]
    results = map_shards(clean_shard, tasks, workers=params.worker_count, executor=params.executor,
                         description=STAGE)
    removed: Counter[str] = Counter()
    for r in results:
        removed.update(r["removed"])
    return {"documents": sum(r["documents"] for r in results), "rejects": sum(r["rejects"] for r in results),
            "templates": len(keys), "removed_lines": dict(sorted(removed.items()))}
