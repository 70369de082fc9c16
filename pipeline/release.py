"""Versions of a published folder: manifest, per-version article index, changelog, diff, Hub push.

A published folder keeps, besides the data of its newest version:
- `releases.json`: every version published there, oldest first, each with the sha256 of every
  Parquet data file, one digest of them all (the version's content) and one digest of its
  (id, content_sha256) pairs;
- `releases/<version>/index.parquet`: id, content_sha256 and title of every article of that
  version, enough to say what changed between any two versions without their full data;
- `CHANGELOG.md`: for each version, the articles added, removed and changed (same id, another
  content hash) since the one before, with counts and the first titles.

A version already in the manifest cannot be published again with other content (ReleaseConflict,
one line: bump `release.version`); publishing the same content again changes nothing. Versions
only go up. "Content" is the bytes of the Parquet files: what a user downloads and what the Hub
stores, so even a Polars upgrade that changes the file footer needs a new version.

`diff` compares releases given as published folders, `FOLDER@VERSION` (an older version kept in
a folder's index) or git revisions of the project (the release folder at that revision, read
from git or, when DVC tracks it, through DVC's cache or remote). `push` uploads a folder to the
Hugging Face Hub and tags the commit `v<version>`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import duckdb
import httpx2
import polars as pl
import yaml
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
from huggingface_hub.hf_api import RepoFile

from pipeline.config import ConfigError
from pipeline.io import write_parquet, write_text

log = logging.getLogger(__name__)

MANIFEST = "releases.json"
CHANGELOG = "CHANGELOG.md"
RELEASES_DIR = "releases"
INDEX_FILE = "index.parquet"
FIRST_TITLES = 10
CHANGELOG_TITLE = "# Changelog"
DEFAULT_PUBLISH_PATH = "data/publish"


class ReleaseConflict(ConfigError):
    """A published version would change: the same version with other content, in a folder or on
    the Hub, or a version older than the newest one published."""


class PushFailed(Exception):
    """The Hub refused an upload, or stayed unreachable after the retries (one-line message)."""


def parse_version(text: str) -> tuple[int, int, int]:
    """`"1.10.0"` -> (1, 10, 0), for ordering versions."""
    major, minor, patch = (int(part) for part in text.split("."))
    return major, minor, patch


def next_patch(text: str) -> str:
    """The version after `text` that only bumps the patch number."""
    major, minor, patch = parse_version(text)
    return f"{major}.{minor}.{patch + 1}"


# --- Manifest -------------------------------------------------------------------------------

def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every Parquet data file of a published folder (version indexes excluded)."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))
            if p.relative_to(folder).parts[0] != RELEASES_DIR}


def content_digest(digests: dict[str, str]) -> str:
    """One sha256 over the sorted (path, file digest) pairs: the release's content."""
    return hashlib.sha256("".join(f"{k}\0{v}\n" for k, v in sorted(digests.items())).encode()).hexdigest()


def article_index(articles: pl.DataFrame) -> pl.DataFrame:
    """The per-version index: id, content_sha256, title, sorted by id."""
    return articles.select("id", "content_sha256", "title").sort("id")


def articles_digest(index: pl.DataFrame) -> str:
    """One sha256 over the sorted `id<TAB>content_sha256` lines of an article index."""
    lines = "".join(f"{i}\t{c}\n" for i, c in index.select("id", "content_sha256").iter_rows())
    return hashlib.sha256(lines.encode()).hexdigest()


def read_manifest(folder: Path) -> list[dict]:
    """The versions recorded in `folder/releases.json`, oldest first ([] when none)."""
    path = Path(folder) / MANIFEST
    return manifest_versions(path.read_bytes(), path) if path.is_file() else []


def manifest_versions(data: bytes, where: object) -> list[dict]:
    """The version list of a manifest's bytes; ConfigError when they are not a manifest."""
    try:
        versions = json.loads(data)["versions"]
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{where} is not a release manifest") from None
    return versions


# --- Diff -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Diff:
    """What changed between two article indexes (ids sorted; titles of either version)."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    titles: dict[str, str]

    def counts(self) -> dict[str, int]:
        """{"added": n, "removed": n, "changed": n}."""
        return {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed)}

    def summary(self, old: str, new: str) -> str:
        """A few lines: counts, then the first titles of each kind."""
        lines = [f"{old} -> {new}: {len(self.added)} added, {len(self.removed)} removed, "
                 f"{len(self.changed)} changed"]
        for kind, ids in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            for article_id in ids[:FIRST_TITLES]:
                lines.append(f"  {kind:<8} {article_id}  {self.titles.get(article_id) or ''}")
            if len(ids) > FIRST_TITLES:
                lines.append(f"  {kind:<8} … and {len(ids) - FIRST_TITLES} more")
        return "\n".join(lines)


def diff_indexes(old: pl.DataFrame, new: pl.DataFrame) -> Diff:
    """Added, removed and changed ids between two (id, content_sha256, title) indexes, in DuckDB.

    Titles of removed articles come from the old index, the others from the new one.
    """
    con = duckdb.connect()
    try:
        con.register("old_index", old.select("id", "content_sha256", "title").to_arrow())
        con.register("new_index", new.select("id", "content_sha256", "title").to_arrow())
        rows = con.execute("""
            SELECT 'added' AS kind, n.id, n.title FROM new_index n ANTI JOIN old_index o USING (id)
            UNION ALL
            SELECT 'removed', o.id, o.title FROM old_index o ANTI JOIN new_index n USING (id)
            UNION ALL
            SELECT 'changed', n.id, n.title FROM new_index n JOIN old_index o USING (id)
            WHERE n.content_sha256 IS DISTINCT FROM o.content_sha256
            ORDER BY kind, id""").fetchall()
    finally:
        con.close()
    ids: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    for kind, article_id, _ in rows:
        ids[kind].append(article_id)
    return Diff(ids["added"], ids["removed"], ids["changed"], {r[1]: r[2] for r in rows})


# --- Recording a version into a folder --------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    """A version written into a build folder: its manifest entry and the diff to the one before."""

    version: str
    previous: str | None
    diff: Diff | None
    entry: dict


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
                shown = "" if len(ids) <= FIRST_TITLES else f", the first {FIRST_TITLES}"
                lines += ["", f"{kind} ({len(ids)}{shown}):", ""]
                lines += [f"- {diff.titles.get(i) or '(untitled)'} (`{i}`)" for i in ids[:FIRST_TITLES]]
    return "\n".join(lines) + "\n"


def _older_entries(previous_dir: Path) -> str:
    """The version sections of an existing CHANGELOG.md (its title line dropped)."""
    path = Path(previous_dir) / CHANGELOG
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    if text.startswith(CHANGELOG_TITLE):
        text = text[len(CHANGELOG_TITLE):]
    return text.strip("\n")


def check_version(history: list[dict], version: str, digest: str, previous_dir: Path) -> bool:
    """True when `version` is new and newer than every recorded one; False when it is recorded
    with this very content (nothing to publish). ReleaseConflict otherwise."""
    for entry in history:
        if entry["version"] == version:
            if entry["content_sha256"] == digest:
                return False
            raise ReleaseConflict(
                f"version {version} is already published in {previous_dir} with other content; "
                f"bump release.version (e.g. --set release.version={next_patch(history[-1]['version'])})")
    newest = max((e["version"] for e in history), key=parse_version, default=None)
    if newest is not None and parse_version(version) < parse_version(newest):
        raise ReleaseConflict(f"release.version {version} is older than {newest}, the newest release in "
                              f"{previous_dir}; versions only go up (e.g. --set "
                              f"release.version={next_patch(newest)})")
    return True


def record(build_dir: Path, previous_dir: Path, version: str, articles: pl.DataFrame) -> Recorded | None:
    """Write manifest, version indexes and changelog into `build_dir`, carrying over the history
    kept in `previous_dir` (the folder about to be replaced).

    Call it once the Parquet data files are in `build_dir`. Returns None when `version` is already
    recorded with the same content (nothing to publish); raises ReleaseConflict when it is
    recorded with other content, or is older than the newest recorded version.
    """
    build_dir, previous_dir = Path(build_dir), Path(previous_dir)
    history = read_manifest(previous_dir)
    digests = file_digests(build_dir)
    digest = content_digest(digests)
    if not check_version(history, version, digest, previous_dir):
        return None
    for old in sorted((previous_dir / RELEASES_DIR).glob(f"*/{INDEX_FILE}")):
        target = build_dir / RELEASES_DIR / old.parent.name / INDEX_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(old.read_bytes())
    index = article_index(articles)
    write_parquet(index, build_dir / RELEASES_DIR / version / INDEX_FILE)
    previous = history[-1]["version"] if history else None
    diff = None
    if previous is not None and (build_dir / RELEASES_DIR / previous / INDEX_FILE).is_file():
        diff = diff_indexes(pl.read_parquet(build_dir / RELEASES_DIR / previous / INDEX_FILE), index)
    entry = {"version": version, "previous": previous, "content_sha256": digest,
             "articles": index.height, "articles_sha256": articles_digest(index), "files": digests,
             "changes": None if diff is None else diff.counts()}
    write_text(json.dumps({"versions": history + [entry]}, indent=2, sort_keys=True) + "\n",
               build_dir / MANIFEST)
    older = _older_entries(previous_dir)
    write_text(f"{CHANGELOG_TITLE}\n\n" + changelog_entry(version, previous, diff, index.height)
               + (f"\n{older}\n" if older else ""), build_dir / CHANGELOG)
    return Recorded(version, previous, diff, entry)


# --- Reading a release for `diff`: a folder, FOLDER@VERSION, or a git revision ----------------

@dataclass(frozen=True)
class ReleaseRef:
    """One side of a diff: its version and its article index."""

    version: str
    index: pl.DataFrame


def _pick_version(history: list[dict], version: str | None, where: str) -> str:
    if not history:
        raise ConfigError(f"{where} holds no release manifest ({MANIFEST})")
    known = [entry["version"] for entry in history]
    if version is None:
        return known[-1]
    if version not in known:
        raise ConfigError(f"{where} has no release {version} (it has {', '.join(known)})")
    return version


def folder_release(folder: Path, version: str | None = None) -> ReleaseRef:
    """A release kept in a published folder: its newest version, or `version`."""
    version = _pick_version(read_manifest(folder), version, str(folder))
    path = Path(folder) / RELEASES_DIR / version / INDEX_FILE
    if not path.is_file():
        raise ConfigError(f"{path} is missing: the folder keeps no index of release {version}")
    return ReleaseRef(version, pl.read_parquet(path))


def _git(repo_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, timeout=60)


def _publish_path_at(repo_dir: Path, rev: str) -> str:
    """`paths.publish` of the project's params.yaml at `rev` (the default when it has none)."""
    shown = _git(repo_dir, "show", f"{rev}:params.yaml")
    if shown.returncode != 0:
        return DEFAULT_PUBLISH_PATH
    try:
        params = yaml.safe_load(shown.stdout) or {}
        return str(params.get("paths", {}).get("publish", DEFAULT_PUBLISH_PATH)).rstrip("/")
    except (yaml.YAMLError, AttributeError):
        return DEFAULT_PUBLISH_PATH


def read_at_rev(repo_dir: Path, rev: str, path: str) -> bytes:
    """The bytes of `path` (relative to the project root) at git revision `rev`: from git when
    git tracks the file, else through DVC (the project's cache, then its remote)."""
    shown = _git(repo_dir, "show", f"{rev}:{path}")
    if shown.returncode == 0:
        return shown.stdout
    import dvc.api  # here, not at the top: only a diff against a DVC-tracked revision needs it

    try:
        return dvc.api.read(path, repo=str(repo_dir), rev=rev, mode="rb")
    except Exception as error:  # DVC raises many kinds; all mean "not available here"
        raise ConfigError(
            f"{path} at {rev} is neither in git nor in DVC's cache or remote "
            f"({type(error).__name__}); run `dvc pull` at {rev}, or `dvc get` the release into a folder "
            f"and diff folders") from None


def rev_release(repo_dir: Path, rev: str) -> ReleaseRef:
    """The newest release in the project's publish folder at git revision `rev`."""
    publish = _publish_path_at(repo_dir, rev)
    where = f"{publish} at {rev}"
    version = _pick_version(manifest_versions(read_at_rev(repo_dir, rev, f"{publish}/{MANIFEST}"), where),
                            None, where)
    data = read_at_rev(repo_dir, rev, f"{publish}/{RELEASES_DIR}/{version}/{INDEX_FILE}")
    return ReleaseRef(version, pl.read_parquet(io.BytesIO(data)))


def _git_root(repo_dir: Path) -> Path | None:
    """The top folder of the git work tree holding `repo_dir` (None outside git, or without git)."""
    try:
        shown = _git(repo_dir, "rev-parse", "--show-toplevel")
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(shown.stdout.decode().strip()) if shown.returncode == 0 else None


def _is_rev(repo_root: Path, spec: str) -> bool:
    return _git(repo_root, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}").returncode == 0


def open_release(spec: str, repo_dir: Path) -> ReleaseRef:
    """A release named on the command line: a published folder (its newest version),
    `FOLDER@X.Y.Z` (an older version that folder keeps an index of) or a git revision (a tag such
    as v1.0.0) of the project whose git work tree holds `repo_dir`.

    Raises ConfigError when `spec` is none of these or the release cannot be read.
    """
    if Path(spec).is_dir():
        return folder_release(Path(spec))
    folder, at, version = spec.rpartition("@")
    if at and folder and Path(folder).is_dir():
        return folder_release(Path(folder), version)
    root = _git_root(Path(repo_dir))
    if root is not None and _is_rev(root, spec):
        return rev_release(root, spec)
    raise ConfigError(f"{spec} is neither a published folder, FOLDER@VERSION, nor a git revision"
                      + (f" of {root}" if root is not None else " (not inside a git work tree)"))


def diff_releases(old_spec: str, new_spec: str, repo_dir: Path) -> str:
    """The added/removed/changed summary between two releases (see `open_release`)."""
    old, new = open_release(old_spec, repo_dir), open_release(new_spec, repo_dir)
    return diff_indexes(old.index, new.index).summary(old.version, new.version)


# --- Pushing to the Hugging Face Hub ----------------------------------------------------------

# Retried with backoff: the Hub's "try again later" answers and dropped connections. Anything
# else (authentication, permissions, a bad card, a conflict) fails at once.
TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)
TRANSIENT_EXCEPTIONS = (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)
RETRY_ATTEMPTS = 5
RETRY_FIRST_DELAY = 2.0
T = TypeVar("T")


def is_transient(error: BaseException) -> bool:
    """True for an HTTP answer in TRANSIENT_STATUS or a network error in TRANSIENT_EXCEPTIONS."""
    if isinstance(error, HfHubHTTPError):
        return error.response is not None and error.response.status_code in TRANSIENT_STATUS
    return isinstance(error, TRANSIENT_EXCEPTIONS)


def with_retries(action: Callable[[], T], what: str, sleep: Callable[[float], None] = time.sleep,
                 attempts: int = RETRY_ATTEMPTS, first_delay: float = RETRY_FIRST_DELAY) -> T:
    """Run `action`; after a transient error wait (2, 4, 8, … s) and try again, `attempts` in all.

    Other errors, and the transient error of the last attempt, are raised as they are.
    """
    delay = first_delay
    for attempt in range(1, attempts):
        try:
            return action()
        except Exception as error:
            if not is_transient(error):
                raise
            log.warning("%s: %s; retry %d of %d in %.0f s", what, _one_line(error), attempt,
                        attempts - 1, delay)
            sleep(delay)
            delay *= 2
    return action()


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def git_blob_sha1(data: bytes) -> str:
    """git's object id of a file's bytes (what the Hub reports for a file not stored in LFS)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def remote_matches(remote: list, folder: Path) -> bool:
    """True when the Parquet data files among the Hub files `remote` (RepoFile objects of a
    recursive tree listing) are exactly `folder`'s, path for path and byte for byte.

    Only the data files count, as in the manifest's content digest: the card, the plots and the
    .duckdb file are derived from them, and the .duckdb file differs between identical builds.
    LFS and Xet files are compared by sha256, regular files by git blob id.
    """
    local = file_digests(folder)
    files = {f.path: f for f in remote
             if isinstance(f, RepoFile) and f.path.endswith(".parquet")
             and f.path.split("/")[0] != RELEASES_DIR}
    if set(files) != set(local):
        return False
    for path, item in files.items():
        if item.lfs is not None:
            if item.lfs.sha256 != local[path]:
                return False
        elif item.blob_id != git_blob_sha1((Path(folder) / path).read_bytes()):
            return False
    return True


def _tag_version(name: str) -> tuple[int, int, int] | None:
    """(1, 2, 0) for a tag `v1.2.0`; None for tags that name no version."""
    try:
        return parse_version(name[1:]) if name.startswith("v") else None
    except ValueError:
        return None


def push(folder: Path, repo_id: str, *, token: str | None = None, private: bool = False,
         endpoint: str | None = None, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Upload a published folder to the Hub dataset repo `repo_id` and tag the commit `v<version>`.

    The repo's main branch then mirrors the folder (files the folder no longer has are deleted,
    except `.gitattributes`), so `load_dataset(repo_id, revision="v<version>")` gives that
    version. `version` is the newest one of the folder's manifest. Pushing a version whose tag
    already holds the same data files does nothing (`pushed` False). Raises ReleaseConflict when
    the tag holds other data, or a newer version is already tagged (main would go back);
    PushFailed for Hub errors outside the transient list or still failing after the retries.
    The token is `token`, else HF_TOKEN or the one saved by `hf auth login`.
    """
    folder = Path(folder)
    history = read_manifest(folder)
    if not history or not (folder / "README.md").is_file():
        raise ConfigError(f"{folder} is not a published release (no {MANIFEST} or README.md)")
    version = history[-1]["version"]
    tag = f"v{version}"
    api = HfApi(endpoint=endpoint, token=token)

    def retried(what: str, action: Callable[[], T]) -> T:
        return with_retries(action, what, sleep=sleep)

    def tags() -> dict[str, str]:
        refs = retried("list refs", lambda: api.list_repo_refs(repo_id, repo_type="dataset"))
        return {t.name: t.target_commit for t in refs.tags}

    try:
        retried("create repo", lambda: api.create_repo(repo_id, repo_type="dataset", private=private,
                                                       exist_ok=True))
        existing = tags()
        if tag in existing:
            remote = retried("list files", lambda: list(api.list_repo_tree(
                repo_id, repo_type="dataset", revision=tag, recursive=True)))
            if remote_matches(remote, folder):
                return {"repo_id": repo_id, "tag": tag, "pushed": False, "commit": existing[tag]}
            raise ReleaseConflict(f"{repo_id} already has {tag} with other data; a published version "
                                  f"never changes: bump release.version and publish again")
        newer = sorted(name for name in existing
                       if (_tag_version(name) or (0, 0, 0)) > parse_version(version))
        if newer:
            raise ReleaseConflict(f"{repo_id} already has {newer[-1]}, newer than {version}; "
                                  f"pushing {tag} would take its main branch back")
        commit = retried("upload", lambda: api.upload_folder(
            repo_id=repo_id, repo_type="dataset", folder_path=str(folder), delete_patterns="*",
            commit_message=f"Release {version}"))

        def create_tag() -> None:
            try:
                api.create_tag(repo_id, repo_type="dataset", tag=tag, revision=commit.oid,
                               tag_message=f"Release {version}")
            except HfHubHTTPError as error:  # a retried request may have created it already
                if error.response is None or error.response.status_code != 409 or tags().get(tag) != commit.oid:
                    raise

        retried("create tag", create_tag)
    except (HfHubHTTPError, OfflineModeIsEnabled, *TRANSIENT_EXCEPTIONS) as error:
        raise PushFailed(f"pushing {folder} to {repo_id} failed: {_one_line(error)}") from None
    return {"repo_id": repo_id, "tag": tag, "pushed": True, "commit": commit.oid}
