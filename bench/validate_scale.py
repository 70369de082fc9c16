"""Memory and time of the validate stage at 1M articles, without running the stages before it.

    .venv/bin/python bench/speed.py --sizes 100000 --keep     # once: keeps bench/work/run-100000/
    .venv/bin/python bench/validate_scale.py --copies 10       # 10 x 100k = 1M articles

Builds the validate stage's inputs at `copies` times the size of a kept benchmark run by copying
its dedup, clean and ingest shards with new ids (copy c rewrites the first two hex digits of every
id to c, and prefixes every source path with `copy<c>/`), so every copy is a distinct set of
articles with the same shapes. Then runs `python -m pipeline validate` on them as its own process
and records wall time, CPU time, peak RSS of the process tree and the load average before, into
bench/results/validate_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import PY, REPO, WORK, measure  # noqa: E402  (bench/ is not a package)

RESULTS = REPO / "bench" / "results" / "validate_scale.json"
ID_COLUMNS = {"articles": ["id"], "quotes": ["article_id"], "entities": ["article_id"],
              "duplicates": ["article_id", "duplicate_of"], "removed_lines": ["article_id"]}
PATH_COLUMNS = {"articles": ["source_path"], "duplicates": ["source_path"], "rejects": ["source_path"]}


def copy_table(source: Path, target: Path, table: str, copies: int) -> int:
    """Write `copies` renamed copies of every shard of `table`; return the rows written."""
    parts = sorted((source / table).glob("part-*.parquet"))
    rows = 0
    for copy in range(copies):
        prefix = f"{copy:02x}"
        for index, part in enumerate(parts):
            frame = pl.read_parquet(part)
            frame = frame.with_columns(
                *[pl.concat_str(pl.lit(prefix), pl.col(c).str.slice(2)).alias(c) for c in ID_COLUMNS.get(table, [])],
                *[pl.concat_str(pl.lit(f"copy{copy:02d}/"), pl.col(c)).alias(c) for c in PATH_COLUMNS.get(table, [])])
            out = target / table / f"part-{copy * len(parts) + index:05d}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(out)
            rows += frame.height
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=WORK / "run-100000", help="a kept bench/speed.py run")
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    interim = args.run / "interim"
    scaled = WORK / f"validate-scale-x{args.copies}"
    shutil.rmtree(scaled, ignore_errors=True)
    rows = {}
    for stage, tables in (("dedup", ("articles", "quotes", "entities", "duplicates")),
                          ("clean", ("removed_lines", "rejects")), ("ingest", ("rejects",))):
        for table in tables:
            rows[f"{stage}/{table}"] = copy_table(interim / stage, scaled / stage, table, args.copies)
    print(f"inputs: {rows}", flush=True)
    env = dict(os.environ, CI="1", GX_ANALYTICS_ENABLED="false")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    figures = measure([PY, "-m", "pipeline", "validate", "--in", str(scaled / "dedup"), "--clean",
                       str(scaled / "clean"), "--ingest", str(scaled / "ingest"), "--out",
                       str(scaled / "validate"), "--metrics", str(scaled / "validation.json")], env)
    figures["summary"] = figures.pop("last_line")
    result = {"copies": args.copies, "input_rows": rows, "validate": figures}
    print(json.dumps(result, indent=2), flush=True)
    shutil.rmtree(scaled, ignore_errors=True)
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
