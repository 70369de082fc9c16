import json

import polars as pl
import pytest

from pipeline import validate
from pipeline.config import load_params
from pipeline.io import read_table
from pipeline.schema import TABLES
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


def test_validating_in_batches_gives_the_one_batch_result(tmp_path):
    ids = [f"{i:016x}" for i in range(1, 7)]
    rows = [article(ids[0]), article(ids[1], language="English!"), article(ids[2]),
            article(ids[3], title=""), article(ids[2], source_path="again.txt"), article(ids[4])]
    quotes = [{"article_id": ids[0], "index": 0, "text": "x", "speaker": None, "start": 0, "end": 1,
               "partial": False, "split": "train"},
              {"article_id": ids[1], "index": 0, "text": "y", "speaker": None, "start": 0, "end": 1,
               "partial": False, "split": "train"},
              {"article_id": ids[0], "index": 0, "text": "z", "speaker": None, "start": 2, "end": 1,
               "partial": False, "split": "train"}]
    duplicates = [{"article_id": ids[5], "source_path": "d.txt", "duplicate_of": ids[1], "kind": "near",
                   "similarity": 0.8, "split": "train"}]
    removed = [{"article_id": ids[0], "line_no": n, "text": "Advertisement", "reason": "boilerplate"}
               for n in (0, 1, 1)]
    tables = frames(rows, quotes=quotes, duplicates=duplicates, removed_lines=removed)
    whole_metrics, whole = run_validate(tmp_path / "whole", tables, "validate.max_reject_rate=1")
    dedup = write_stage({k: tables[k] for k in ("articles", "quotes", "entities", "duplicates")}, tmp_path / "dedup")
    clean = write_stage({"removed_lines": tables["removed_lines"], "rejects": tables["rejects"]}, tmp_path / "clean")
    ingest = write_stage({"rejects": tables["rejects"].clear()}, tmp_path / "ingest")
    params = load_params(None, ["workers=1", "validate.max_reject_rate=1"])
    batched_metrics = validate.run(dedup, clean, ingest, tmp_path / "batched", params, SUITES, tmp_path / "docs",
                                   tmp_path / "metrics.json", batch_bytes=1)
    assert len(validate.table_parts(tmp_path / "batched", "articles")) == len(rows)
    assert batched_metrics == whole_metrics
    assert whole_metrics["suites"]["articles"]["failed_rows"] == 3
    assert whole_metrics["suites"]["quotes"]["failed_rows"] == 1
    assert whole_metrics["suites"]["removed_lines"]["failed_rows"] == 1
    for name, frame in whole.items():
        batched = TABLES[name].conform(read_table(tmp_path / "batched", name))
        assert batched.equals(TABLES[name].conform(frame)), name
    assert (tmp_path / "docs" / "index.html").is_file()


def test_merged_batch_results_equal_the_one_batch_result(tmp_path):
    ids = [f"{i:016x}" for i in range(1, 5)]
    frame = TABLES["articles"].conform(pl.DataFrame(
        [article(ids[0]), article(ids[1], language="English!"), article(ids[0], source_path="x.txt"),
         article(ids[2]), article(ids[2], source_path="y.txt"), article(ids[3])],
        schema=TABLES["articles"].polars_schema))
    suite = validate.load_suite(SUITES, "articles")

    def results(batch_bytes, folder):
        found, rows, _ = validate.validate_table(validate.SuiteRunner(None), TABLES["articles"], iter([frame.slice(0, 3), frame.slice(3)]),
                                                 suite, tmp_path / folder, batch_bytes)
        return rows, [r | {"failed_keys": sorted(r["failed_keys"])} for r in found]

    one_batch, batched = results(2**30, "one"), results(1, "batched")
    assert batched == one_batch
    unique = next(r for r in one_batch[1] if r["type"] == "expect_column_values_to_be_unique")
    assert unique["failed_keys"] == [(ids[0],), (ids[0],), (ids[2],), (ids[2],)]
