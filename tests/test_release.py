"""Versioned releases: manifest, changelog, diff, conflicts, and both versions loadable."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from pipeline import publish
from pipeline.config import load_params
from pipeline.release import ReleaseConflict, read_manifest
from tests.conftest import REPO
from tests.tables import article, frames, write_stage


def corpus(ids: list[int], edited: set[int] = frozenset()) -> dict:
    rows = [article(f"{i:016x}", f"Body of story {i} with several words." + (" Edited." if i in edited else ""),
                    "train" if i % 5 else "test", title=f"Story {i}") for i in ids]
    return frames(rows)


def release(tmp_path, out, ids, version, edited=frozenset(), stage="v"):
    stage_dir = write_stage(corpus(ids, edited), tmp_path / f"{stage}-{version}")
    return publish.run(stage_dir, out, load_params(None, [f"release.version={version}"]), None)


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    out = tmp / "published"
    release(tmp, out, list(range(40)), "1.0.0")
    v1_copy = tmp / "v1"
    subprocess.run(["cp", "-r", str(out), str(v1_copy)], check=True)
    new_ids = list(range(5, 40)) + list(range(100, 107))          # 5 removed, 7 added
    release(tmp, out, new_ids, "1.1.0", edited={10, 11, 12})        # 3 changed
    return tmp, out, v1_copy, new_ids


def test_the_changelog_and_manifest_count_added_removed_changed(two_versions):
    _, out, _, _ = two_versions
    versions = read_manifest(out)
    assert [v["version"] for v in versions] == ["1.0.0", "1.1.0"]
    assert versions[1]["changes"] == {"added": 7, "removed": 5, "changed": 3}
    changelog = (out / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "Since 1.0.0: 7 added, 5 removed, 3 changed" in changelog and "First release: 40 articles." in changelog
    assert "Story 100" in changelog and "Story 10 " in changelog


def test_diff_prints_the_same_summary(two_versions):
    _, out, v1_copy, _ = two_versions
    result = subprocess.run([sys.executable, "-m", "pipeline", "diff", str(v1_copy), str(out)], cwd=REPO,
                            capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[0] == "1.0.0 -> 1.1.0: 7 added, 5 removed, 3 changed"


def test_republishing_a_version_with_other_content_fails_and_same_content_is_a_no_op(two_versions):
    tmp, out, _, new_ids = two_versions
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*")) if p.is_file()}
    assert release(tmp, out, new_ids, "1.1.0", edited={10, 11, 12}, stage="again")["unchanged"]
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*")) if p.is_file()}
    assert before == after
    with pytest.raises(ReleaseConflict, match="bump release.version"):
        release(tmp, out, new_ids[:-1], "1.1.0", stage="other")


def test_both_versions_load_with_datasets(two_versions, tmp_path):
    import datasets

    _, out, v1_copy, _ = two_versions
    old = datasets.load_dataset(str(v1_copy), "articles", cache_dir=str(tmp_path / "a"))
    new = datasets.load_dataset(str(out), "articles", cache_dir=str(tmp_path / "b"))
    assert sum(s.num_rows for s in old.values()) == 40 and sum(s.num_rows for s in new.values()) == 42


def test_the_card_links_deterministic_plots(two_versions, tmp_path):
    tmp, out, _, new_ids = two_versions
    card = (out / "README.md").read_text(encoding="utf-8")
    for name in ("articles_per_month.png", "length_histogram.png", "language_share.png"):
        assert f"(plots/{name})" in card and (out / "plots" / name).stat().st_size > 1000
    again = tmp_path / "again"
    release(tmp, again, new_ids, "1.1.0", edited={10, 11, 12}, stage="plots")
    for name in ("articles_per_month.png", "length_histogram.png", "language_share.png"):
        assert (again / "plots" / name).read_bytes() == (out / "plots" / name).read_bytes()


def test_a_conflict_is_one_line_with_exit_code_2(two_versions, tmp_path):
    _, out, _, _ = two_versions
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(
        "Harbour council approves new ferry timetable\n\n"
        "The harbour council voted on Tuesday to add three early ferry crossings on weekdays, after "
        "commuters complained for months about crowded boats and missed connections in the city.\n\n"
        "Councillors said the extra sailings would start in spring and cost less than expected, because "
        "the operator agreed to share fuel costs with the regional transport authority this year.\n\n"
        "Passenger groups welcomed the decision but asked for later evening services as well.\n")
    result = subprocess.run([sys.executable, "-m", "pipeline", "run", "--input", str(raw), "--output", str(out),
                             "--version", "1.1.0", "--set", "extract.ner=false"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: version 1.1.0 is already published")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_readme_sql_queries_run_on_a_build(tmp_path):
    """Every statement in the README's ```sql block runs against a freshly built sample release."""
    import re

    import duckdb

    from tests.conftest import SAMPLE_DIR, run_pipeline

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sql\n(.*?)```", readme, re.S).group(1)
    statements = [s.strip() for s in re.sub(r"--[^\n]*", "", block).split(";") if s.strip()]
    assert len(statements) >= 8
    assert run_pipeline(SAMPLE_DIR, tmp_path / "out", "extract.ner=false") == 0
    con = duckdb.connect(str(next((tmp_path / "out").glob("*.duckdb"))), read_only=True)
    for statement in statements:
        con.execute(statement).fetchall()
    assert con.execute("SELECT count(*) FROM search_articles('council')").fetchall()[0][0] > 0


# --- diff against a git tag of the project -----------------------------------------------------

def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo,
                   check=True, capture_output=True)


@pytest.mark.parametrize("tracked_by", ["git", "dvc"])
def test_diff_against_a_git_tag_of_the_project(two_versions, tmp_path, tracked_by):
    """The release folder at tag v1.0.0, committed to git or tracked by DVC, diffed with 1.1.0."""
    import os
    import shutil

    _, out, v1_copy, _ = two_versions
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    shutil.copytree(v1_copy, project / "data" / "publish")
    (project / "params.yaml").write_text("paths:\n  publish: data/publish\n")
    git(project, "init", "-q")
    if tracked_by == "dvc":
        subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=project, check=True)
        subprocess.run([sys.executable, "-m", "dvc", "add", "-q", "data/publish"], cwd=project, check=True)
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "release 1.0.0")
    git(project, "tag", "v1.0.0")
    shutil.rmtree(project / "data" / "publish")  # only the tag holds it now (and DVC's cache)
    result = subprocess.run([sys.executable, "-m", "pipeline", "diff", "v1.0.0", str(out)], cwd=project,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "1.0.0 -> 1.1.0: 7 added, 5 removed, 3 changed"


def test_diff_of_an_older_version_kept_in_a_folder_and_of_an_unknown_name(two_versions, tmp_path):
    _, out, _, _ = two_versions
    older = subprocess.run([sys.executable, "-m", "pipeline", "diff", f"{out}@1.0.0", str(out)], cwd=REPO,
                           capture_output=True, text=True, check=True)
    assert older.stdout.splitlines()[0] == "1.0.0 -> 1.1.0: 7 added, 5 removed, 3 changed"
    assert "  added    " in older.stdout and "Story 100" in older.stdout
    unknown = subprocess.run([sys.executable, "-m", "pipeline", "diff", "no-such-tag", str(out)], cwd=tmp_path,
                             capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: no-such-tag is neither a published folder")
    assert len(unknown.stderr.strip().splitlines()) == 1


# --- push to a local stand-in for the Hub ------------------------------------------------------

HUB_TOKEN = "hf_standin_token"


def hub_env(hub, tmp_path, token=HUB_TOKEN) -> dict:
    """The environment of a user process talking to the stand-in: online, own HF cache."""
    import os

    return {**os.environ, "HF_TOKEN": token, "HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "0",
            "HF_DATASETS_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf-home")}


def push_cli(hub, folder, tmp_path):
    return subprocess.run([sys.executable, "-m", "pipeline", "push", "--repo-id", "org/news", "--folder",
                           str(folder)], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env=hub_env(hub, tmp_path))


@pytest.fixture(scope="module")
def hub_with_two_versions(two_versions, tmp_path_factory):
    from tests.hub_standin import HubStandIn

    _, out, v1_copy, _ = two_versions
    hub = HubStandIn(token=HUB_TOKEN).start()
    tmp = tmp_path_factory.mktemp("hub")
    for folder, tag in ((v1_copy, "v1.0.0"), (out, "v1.1.0")):
        result = push_cli(hub, folder, tmp)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"org/news {tag}: pushed (commit ")
    yield hub
    hub.stop()


def test_both_pushed_versions_load_with_datasets_from_the_hub(hub_with_two_versions, tmp_path):
    hub = hub_with_two_versions
    assert sorted(hub.repos["org/news"].tags) == ["v1.0.0", "v1.1.0"]
    code = ("import datasets, json\n"
            "rows = {v: {s: d.num_rows for s, d in datasets.load_dataset('org/news', 'articles', revision=v).items()}"
            " for v in ('v1.0.0', 'v1.1.0')}\n"
            "print(json.dumps(rows, sort_keys=True))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env=hub_env(hub, tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout.splitlines()[-1])
    assert sum(rows["v1.0.0"].values()) == 40 and sum(rows["v1.1.0"].values()) == 42
    assert hub.repos["org/news"].branches["main"] == hub.repos["org/news"].tags["v1.1.0"]


def test_pushing_a_pushed_version_again_is_a_no_op(hub_with_two_versions, two_versions, tmp_path):
    hub = hub_with_two_versions
    _, out, _, _ = two_versions
    commits = len(hub.repos["org/news"].commits)
    result = push_cli(hub, out, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("org/news v1.1.0: already on the Hub with the same data, nothing pushed")
    assert len(hub.repos["org/news"].commits) == commits


def test_pushing_other_data_under_a_pushed_version_is_a_one_line_conflict(hub_with_two_versions, two_versions,
                                                                          tmp_path):
    hub = hub_with_two_versions
    tmp, _, _, new_ids = two_versions
    other = tmp_path / "other"
    release(tmp, other, new_ids[:-1], "1.1.0", stage="hub-other")
    result = push_cli(hub, other, tmp_path)
    assert result.returncode == 2
    assert result.stderr == ("error: org/news already has v1.1.0 with other data; a published version never "
                             "changes: bump release.version and publish again\n")
    older = tmp_path / "older"
    release(tmp, older, new_ids, "1.0.1", stage="hub-older")
    result = push_cli(hub, older, tmp_path)
    assert result.returncode == 2
    assert "already has v1.1.0, newer than 1.0.1" in result.stderr


@pytest.fixture
def online_hub(monkeypatch):
    """A fresh stand-in, and huggingface_hub allowed online in this process (conftest sets it offline)."""
    import huggingface_hub.constants

    from tests.hub_standin import HubStandIn

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    hub = HubStandIn(token=HUB_TOKEN).start()
    yield hub
    hub.stop()


def test_transient_hub_errors_are_retried_with_backoff(online_hub, two_versions):
    from pipeline.release import push

    _, out, _, _ = two_versions
    online_hub.fail_next("POST", "repos/create", 503, times=2)
    online_hub.fail_next("POST", "tag", 502)
    sleeps = []
    result = push(out, "org/news", token=HUB_TOKEN, endpoint=online_hub.endpoint, sleep=sleeps.append)
    assert result["pushed"] and result["tag"] == "v1.1.0"
    assert sleeps == [2.0, 4.0, 2.0]
    assert online_hub.requests.count(("POST", "repos/create")) == 3
    assert online_hub.repos["org/news"].tags["v1.1.0"] == result["commit"]


def test_a_hub_that_stays_unavailable_ends_in_push_failed(online_hub, two_versions):
    from pipeline.release import RETRY_ATTEMPTS, PushFailed, push

    _, out, _, _ = two_versions
    online_hub.fail_next("POST", "repos/create", 503, times=RETRY_ATTEMPTS)
    sleeps = []
    with pytest.raises(PushFailed, match="503"):
        push(out, "org/news", token=HUB_TOKEN, endpoint=online_hub.endpoint, sleep=sleeps.append)
    assert sleeps == [2.0, 4.0, 8.0, 16.0]


@pytest.mark.parametrize("token, refusal", [("hf_wrong", None), (HUB_TOKEN, 403)])
def test_a_refused_token_fails_at_once(online_hub, two_versions, token, refusal):
    from pipeline.release import PushFailed, push

    _, out, _, _ = two_versions
    if refusal:
        online_hub.fail_next("POST", "commit", refusal)
    sleeps = []
    with pytest.raises(PushFailed, match=f"pushing {out} to org/news failed: .*{refusal or 401}") as failure:
        push(out, "org/news", token=token, endpoint=online_hub.endpoint, sleep=sleeps.append)
    assert sleeps == [] and "\n" not in str(failure.value)
    assert online_hub.requests.count(("POST", "commit")) == (1 if refusal else 0)


def test_lfs_files_on_the_hub_are_compared_by_sha256(two_versions):
    """Parquet files stored in LFS (as on the real Hub) count as the same data by their sha256."""
    from huggingface_hub.hf_api import RepoFile

    from pipeline.release import file_digests, remote_matches

    _, out, _, _ = two_versions
    digests = file_digests(out)

    def listing(change: str | None = None):
        return [RepoFile(type="file", path=path, size=1, oid="pointer",
                         lfs={"oid": "0" * 64 if path == change else sha, "size": 1, "pointerSize": 130})
                for path, sha in digests.items()]

    assert remote_matches(listing(), out)
    assert not remote_matches(listing(change=next(iter(digests))), out)
    assert not remote_matches(listing()[1:], out)
