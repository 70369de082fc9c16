"""Disk edges of the pipeline: sorted input listing, shard files, atomic deterministic writes.

Stage folders hold one sub-folder per table with one Parquet file per shard:
`<stage dir>/<table>/part-00000.parquet`. Shard i of every per-document stage comes from shard i
of the stage before, so a shard can be processed on its own by any worker.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import polars as pl

PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "statistics": True,
                   "row_group_size": 100_000}


def list_input_files(root: Path) -> list[str]:
    """Every file under `root` as a sorted list of POSIX paths relative to `root`.

    Directory symlinks are not followed (no loops); file symlinks, broken ones included, are
    listed so that ingest can read or reject them.
    """
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        rel_folder = Path(folder).relative_to(root)
        for name in dirs:
            if (Path(folder) / name).is_symlink():
                files.append(name)
        for name in files:
            found.append((rel_folder / name).as_posix())
    return sorted(found)


def shard_part_name(index: int) -> str:
    """File name of shard `index` of a table."""
    return f"part-{index:05d}.parquet"


def table_parts(stage_dir: Path, table: str) -> list[Path]:
    """The shard files of `table` in a stage folder, in shard order."""
    return sorted((Path(stage_dir) / table).glob("part-*.parquet"))


def read_table(stage_dir: Path, table: str, columns: list[str] | None = None) -> pl.DataFrame:
    """All shards of `table` from a stage folder, concatenated in shard order.

    Raises FileNotFoundError when the stage has not written the table.
    """
    parts = table_parts(stage_dir, table)
    if not parts:
        raise FileNotFoundError(f"{Path(stage_dir) / table}: no shard files (did the previous stage run?)")
    return pl.concat([pl.read_parquet(p, columns=columns) for p in parts], how="vertical_relaxed")


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write `frame` to `path` atomically (temporary name, then rename) with fixed writer settings."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        frame.write_parquet(tmp, **PARQUET_OPTIONS)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(data, path: Path) -> None:
    """Write `data` as sorted, indented JSON to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_text(text: str, path: Path) -> None:
    """Write `text` to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def fresh_dir(path: Path) -> Path:
    """Return a new empty folder beside `path` to build into before `replace_dir`.

    Leftovers of an earlier interrupted build of the same folder are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))


def replace_dir(built: Path, target: Path) -> None:
    """Move the finished folder `built` into place at `target`, replacing what was there.

    The old folder is renamed aside first and removed last, so `target` is never half-written.
    """
    target = Path(target)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(built, target)
    if old is not None:
        shutil.rmtree(old)
