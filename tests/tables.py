"""Small hand-built rows of the published tables, for tests of validate and publish."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.io import shard_part_name, write_parquet
from pipeline.schema import TABLES
from pipeline.text import normalise_body, sha256_hex


def article(id_: str, body: str = "Some words of an article body.", split: str = "train", **fields) -> dict:
    """One `articles` row with every column filled in plausibly."""
    row = {
        "id": id_, "source_id": id_, "source_path": f"{id_}.txt", "source_format": "txt",
        "url": None, "domain": None, "title": f"Title {id_}", "subtitle": None, "authors": [],
        "published_at": None, "dateline": None, "language": "en", "language_score": 0.9,
        "body": body, "paragraphs": body.split("\n\n"), "word_count": len(body.split()),
        "outlets": [], "content_sha256": sha256_hex(normalise_body(body)), "split": split,
    }
    row.update(fields)
    return row


def frames(articles: list[dict], **others: list[dict]) -> dict[str, pl.DataFrame]:
    """All six tables, `articles` and any others given as rows, the rest empty."""
    tables = {name: table.empty_frame() for name, table in TABLES.items()}
    tables["articles"] = TABLES["articles"].conform(pl.DataFrame(articles, schema=TABLES["articles"].polars_schema))
    for name, rows in others.items():
        tables[name] = TABLES[name].conform(pl.DataFrame(rows, schema=TABLES[name].polars_schema))
    return tables


def write_stage(tables: dict[str, pl.DataFrame], stage_dir: Path) -> Path:
    """Write tables as a stage folder (`<table>/part-00000.parquet`)."""
    for name, frame in tables.items():
        write_parquet(frame, Path(stage_dir) / name / shard_part_name(0))
    return Path(stage_dir)
