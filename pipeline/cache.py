"""Per-article cache of the expensive per-document stages (clean, extract).

A rebuild after adding articles processes only the new ones and writes the same bytes as a full
build: every output row of a cached stage belongs to one input document, so a shard's output is
the cached rows of the documents seen before plus the computed rows of the others, sorted by the
table's key exactly as a full run sorts them.

Layout under `paths.cache` (git-ignored and outside DVC's outs; DVC still sees whole stages):

    <cache>/<stage>/<version>/index.parquet                  key -> batch holding its results
    <cache>/<stage>/<version>/batches/<batch>/<table>.parquet  output rows, with `_key`
    <cache>/<stage>/<version>/batches/<batch>/_entries.parquet key, asked, found

- key: a 128-bit hash of the document's whole input row (text, ids, paths and metadata), so an
  article is found again whatever shard it lands in when shard boundaries move.
- version: a hash of the stage's code (its module and every `pipeline` module it imports), of the
  lexicons it reads, of the installed package versions (a model or library upgrade can change
  results) and of its params section. Any change gives a new version folder, so stale results are
  never read; the newest `cache.keep` versions per stage are kept, older ones deleted.
- corpus-wide inputs: clean looks each short line up in the corpus-wide set of template line
  keys. A result records which keys it asked about (`asked`) and which were templates (`found`);
  it is reused only when the same questions get the same answers today, so documents whose lines
  became (or stopped being) templates are cleaned again, and only those.
- memory: a worker reads the index rows of its own keys and the batches they point to; the
  driver merges the new batches' keys into the index (16 bytes and a batch name per article).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xxhash

from pipeline.io import write_parquet

KEY = "_key"
INDEX = "index.parquet"
ENTRIES = "_entries"
ENTRY_SCHEMA = {"key": pl.Binary, "asked": pl.List(pl.UInt64), "found": pl.List(pl.UInt64)}
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Output:
    """One output table of a cached stage: `owner` is its column naming the input document a row
    belongs to (matched to `input_column` of the input), `sort_by` the stage's row order."""

    name: str
    owner: str
    input_column: str
    sort_by: tuple[str, ...]


class RecordingSet:
    """A read-only view of a set that remembers the membership questions asked of it.

    Truthy even when empty, so that code skipping lookups on an empty set still asks, and a
    result computed with an empty set is checked again once the set has members."""

    def __init__(self, members: frozenset[int]):
        self._members = members
        self._asked: set[int] = set()

    def __contains__(self, item: int) -> bool:
        self._asked.add(item)
        return item in self._members

    def __bool__(self) -> bool:
        return True

    def take(self) -> tuple[list[int], list[int]]:
        """(keys asked since the last call, those of them that are members), both sorted; resets."""
        asked = sorted(self._asked)
        self._asked = set()
        return asked, [k for k in asked if k in self._members]


def row_keys(documents: pl.DataFrame) -> list[bytes]:
    """The cache key of every row: xxh3-128 of an unambiguous text form of all its columns."""
    if not documents.width:
        return [xxhash.xxh3_128_digest(b"")] * documents.height
    rows = documents.select(pl.concat_str([_encoded(name, documents.schema[name])
                                           for name in sorted(documents.columns)]))
    return [xxhash.xxh3_128_digest(row.encode()) for row in rows.to_series()]


def _encoded(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column as text that keeps every cell apart: its name, then per cell a kind letter, the
    length and the content (strings), or the items so encoded (lists of strings)."""
    column = pl.col(name)
    if dtype == pl.List(pl.String):
        items = column.list.eval(_text(pl.element())).list.join("")
        text = pl.concat_str([pl.lit("l"), column.list.len().cast(pl.String), pl.lit(":"), items]).fill_null("N")
    else:
        text = _text(column if dtype == pl.String else column.cast(pl.String))
    return pl.concat_str([pl.lit(f"\0{name}="), text])


def _text(value: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit("s"), value.str.len_bytes().cast(pl.String), pl.lit(":"), value]).fill_null("n")


_PIPELINE_IMPORT = re.compile(r"^\s*(?:from\s+pipeline\.(\w+)\s+import|from\s+pipeline\s+import\s+([^\n#]+)|"
                              r"import\s+pipeline\.(\w+))", re.MULTILINE)


def module_files(module: str) -> list[Path]:
    """The source file of `pipeline.<module>` and of every `pipeline` module it imports,
    directly or not, sorted."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or not (PACKAGE_DIR / f"{name}.py").is_file():
            continue
        seen.add(name)
        source = (PACKAGE_DIR / f"{name}.py").read_text(encoding="utf-8")
        for dotted, names, plain in _PIPELINE_IMPORT.findall(source):
            if dotted or plain:
                todo.append(dotted or plain)
            else:  # from pipeline import a as b, c
                todo += [part.split()[0] for part in names.strip("() ").split(",") if part.strip()]
    return sorted(PACKAGE_DIR / f"{name}.py" for name in seen)


def _hash_files(digest, files: Iterable[Path], root: Path) -> None:
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")


def installed_packages() -> list[str]:
    """Name and version of every installed distribution (its `<name>-<version>.dist-info` folder
    on sys.path; reading each METADATA file would take seconds), sorted."""
    return sorted({p.name for entry in sys.path if Path(entry).is_dir() for p in Path(entry).glob("*.dist-info")})


def code_version(module: str, data_dirs: Iterable[Path] = ()) -> str:
    """A hash of a stage's code: its module and the `pipeline` modules it imports, every file
    under `data_dirs` (lexicons) and the name and version of every installed package."""
    digest = hashlib.sha256()
    _hash_files(digest, module_files(module), PACKAGE_DIR)
    for folder in data_dirs:
        folder = Path(folder)
        _hash_files(digest, sorted(p for p in folder.rglob("*") if p.is_file()), folder)
    digest.update("\n".join(installed_packages()).encode())
    return digest.hexdigest()[:16]


class ArticleCache:
    """The cached results of one stage under one version (code + params): a folder."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @classmethod
    def for_stage(cls, root: str | Path, stage: str, params_fingerprint: str,
                  data_dirs: Iterable[Path] = ()) -> ArticleCache:
        """The cache of `stage` (a `pipeline` module name) under `root` for the current code,
        lexicons (`data_dirs`), packages and params (`params_fingerprint`)."""
        return cls(Path(root) / stage / f"{code_version(stage, data_dirs)}-{params_fingerprint}")

    def apply(self, documents: pl.DataFrame,
              compute: Callable[[pl.DataFrame], tuple[dict[str, pl.DataFrame], list | None]],
              outputs: tuple[Output, ...], corpus_set: frozenset[int] | None = None,
              ) -> tuple[dict[str, pl.DataFrame], dict]:
        """The stage's output tables for `documents`, reading what the cache has and computing the rest.

        `compute(frame)` returns ({table: frame}, per-document (asked, found) lookups of
        `corpus_set` in input order, or None). A cached result that asked about `corpus_set` is
        used only if its answers are unchanged. The new results are written as one batch (commit
        it with `commit`). Returns the tables sorted by `Output.sort_by` and
        {"cache_hits", "cache_misses", "batch"}."""
        keys = pl.Series(KEY, row_keys(documents), dtype=pl.Binary)
        cached = self._read(keys, outputs, corpus_set)
        found = cached[ENTRIES][KEY] if cached else pl.Series(KEY, [], dtype=pl.Binary)
        hit = keys.is_in(found.implode())
        missing = documents.filter(~hit)
        computed: dict[str, pl.DataFrame] = {}
        batch = None
        if missing.height or not documents.height:
            tables, lookups = compute(missing)
            computed = self._keyed(tables, missing, keys.filter(~hit), outputs)
            if missing.height:
                batch = self._write(computed, keys.filter(~hit), lookups, outputs)
        tables = {}
        for output in outputs:
            parts = [frames[output.name] for frames in (cached, computed) if frames]
            frame = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
            tables[output.name] = frame.sort(list(output.sort_by), maintain_order=True).drop(KEY).rechunk()
        return tables, {"cache_hits": int(hit.sum()), "cache_misses": missing.height, "batch": batch}

    def _index_rows(self, keys: pl.Series) -> pl.DataFrame:
        index = self.directory / INDEX
        if not index.is_file() or not len(keys):
            return pl.DataFrame(schema={"key": pl.Binary, "batch": pl.String})
        return pl.scan_parquet(index).filter(pl.col("key").is_in(keys.implode())).collect()

    def _read(self, keys: pl.Series, outputs: tuple[Output, ...],
              corpus_set: frozenset[int] | None) -> dict[str, pl.DataFrame]:
        """{table: cached rows of `keys` (with `_key`), ENTRIES: the keys found}, or {} if none."""
        parts: dict[str, list[pl.DataFrame]] = {o.name: [] for o in outputs} | {ENTRIES: []}
        for (batch,), rows in self._index_rows(keys).group_by("batch", maintain_order=True):
            folder = self.directory / "batches" / batch
            try:
                entries = pl.read_parquet(folder / f"{ENTRIES}.parquet").filter(
                    pl.col("key").is_in(rows["key"].implode()))
                valid = [e["key"] for e in entries.iter_rows(named=True) if _still_valid(e, corpus_set)]
                wanted = pl.Series(KEY, valid, dtype=pl.Binary).implode()
                frames = {o.name: pl.read_parquet(folder / f"{o.name}.parquet").filter(pl.col(KEY).is_in(wanted))
                          for o in outputs}
            except FileNotFoundError:  # a batch deleted by a concurrent prune: recompute its articles
                continue
            for name, frame in frames.items():
                parts[name].append(frame)
            parts[ENTRIES].append(pl.DataFrame({KEY: valid}, schema={KEY: pl.Binary}))
        if not parts[ENTRIES]:
            return {}
        return {name: pl.concat(frames, how="vertical") for name, frames in parts.items()}

    @staticmethod
    def _keyed(tables: dict[str, pl.DataFrame], documents: pl.DataFrame, keys: pl.Series,
               outputs: tuple[Output, ...]) -> dict[str, pl.DataFrame]:
        """`tables` with the `_key` of the input document each row belongs to."""
        keyed = {}
        for output in outputs:
            owners = pl.DataFrame({output.owner: documents[output.input_column], KEY: keys}).unique(output.owner)
            keyed[output.name] = tables[output.name].join(owners, on=output.owner, how="left",
                                                          maintain_order="left")
        return keyed

    def _write(self, tables: dict[str, pl.DataFrame], keys: pl.Series, lookups: list | None,
               outputs: tuple[Output, ...]) -> str:
        """Write one batch of new results; return its name."""
        batch = uuid.uuid4().hex
        folder = self.directory / "batches" / batch
        for output in outputs:
            write_parquet(tables[output.name], folder / f"{output.name}.parquet")
        asked, found = zip(*lookups) if lookups else ([[]] * len(keys), [[]] * len(keys))
        write_parquet(pl.DataFrame({"key": keys, "asked": list(asked), "found": list(found)}, schema=ENTRY_SCHEMA),
                      folder / f"{ENTRIES}.parquet")
        return batch

    def commit(self, batches: Iterable[str | None], keep: int) -> None:
        """Add the keys of new `batches` to the index (newest wins), then keep only the `keep`
        most recently committed versions of this stage."""
        new = []
        for batch in filter(None, batches):
            entries = self.directory / "batches" / batch / f"{ENTRIES}.parquet"
            if entries.is_file():
                new.append(pl.scan_parquet(entries).select("key", batch=pl.lit(batch)))
        if new:
            index = self.directory / INDEX
            old = [pl.scan_parquet(index)] if index.is_file() else []
            merged = pl.concat(old + new, how="vertical").unique("key", keep="last", maintain_order=True).collect()
            write_parquet(merged, index)
        elif (self.directory / INDEX).is_file():
            (self.directory / INDEX).touch()
        self.prune(keep)

    def prune(self, keep: int) -> None:
        """Delete all but the `keep` most recently used versions of this stage."""
        if not self.directory.parent.is_dir():  # nothing cached yet (no documents)
            return
        versions = [d for d in self.directory.parent.iterdir() if d.is_dir() and d != self.directory]
        used = sorted(versions, key=lambda d: (d / INDEX).stat().st_mtime if (d / INDEX).exists() else 0,
                      reverse=True)
        for stale in used[max(keep - 1, 0):]:
            shutil.rmtree(stale, ignore_errors=True)


def _still_valid(entry: dict, corpus_set: frozenset[int] | None) -> bool:
    """A cached result is valid when the corpus-wide lookups it made get the same answers now."""
    if not entry["asked"]:
        return True
    members = corpus_set or frozenset()
    return [k for k in entry["asked"] if k in members] == list(entry["found"])
