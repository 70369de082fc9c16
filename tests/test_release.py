"""Versioned releases: manifest, changelog, diff, conflicts, and both versions loadable."""

from __future__ import annotations

import hashlib
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
    (raw / "a.txt").write_text("Title\n\n" + "A sentence of the only article in this corpus. " * 12)
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
