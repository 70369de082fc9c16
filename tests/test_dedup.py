import hashlib
import itertools
import json

import numpy as np
import polars as pl
import pytest

from pipeline import clean, dedup, extract, ingest
from pipeline.config import DedupParams, load_params
from pipeline.io import read_table
from pipeline.sample import SampleSpec, generate
from tests.conftest import REPO


def test_minhash_estimates_jaccard_and_is_deterministic():
    params = DedupParams()
    words = [f"w{i}" for i in range(400)]
    a, b = " ".join(words), " ".join(words[:300] + [f"x{i}" for i in range(100)])
    signatures = dedup.minhash_signatures([a, b, a], params)
    assert (signatures[0] == signatures[2]).all()
    shingles = lambda ws: {tuple(ws[i:i + 5]) for i in range(len(ws) - 4)}  # noqa: E731
    true = len(shingles(a.split()) & shingles(b.split())) / len(shingles(a.split()) | shingles(b.split()))
    estimate = dedup.estimated_jaccard(signatures, np.array([0]), np.array([1]))[0]
    assert abs(estimate - true) < 0.1
    assert (dedup.minhash_signatures([a], params) == signatures[:1]).all()


def test_short_and_empty_bodies_get_a_signature():
    signatures = dedup.minhash_signatures(["", "two words", "two words"], DedupParams())
    assert signatures.shape == (3, 128) and (signatures[1] == signatures[2]).all()


def test_union_find_joins_chains():
    assert dedup.union_find(5, np.array([0, 3]), np.array([1, 4])).tolist() == [0, 0, 2, 3, 3]
    assert dedup.union_find(3, np.array([1, 0]), np.array([2, 1])).tolist() == [0, 0, 0]


def test_splits_follow_the_shares_and_the_canonical_id():
    splits = {"train": 0.8, "validation": 0.1, "test": 0.1}
    chosen = [dedup.split_of(hashlib.sha256(str(i).encode()).hexdigest()[:16], splits) for i in range(5000)]
    shares = {name: chosen.count(name) / 5000 for name in splits}
    assert abs(shares["train"] - 0.8) < 0.03 and abs(shares["test"] - 0.1) < 0.02


def keys_frame(rows):
    return pl.DataFrame(rows, schema={"id": pl.String, "source_path": pl.String,
                                      "published_at": pl.Datetime("us", "UTC"), "word_count": pl.Int64,
                                      "content_sha256": pl.String})


def test_the_canonical_is_the_earliest_then_longest_then_smallest_id():
    from datetime import datetime, timezone

    early = datetime(2024, 1, 1, tzinfo=timezone.utc)
    keys = keys_frame([
        {"id": "c", "source_path": "c", "published_at": None, "word_count": 900, "content_sha256": "h"},
        {"id": "b", "source_path": "b", "published_at": early, "word_count": 10, "content_sha256": "h"},
        {"id": "a", "source_path": "a", "published_at": None, "word_count": 900, "content_sha256": "h"},
        {"id": "z", "source_path": "z", "published_at": None, "word_count": 5, "content_sha256": "k"},
        {"id": "y", "source_path": "y", "published_at": None, "word_count": 5, "content_sha256": "k"},
    ])
    plan = dedup.plan(keys, None, DedupParams())
    canonical = dict(plan.select("id", "canonical").iter_rows())
    assert canonical == {"a": "b", "b": "b", "c": "b", "y": "y", "z": "y"}
    assert plan.filter(pl.col("id") == "a")["kind"].item() == "exact"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated corpus with known copies, run through ingest, clean, extract and dedup."""
    root = tmp_path_factory.mktemp("dedup")
    generate(SampleSpec(n=600, seed=3, exact_rate=0.05, near_rate=0.10, files_per_folder=200), root / "raw")
    params = load_params(None, ["workers=1", "extract.ner=false"])
    ingest.run(root / "raw", root / "ingest", params)
    clean.run(root / "ingest", root / "clean", params, REPO / "schemas" / "lexicons")
    extract.run(root / "clean", root / "extract", params, REPO / "schemas" / "lexicons")
    counts = dedup.run(root / "extract", root / "dedup", params)
    truth = [json.loads(line) for line in (root / "raw.truth.jsonl").read_text().splitlines()]
    return root, truth, counts


def cluster_pairs(groups: dict[str, str]) -> set[frozenset]:
    members: dict[str, list[str]] = {}
    for item, group in groups.items():
        members.setdefault(group, []).append(item)
    return {frozenset(p) for m in members.values() for p in itertools.combinations(sorted(m), 2)}


def test_generated_copies_are_found_with_high_pair_precision_and_recall(generated):
    root, truth, counts = generated
    story_of, originals = {}, {}
    for entry in truth:
        if entry["kind"] == "original":
            originals[entry["story"]] = entry["file"]
            story_of[entry["file"]] = entry["story"]
        else:
            story_of[entry["file"]] = story_of[originals_by_index(truth, entry["copy_of"])]
    articles = read_table(root / "dedup", "articles")
    duplicates = read_table(root / "dedup", "duplicates")
    file_of = {row["id"]: row["source_path"].split("/")[-1][:-4] for row in
               read_table(root / "extract", "articles").iter_rows(named=True)}
    predicted = {file_of[i]: file_of[i] for i in articles["id"]}
    predicted |= {file_of[r["article_id"]]: file_of[r["duplicate_of"]] for r in duplicates.iter_rows(named=True)}
    true_pairs = cluster_pairs({f: str(s) for f, s in story_of.items() if f in predicted})
    found = cluster_pairs(predicted)
    precision = len(found & true_pairs) / len(found)
    recall = len(found & true_pairs) / len(true_pairs)
    print(f"pair precision {precision:.3f} recall {recall:.3f} ({len(true_pairs)} true pairs)")
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)
    assert counts["exact"] + counts["near"] == duplicates.height > 0


def originals_by_index(truth, story_index):
    return next(e["file"] for e in truth if e["kind"] == "original" and e["story"] == story_index)


def test_no_cluster_straddles_splits(generated):
    root, _, _ = generated
    articles = read_table(root / "dedup", "articles")
    duplicates = read_table(root / "dedup", "duplicates")
    split_of = dict(articles.select("id", "split").iter_rows())
    assert all(split_of[r["duplicate_of"]] == r["split"] for r in duplicates.iter_rows(named=True))
    quotes_or_entities = read_table(root / "dedup", "entities")
    assert set(quotes_or_entities["article_id"]) <= set(split_of)
