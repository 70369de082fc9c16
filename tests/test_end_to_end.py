"""The whole pipeline: real `dvc repro` in a copy of the project, the seed, conservation, bytes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.schema import TABLES
from tests.conftest import AEB_DIR, REPO, SEED_DIR, needs, run_pipeline


def parquet_digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def table(folder: Path, name: str) -> pl.DataFrame:
    files = sorted((folder / name).glob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]) if files else TABLES[name].empty_frame()


def copy_project(target: Path) -> Path:
    """A fresh copy of the committed project (what a clone has), as its own git repository."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)
    return target


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("project"))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               DVC_NO_ANALYTICS="1")
    first = subprocess.run([str(Path(sys.executable).parent / "dvc"), "repro"], cwd=project, env=env,
                           capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    second = subprocess.run([str(Path(sys.executable).parent / "dvc"), "repro"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    return project, first, second


def test_dvc_repro_publishes_a_loadable_dataset(dvc_project, tmp_path):
    import datasets

    project, first, _ = dvc_project
    publish = project / "data" / "publish"
    assert (publish / "README.md").is_file()
    loaded = datasets.load_dataset(str(publish), "articles", cache_dir=str(tmp_path / "hf"))
    con = duckdb.connect(str(next(publish.glob("*.duckdb"))), read_only=True)
    assert sum(split.num_rows for split in loaded.values()) == con.execute(
        "select count(*) from articles").fetchall()[0][0] > 0
    metrics = json.loads((project / "metrics" / "validation.json").read_text())
    assert metrics["success"]
    assert (project / "reports" / "data_docs" / "index.html").is_file()


def test_a_second_dvc_repro_does_nothing(dvc_project):
    _, _, second = dvc_project
    assert second.returncode == 0
    assert "Running stage" not in second.stdout


def test_dvc_metrics_and_plots_show_the_release(dvc_project, tmp_path):
    project, _, _ = dvc_project
    dvc = [str(Path(sys.executable).parent / "dvc")]
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    shown = subprocess.run(dvc + ["metrics", "show", "--json"], cwd=project, env=env, capture_output=True,
                           text=True, timeout=120, check=True)
    metrics = next(iter(json.loads(shown.stdout).values()))["data"]
    assert metrics["metrics/publish.json"]["data"]["version"] == "0.1.0"
    assert metrics["metrics/validation.json"]["data"]["success"] is True
    subprocess.run(dvc + ["plots", "show", "-o", str(tmp_path / "plots")], cwd=project, env=env,
                   capture_output=True, text=True, timeout=120, check=True)
    page = (tmp_path / "plots" / "index.html").read_text(encoding="utf-8")
    for title in ("Articles per month", "Articles by words per article", "Articles per language"):
        assert title in page
    assert '"sort": null' in page and '"words": "100-199"' in page


def test_the_sample_corpus_exercises_every_path(dvc_project):
    project, _, _ = dvc_project
    publish = project / "data" / "publish"
    rejects, duplicates = table(publish, "rejects"), table(publish, "duplicates")
    reasons = set(rejects["reason"].to_list())
    assert {"binary", "empty", "not_article", "unsupported_format"} <= reasons
    assert "exact" in duplicates["kind"].to_list()
    formats = set(table(publish, "articles")["source_format"].to_list())
    assert formats == {"txt", "html", "jsonl"}


def test_the_seed_article_comes_out_exact(tmp_path):
    needs(SEED_DIR)
    expected = json.loads((SEED_DIR / "000_a1afa4b16a1fe23b.expected.json").read_text(encoding="utf-8"))
    assert run_pipeline(SEED_DIR, tmp_path / "out") == 0
    articles = table(tmp_path / "out", "articles")
    assert articles.height == 1
    assert articles["title"][0] == expected["title"]
    assert articles["paragraphs"][0].to_list() == expected["body_paragraphs"]
    removed = table(tmp_path / "out", "removed_lines")["text"].to_list()
    for line in expected["removed_lines"]:
        assert line in removed


def test_every_input_ends_in_exactly_one_table(tmp_path):
    corpus = needs(AEB_DIR / "txt")
    assert run_pipeline(corpus, tmp_path / "out", "extract.ner=false") == 0
    paths = {name: set(table(tmp_path / "out", name)["source_path"].to_list())
             for name in ("articles", "duplicates", "rejects")}
    assert not (paths["articles"] & paths["duplicates"] or paths["articles"] & paths["rejects"]
                or paths["duplicates"] & paths["rejects"])
    inputs = {p.name for p in corpus.iterdir()}
    assert set().union(*paths.values()) == inputs
    assert sum(len(p) for p in paths.values()) == len(inputs) == 121


def test_two_runs_give_byte_identical_parquet(tmp_path):
    sample = REPO / "data" / "raw" / "sample"
    assert run_pipeline(sample, tmp_path / "a") == 0
    assert run_pipeline(sample, tmp_path / "b") == 0
    first, second = parquet_digests(tmp_path / "a"), parquet_digests(tmp_path / "b")
    assert first and first == second
