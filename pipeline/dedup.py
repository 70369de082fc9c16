"""Stage 4, dedup: one canonical article per duplicate cluster, splits by cluster.

Reads extract's `articles`, `quotes` and `entities` shards and writes per shard the surviving
articles (with `split`), their quotes and entities (with the article's split), and one
`duplicates` table. Exact duplicates share the sha256 of the normalised body.

Canonical choice, deterministic: earliest `published_at` (unknown dates last), then the
longest body (`word_count`), then the smallest id.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from pipeline.config import DedupParams, Params
from pipeline.io import read_table, shard_part_name, table_parts, write_parquet
from pipeline.schema import ARTICLES, DUPLICATES, ENTITIES, QUOTES

STAGE = "dedup"
_KEY_COLUMNS = ["id", "source_path", "published_at", "word_count", "content_sha256"]


def canonical_order(articles: pl.DataFrame) -> pl.DataFrame:
    """`articles` sorted so that the canonical member of any cluster comes first."""
    return articles.sort(["published_at", "word_count", "id"], descending=[False, True, False],
                         nulls_last=True, maintain_order=True)


def exact_clusters(articles: pl.DataFrame) -> pl.DataFrame:
    """Map every article to the canonical article of its exact-duplicate group.

    Reads id, published_at, word_count, content_sha256; returns id, cluster (canonical id).
    """
    ordered = canonical_order(articles)
    return ordered.select(
        "id", pl.col("id").first().over("content_sha256", order_by=None).alias("cluster")
    ) if ordered.height else pl.DataFrame(schema={"id": pl.String, "cluster": pl.String})


def split_of(cluster_id: str, splits: dict[str, float]) -> str:
    """The split of a cluster from sha256 of its canonical id: a fixed point in [0, 1)."""
    point = int.from_bytes(hashlib.sha256(cluster_id.encode()).digest()[:8], "big") / 2**64
    edge = 0.0
    names = list(splits)
    for name in names:
        edge += splits[name]
        if point < edge:
            return name
    return names[-1]


def assign_splits(clusters: pl.DataFrame, splits: dict[str, float]) -> pl.DataFrame:
    """Add `split` to an (id, cluster) frame, the same for every member of a cluster."""
    return clusters.with_columns(
        pl.col("cluster").map_elements(lambda c: split_of(c, splits), return_dtype=pl.String).alias("split"))


def duplicates_frame(clusters: pl.DataFrame, articles: pl.DataFrame) -> pl.DataFrame:
    """The `duplicates` table: members that are not their cluster's canonical."""
    members = clusters.filter(pl.col("id") != pl.col("cluster")).join(
        articles.select("id", "source_path"), on="id")
    return DUPLICATES.conform(members.select(
        pl.col("id").alias("article_id"), "source_path", pl.col("cluster").alias("duplicate_of"),
        pl.lit("exact").alias("kind"), pl.lit(1.0).alias("similarity"), "split"))


def plan(keys: pl.DataFrame, params: DedupParams) -> pl.DataFrame:
    """(id, cluster, split) for every article, from the key columns of the whole corpus."""
    return assign_splits(exact_clusters(keys), params.splits)


def run(extract_dir: Path, out_dir: Path, params: Params) -> dict:
    """Deduplicate `extract_dir` into `out_dir`; return counts."""
    parts = table_parts(extract_dir, "articles")
    if not parts:
        raise FileNotFoundError(f"{Path(extract_dir) / 'articles'}: no shard files (run extract first)")
    keys = read_table(extract_dir, "articles", columns=_KEY_COLUMNS)
    assignment = plan(keys, params.dedup)
    duplicates = duplicates_frame(assignment, keys)
    kept = assignment.filter(pl.col("id") == pl.col("cluster")).select("id", "split")
    out = Path(out_dir)
    for index, part in enumerate(parts):
        articles = pl.read_parquet(part).join(kept, on="id", how="inner")
        write_parquet(ARTICLES.conform(articles), out / "articles" / shard_part_name(index))
        for name, table in (("quotes", QUOTES), ("entities", ENTITIES)):
            frame = pl.read_parquet(Path(extract_dir) / name / part.name)
            frame = frame.join(kept.rename({"id": "article_id"}), on="article_id", how="inner")
            write_parquet(table.conform(frame), out / name / shard_part_name(index))
    write_parquet(duplicates, out / "duplicates" / shard_part_name(0))
    return {"articles": kept.height, "exact": duplicates.height, "near": 0}
