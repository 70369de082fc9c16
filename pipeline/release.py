"""Versions of a published folder: manifest, per-version article index, changelog, diff.

A published folder keeps, besides the latest data:
- `releases.json`: every version published there, in order, with the sha256 of each Parquet
  file and one digest of them all (the release's content);
- `releases/<version>/index.parquet`: id, content_sha256 and title of every article of that
  version, enough to say what changed between any two versions without their full data;
- `CHANGELOG.md`: for each version, the articles added, removed and changed (same id, another
  content hash) since the one before, with counts and the first titles.

A version already in the manifest cannot be published again with other content (ReleaseConflict,
one line: bump `release.version`); publishing the same content again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import ConfigError

MANIFEST = "releases.json"
CHANGELOG = "CHANGELOG.md"
FIRST_TITLES = 10


class ReleaseConflict(ConfigError):
    """A version that is already published would get other content."""


@dataclass(frozen=True)
class Diff:
    """What changed between two article indexes (lists of ids, sorted)."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    titles: dict[str, str]

    def summary(self, old: str, new: str) -> str:
        """A few lines: counts, then the first titles of each kind."""
        lines = [f"{old} -> {new}: {len(self.added)} added, {len(self.removed)} removed, "
                 f"{len(self.changed)} changed"]
        for kind, ids in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            for article_id in ids[:FIRST_TITLES]:
                lines.append(f"  {kind:<8} {article_id}  {self.titles.get(article_id, '')}")
        return "\n".join(lines)


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every Parquet data file of a published folder (version indexes excluded)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*.parquet")) if "releases" not in p.relative_to(folder).parts}


def content_digest(digests: dict[str, str]) -> str:
    """One sha256 over the sorted (path, file digest) pairs: the release's content."""
    return hashlib.sha256("".join(f"{k}\0{v}\n" for k, v in sorted(digests.items())).encode()).hexdigest()


def read_manifest(folder: Path) -> list[dict]:
    """The versions recorded in `folder/releases.json`, oldest first ([] when none)."""
    path = Path(folder) / MANIFEST
    return json.loads(path.read_text(encoding="utf-8"))["versions"] if path.is_file() else []


def diff_indexes(old: pl.DataFrame, new: pl.DataFrame) -> Diff:
    """Added, removed and changed ids between two (id, content_sha256, title) indexes, in DuckDB."""
    con = duckdb.connect()
    con.register("old_index", old.to_arrow())
    con.register("new_index", new.to_arrow())
    added = [r[0] for r in con.execute(
        "SELECT id FROM new_index WHERE id NOT IN (SELECT id FROM old_index) ORDER BY id").fetchall()]
    removed = [r[0] for r in con.execute(
        "SELECT id FROM old_index WHERE id NOT IN (SELECT id FROM new_index) ORDER BY id").fetchall()]
    changed = [r[0] for r in con.execute(
        "SELECT n.id FROM new_index n JOIN old_index o USING (id) "
        "WHERE n.content_sha256 <> o.content_sha256 ORDER BY n.id").fetchall()]
    titles = dict(con.execute("SELECT id, title FROM old_index UNION ALL SELECT id, title FROM new_index").fetchall())
    con.close()
    return Diff(added, removed, changed, titles)


def article_index(articles: pl.DataFrame) -> pl.DataFrame:
    """The per-version index: id, content_sha256, title, sorted by id."""
    return articles.select("id", "content_sha256", "title").sort("id")


def changelog_entry(version: str, previous: str | None, diff: Diff | None, articles: int) -> str:
    """The CHANGELOG.md section of one version."""
    lines = [f"## {version}", ""]
    if diff is None:
        lines.append(f"First release: {articles} articles.")
    else:
        lines.append(f"Since {previous}: {len(diff.added)} added, {len(diff.removed)} removed, "
                     f"{len(diff.changed)} changed; {articles} articles in all.")
        for kind, ids in (("Added", diff.added), ("Removed", diff.removed), ("Changed", diff.changed)):
            if ids:
                lines += ["", f"{kind} (first {min(len(ids), FIRST_TITLES)}):"]
                lines += [f"- {diff.titles.get(i, i)} (`{i}`)" for i in ids[:FIRST_TITLES]]
    return "\n".join(lines) + "\n"


def record(build_dir: Path, previous_dir: Path, version: str, articles: pl.DataFrame) -> bool:
    """Write manifest, version index and changelog into `build_dir`, carrying over the history of
    `previous_dir`. Returns False when `version` is already there with the same content (nothing
    to publish); raises ReleaseConflict when it is there with other content."""
    history = read_manifest(previous_dir)
    digests = file_digests(build_dir)
    digest = content_digest(digests)
    for entry in history:
        if entry["version"] == version:
            if entry["content_sha256"] == digest:
                return False
            raise ReleaseConflict(f"version {version} is already published in {previous_dir} with other "
                                  f"content; bump release.version (e.g. --version X.Y.Z)")
    index = article_index(articles)
    releases_dir = build_dir / "releases"
    previous_releases = Path(previous_dir) / "releases"
    if previous_releases.is_dir():
        for old in sorted(previous_releases.glob("*/index.parquet")):
            target = releases_dir / old.parent.name / "index.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(old.read_bytes())
    (releases_dir / version).mkdir(parents=True, exist_ok=True)
    index.write_parquet(releases_dir / version / "index.parquet", compression="zstd", statistics=True)
    previous = history[-1]["version"] if history else None
    diff = None
    if previous is not None and (releases_dir / previous / "index.parquet").is_file():
        diff = diff_indexes(pl.read_parquet(releases_dir / previous / "index.parquet"), index)
    history = history + [{"version": version, "content_sha256": digest, "articles": index.height,
                          "files": digests,
                          "changes": None if diff is None else {"added": len(diff.added),
                                                                "removed": len(diff.removed),
                                                                "changed": len(diff.changed)}}]
    (build_dir / MANIFEST).write_text(json.dumps({"versions": history}, indent=2, sort_keys=True) + "\n",
                                      encoding="utf-8")
    old_log = Path(previous_dir) / CHANGELOG
    body = old_log.read_text(encoding="utf-8").split("\n", 2)[2] if old_log.is_file() else ""
    (build_dir / CHANGELOG).write_text("# Changelog\n\n" + changelog_entry(version, previous, diff, index.height)
                                       + ("\n" + body if body else ""), encoding="utf-8")
    return True


def latest_index(folder: Path) -> tuple[str, pl.DataFrame]:
    """(version, index) of the newest release of a published folder."""
    history = read_manifest(folder)
    if not history:
        raise ConfigError(f"{folder} holds no release manifest ({MANIFEST})")
    version = history[-1]["version"]
    return version, pl.read_parquet(Path(folder) / "releases" / version / "index.parquet")


def diff_folders(old: Path, new: Path) -> str:
    """The added/removed/changed summary between the newest releases of two published folders."""
    old_version, old_index = latest_index(old)
    new_version, new_index = latest_index(new)
    return diff_indexes(old_index, new_index).summary(old_version, new_version)
