"""The pipeline on a generated corpus: CI runs the small size, `make test-scale` the large one."""

from __future__ import annotations

import json

import polars as pl
import pytest

from pipeline.sample import SampleSpec, generate
from tests.conftest import run_pipeline


@pytest.mark.parametrize("n", [
    2_000,
    pytest.param(50_000, marks=pytest.mark.scale),
])
def test_a_generated_corpus_is_conserved_and_its_copies_found(tmp_path, n):
    counts = generate(SampleSpec(n=n, seed=11, jsonl_every=3), tmp_path / "raw")
    assert run_pipeline(tmp_path / "raw", tmp_path / "out", "extract.ner=false", "ingest.shard_size=500",
                        "workers=2") == 0
    tables = {name: pl.read_parquet(tmp_path / "out" / name / "*.parquet")
              for name in ("articles", "duplicates")}
    rejects = list((tmp_path / "out" / "rejects").glob("*.parquet"))
    rejected = pl.read_parquet(rejects).height if rejects else 0
    assert tables["articles"].height + tables["duplicates"].height + rejected == n
    copies = counts["exact"] + counts["near"]
    assert tables["duplicates"].height >= 0.95 * copies  # a copy may be the canonical: counted by pairs below
    truth = [json.loads(line) for line in (tmp_path / "raw.truth.jsonl").read_text().splitlines()]
    assert len(truth) == n
