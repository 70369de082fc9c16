"""Hostile inputs: every file ends in exactly one table, the run finishes, exit codes mean something."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.schema import TABLES
from tests.conftest import run_pipeline
from tests.hostile import expected_inputs, write_hostile_corpus


def table(folder, name) -> pl.DataFrame:
    files = sorted((folder / name).glob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]) if files else TABLES[name].empty_frame()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    kinds = write_hostile_corpus(root / "raw")
    code = run_pipeline(root / "raw", root / "out", "validate.max_reject_rate=1")
    return root, kinds, code


def test_a_hostile_corpus_publishes_and_exits_0_when_allowed(hostile):
    root, kinds, code = hostile
    assert code == 0
    assert len(kinds) >= 35
    assert table(root / "out", "articles").height > 0


def test_every_hostile_input_ends_in_exactly_one_table(hostile):
    root, _, _ = hostile
    seen: dict[str, list[str]] = {}
    for name in ("articles", "duplicates", "rejects"):
        for path in table(root / "out", name)["source_path"].to_list():
            seen.setdefault(path, []).append(name)
    assert set(seen) == expected_inputs(root / "raw")
    assert {path: places for path, places in seen.items() if len(places) > 1} == {}


def test_rejects_say_why(hostile):
    root, _, _ = hostile
    reasons = dict(table(root / "out", "rejects").select("source_path", "reason").iter_rows())
    assert reasons["empty.txt"] == reasons["whitespace.txt"] == "empty"
    assert reasons["binary.txt"] == reasons["nul.txt"] == "binary"
    assert reasons["truncated.txt.gz"] == reasons["corrupt.html.gz"] == "corrupt_gzip"
    assert reasons["huge.txt"] == "too_many_lines"
    assert reasons["loop-a.txt"] == "unreadable"
    assert reasons["scrape.jsonl#2"] == "invalid_json" and reasons["scrape.jsonl#7"] == "invalid_json"
    assert reasons["scrape.jsonl#4"] == "missing_text"
    assert reasons["cookie-wall.txt"] == reasons["one-line.txt"] == "not_article"
    assert reasons["feed.json"] == "unsupported_format"


def test_odd_names_and_encodings_are_articles_or_duplicates(hostile):
    root, _, _ = hostile
    kept = set(table(root / "out", "articles")["source_path"].to_list()) | set(
        table(root / "out", "duplicates")["source_path"].to_list())
    for name in ("with space.txt", "ünïcødé-名前.txt", "new\nline.txt", "-leading-dash.txt", "a/same.txt",
                 "b/same.txt", "utf16-bom.txt", "utf16-le.txt", "latin1.txt", "mixed.txt", "deep.html",
                 "bomb.html", "script.html", "unclosed.html", "finnish.txt", "scrape.jsonl#8"):
        assert name in kept, name
    languages = dict(table(root / "out", "articles").select("source_path", "language").iter_rows())
    assert languages["finnish.txt"] == "fi"


def test_the_run_fails_with_exit_1_when_the_reject_rate_is_too_high(tmp_path):
    write_hostile_corpus(tmp_path / "raw", huge_mb=1)
    assert run_pipeline(tmp_path / "raw", tmp_path / "out", "validate.max_reject_rate=0.1") == 1
    assert not (tmp_path / "out").exists()
