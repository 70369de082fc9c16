import json

import polars as pl
import pytest

from pipeline import validate
from pipeline.config import load_params
from pipeline.io import read_table
from tests.conftest import REPO
from tests.tables import article, frames, write_stage

SUITES = REPO / "schemas" / "expectations"


def run_validate(tmp_path, tables, *overrides):
    dedup = write_stage({k: tables[k] for k in ("articles", "quotes", "entities", "duplicates")}, tmp_path / "dedup")
    clean = write_stage({"removed_lines": tables["removed_lines"], "rejects": tables["rejects"]}, tmp_path / "clean")
    ingest = write_stage({"rejects": tables["rejects"].clear()}, tmp_path / "ingest")
    params = load_params(None, ["workers=1", *overrides])
    metrics = validate.run(dedup, clean, ingest, tmp_path / "out", params, SUITES, tmp_path / "docs",
                           tmp_path / "metrics.json")
    return metrics, {name: read_table(tmp_path / "out", name) for name in
                     ("articles", "quotes", "entities", "duplicates", "rejects", "removed_lines")}


def test_failing_rows_are_quarantined_with_the_expectation_and_docs_are_written(tmp_path):
    good, bad = article("00000000000000aa"), article("00000000000000bb", language="English!")
    quote = {"article_id": "00000000000000bb", "index": 0, "text": "x", "speaker": None, "start": 0,
             "end": 1, "partial": False, "split": "train"}
    duplicate = {"article_id": "00000000000000cc", "source_path": "cc.txt", "duplicate_of": "00000000000000bb",
                 "kind": "exact", "similarity": 1.0, "split": "train"}
    metrics, out = run_validate(tmp_path, frames([good, bad], quotes=[quote], duplicates=[duplicate]),
                                "validate.max_reject_rate=1")
    assert out["articles"]["id"].to_list() == ["00000000000000aa"]
    assert out["quotes"].is_empty() and out["duplicates"].is_empty()
    rejects = {r["source_path"]: r for r in out["rejects"].iter_rows(named=True)}
    assert rejects["00000000000000bb.txt"]["reason"] == "failed_expectation"
    assert "expect_column_values_to_match_regex(language)" in rejects["00000000000000bb.txt"]["detail"]
    assert "failed validation" in rejects["cc.txt"]["detail"]
    assert metrics["suites"]["articles"]["failed_rows"] == 1
    assert json.loads((tmp_path / "metrics.json").read_text())["counts"]["articles"] == 1
    assert (tmp_path / "docs" / "index.html").is_file()


def test_the_run_fails_after_writing_when_the_reject_rate_is_over_the_threshold(tmp_path):
    rejects = [{"source_path": f"r{i}.txt", "stage": "ingest", "reason": "empty", "detail": "no content"}
               for i in range(3)]
    with pytest.raises(validate.DatasetUnfit, match="reject rate 75.0%"):
        run_validate(tmp_path, frames([article("00000000000000aa")], rejects=rejects),
                     "validate.max_reject_rate=0.5")
    assert json.loads((tmp_path / "metrics.json").read_text())["success"] is False
    metrics, _ = run_validate(tmp_path, frames([article("00000000000000aa")], rejects=rejects),
                              "validate.max_reject_rate=1")
    assert metrics["success"] and metrics["reject_rate"] == 0.75


def test_a_table_level_failure_is_a_bug_not_a_quarantine():
    from pipeline.schema import ARTICLES

    results = [{"type": "expect_table_columns_to_match_ordered_list", "kwargs": {"column_list": ["id"]},
                "success": False, "unexpected_count": 0, "failed_keys": [], "exception": None}]
    with pytest.raises(RuntimeError, match="table-level expectation failed"):
        validate.failed_rows(ARTICLES, results)
