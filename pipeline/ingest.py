"""Stage 1, ingest: raw files -> one row per document, or a reject with its reason.

Reads txt, html/htm and jsonl files (and `.gz` of each) under the input folder, decodes them,
and writes per shard:
- `documents`: id, source_id, source_path, source_format, content_type (text|html),
  source_sha256, raw_text, url,
  meta_title, meta_published, meta_authors, meta_language;
- `rejects`: source_path, stage, reason, detail.
No cleaning happens here. Limits from `params.ingest` are checked before the expensive work.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.config import IngestParams, Params
from pipeline.executor import map_shards
from pipeline.io import list_input_files, shard_part_name, write_parquet
from pipeline.reasons import RejectReason
from pipeline.schema import REJECTS
from pipeline.text import sha256_hex, short_id

STAGE = "ingest"
FORMATS = {".txt": "txt", ".html": "html", ".htm": "html", ".jsonl": "jsonl"}
DOCUMENT_SCHEMA = {
    "id": pl.String, "source_id": pl.String, "source_path": pl.String, "source_format": pl.String,
    "content_type": pl.String, "source_sha256": pl.String, "raw_text": pl.String, "url": pl.String, "meta_title": pl.String,
    "meta_published": pl.String, "meta_authors": pl.List(pl.String), "meta_language": pl.String,
}
_HEX_IN_NAME = re.compile(r"(?:^|[_-])([0-9a-f]{16,64})$")
# control characters other than \t \n \v \f \r, and the replacement character of failed decoding
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1f\ufffd]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_TEXT_FIELDS = ("text", "body", "content", "article", "maintext")
_HTML_FIELDS = ("html", "raw_html")
_TITLE_FIELDS = ("title", "headline")
_DATE_FIELDS = ("published_at", "published", "date_published", "datePublished", "date", "pubdate")
_AUTHOR_FIELDS = ("authors", "author", "byline")
_LANGUAGE_FIELDS = ("language", "lang")


class Rejected(Exception):
    """An input is not usable; carries the reason code and a one-line detail."""

    def __init__(self, reason: RejectReason, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class ShardResult:
    documents: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)

    def reject(self, source_path: str, reason: RejectReason, detail: str) -> None:
        self.rejects.append({"source_path": source_path, "stage": STAGE, "reason": str(reason),
                             "detail": detail})


def source_format(rel_path: str) -> tuple[str | None, bool]:
    """(format, gzipped) from a file name: ('txt'|'html'|'jsonl' or None, ends with .gz)."""
    name = rel_path.lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    return FORMATS.get(Path(name).suffix), gzipped


def read_bytes(path: Path, gzipped: bool, limits: IngestParams) -> bytes:
    """The file's bytes, gunzipped if needed, within the size limits. Raises Rejected."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise Rejected(RejectReason.UNREADABLE, f"cannot stat: {error.strerror or error}") from None
    if size > limits.max_file_bytes:
        raise Rejected(RejectReason.TOO_LARGE, f"{size} bytes > ingest.max_file_bytes={limits.max_file_bytes}")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise Rejected(RejectReason.UNREADABLE, f"cannot read: {error.strerror or error}") from None
    if not gzipped:
        return data
    try:
        with gzip.GzipFile(fileobj=_BytesReader(data)) as stream:
            out = stream.read(limits.max_decompressed_bytes + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise Rejected(RejectReason.CORRUPT_GZIP, f"gzip: {error}") from None
    if len(out) > limits.max_decompressed_bytes:
        raise Rejected(RejectReason.TOO_LARGE,
                       f"decompresses to > ingest.max_decompressed_bytes={limits.max_decompressed_bytes}")
    return out


class _BytesReader:
    """A minimal file object over bytes (avoids io.BytesIO's copy for large inputs)."""

    def __init__(self, data: bytes):
        self._view = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        chunk = self._view[self._pos:end].tobytes()
        self._pos = end
        return chunk


def decode_text(data: bytes, is_html: bool = False) -> str:
    """Decode bytes to text: BOM, then UTF-8, then UTF-16 without BOM, the HTML meta charset,
    then cp1252 and Latin-1. Raises Rejected for empty, binary or undecodable input."""
    if not data.strip():
        raise Rejected(RejectReason.EMPTY, "no content" if not data else "only whitespace")
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                          (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _checked_text(_decode(data, encoding), encoding)
    utf16 = _utf16_without_bom(data)
    if utf16:
        return _checked_text(_decode(data, utf16), utf16)
    if b"\x00" in data:
        raise Rejected(RejectReason.BINARY, "contains NUL bytes")
    try:
        return _checked_text(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    if is_html:
        match = _META_CHARSET.search(data[:4096])
        if match:
            try:
                return _checked_text(data.decode(match.group(1).decode("ascii")), match.group(1).decode())
            except (LookupError, UnicodeDecodeError):
                pass
    try:
        return _checked_text(data.decode("cp1252"), "cp1252")
    except UnicodeDecodeError:
        return _checked_text(data.decode("latin-1"), "latin-1")


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise Rejected(RejectReason.UNDECODABLE, f"{encoding}: {error.reason} at byte {error.start}") from None


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every other byte of a sample is NUL (ASCII-range UTF-16)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / len(sample[0::2])
    odd_nul = sample[1::2].count(0) / len(sample[1::2])
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _checked_text(text: str, encoding: str) -> str:
    """Reject decoded text that is mostly control characters (binary read as text)."""
    sample = text[:20000]
    controls = len(_CONTROL_CHARACTERS.findall(sample))
    if "\x00" in sample or controls > max(8, len(sample) // 100):
        raise Rejected(RejectReason.BINARY, f"{controls} control characters in the first "
                                            f"{len(sample)} characters (as {encoding})")
    if not text.strip():
        raise Rejected(RejectReason.EMPTY, "only whitespace")
    return text


def source_id_from_path(rel_path: str) -> str:
    """The hex id in names like `000_a1afa4b16a1fe23b.txt`, else a hash of the path."""
    stem = Path(rel_path).name.split(".")[0].lower()
    match = _HEX_IN_NAME.search(stem)
    return match.group(1) if match else short_id(rel_path)


def _first_string(record: dict, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name in ("id",):
            return str(value)
    return None


def _authors(record: dict) -> list[str]:
    for name in _AUTHOR_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            return [value.strip()]
        if isinstance(value, list):
            names = []
            for item in value:
                if isinstance(item, dict):
                    item = item.get("name")
                if isinstance(item, str) and item.strip() and item.strip() not in names:
                    names.append(item.strip())
            if names:
                return names
    return []


def _document(rel_path: str, fmt: str, content_type: str, source_id: str, raw_text: str,
              source_sha256: str, **meta) -> dict:
    return {"id": short_id(rel_path), "source_id": source_id, "source_path": rel_path,
            "source_format": fmt, "content_type": content_type, "source_sha256": source_sha256,
            "raw_text": raw_text,
            "url": meta.get("url"), "meta_title": meta.get("title"),
            "meta_published": meta.get("published"), "meta_authors": meta.get("authors", []),
            "meta_language": meta.get("language")}


def jsonl_records(rel_path: str, text: str, limits: IngestParams, result: ShardResult) -> None:
    """Add one document or one reject per line of a JSONL file to `result` (blank lines skipped)."""
    count = 0
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        count += 1
        record_path = f"{rel_path}#{line_no}"
        if count > limits.max_jsonl_records:
            result.reject(record_path, RejectReason.TOO_MANY_LINES,
                          f"record beyond ingest.max_jsonl_records={limits.max_jsonl_records}")
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            result.reject(record_path, RejectReason.INVALID_JSON, f"line {line_no}: {str(error)[:200]}")
            continue
        if not isinstance(record, dict):
            result.reject(record_path, RejectReason.INVALID_JSON,
                          f"line {line_no}: a {type(record).__name__}, not an object")
            continue
        body = _first_string(record, _TEXT_FIELDS)
        html = _first_string(record, _HTML_FIELDS)
        if body is None and html is None:
            result.reject(record_path, RejectReason.MISSING_TEXT,
                          f"line {line_no}: no non-empty string in {', '.join(_TEXT_FIELDS + _HTML_FIELDS)}")
            continue
        url = _first_string(record, ("url", "link", "canonical_url"))
        source_id = _first_string(record, ("id",)) or url or short_id(record_path)
        result.documents.append(_document(
            record_path, "jsonl", "html" if body is None else "text", source_id,
            html if body is None else body, sha256_hex(line),
            url=url, title=_first_string(record, _TITLE_FIELDS),
            published=_first_string(record, _DATE_FIELDS), authors=_authors(record),
            language=_first_string(record, _LANGUAGE_FIELDS)))


def ingest_file(root: Path, rel_path: str, limits: IngestParams, result: ShardResult) -> None:
    """Read one input file into `result`: documents, or a reject with its reason."""
    fmt, gzipped = source_format(rel_path)
    path = root / rel_path
    try:
        if path.is_symlink() and not path.exists():
            raise Rejected(RejectReason.UNREADABLE, "broken or looping symbolic link")
        if path.is_dir():
            raise Rejected(RejectReason.UNSUPPORTED_FORMAT, "a link to a folder, not followed")
        if fmt is None:
            raise Rejected(RejectReason.UNSUPPORTED_FORMAT,
                           f"not one of {', '.join(sorted(FORMATS))} (optionally .gz)")
        data = read_bytes(path, gzipped, limits)
        text = decode_text(data, is_html=fmt == "html")
        if fmt != "jsonl" and text.count("\n") + 1 > limits.max_lines:
            raise Rejected(RejectReason.TOO_MANY_LINES, f"more than ingest.max_lines={limits.max_lines} lines")
    except Rejected as rejected:
        result.reject(rel_path, rejected.reason, rejected.detail)
        return
    if fmt == "jsonl":
        jsonl_records(rel_path, text, limits, result)
        return
    result.documents.append(_document(rel_path, fmt, "html" if fmt == "html" else "text",
                                      source_id_from_path(rel_path), text, sha256_hex(data)))


def ingest_shard(root: str, rel_paths: list[str], index: int, out_dir: str, limits: IngestParams) -> dict:
    """Ingest one shard of input files and write its `documents` and `rejects` parts.

    Returns counts {"documents": n, "rejects": n} for the run summary.
    """
    result = ShardResult()
    for rel_path in rel_paths:
        ingest_file(Path(root), rel_path, limits, result)
    documents = pl.DataFrame(result.documents, schema=DOCUMENT_SCHEMA).sort("id")
    rejects = REJECTS.conform(pl.DataFrame(result.rejects, schema=REJECTS.polars_schema))
    write_parquet(documents, Path(out_dir) / "documents" / shard_part_name(index))
    write_parquet(rejects, Path(out_dir) / "rejects" / shard_part_name(index))
    return {"documents": documents.height, "rejects": rejects.height}


def run(input_dir: Path, out_dir: Path, params: Params) -> dict:
    """Ingest every file under `input_dir` into shards under `out_dir`; return counts."""
    files = list_input_files(Path(input_dir))
    size = params.ingest.shard_size
    shards = [files[i:i + size] for i in range(0, len(files), size)] or [[]]
    tasks = [(str(input_dir), shard, i, str(out_dir), params.ingest) for i, shard in enumerate(shards)]
    results = map_shards(ingest_shard, tasks, workers=params.worker_count, executor=params.executor,
                         description=STAGE)
    return {"inputs": len(files), "documents": sum(r["documents"] for r in results),
            "rejects": sum(r["rejects"] for r in results), "shards": len(shards)}
