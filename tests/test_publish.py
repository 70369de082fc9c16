import hashlib
import re
import subprocess

import duckdb
import polars as pl
import pytest
import yaml

from pipeline import publish
from pipeline.config import load_params
from tests.tables import article, frames, write_stage


def build(tmp_path, name="out", *overrides):
    tables = frames(
        [article("00000000000000a1", "Alpha body words.", "train", language="en", outlets=["Reuters"]),
         article("00000000000000a2", "Beta body words here.", "test", language="fr"),
         article("00000000000000a3", "Gamma words.", "train", language="en")],
        quotes=[{"article_id": "00000000000000a1", "index": 0, "text": "Alpha", "speaker": "Ana Ruiz",
                 "start": 0, "end": 5, "partial": True, "split": "train"}],
        duplicates=[{"article_id": "00000000000000d1", "source_path": "d1.txt", "duplicate_of": "00000000000000a1",
                     "kind": "exact", "similarity": 1.0, "split": "train"}],
        rejects=[{"source_path": "x.bin", "stage": "ingest", "reason": "binary", "detail": "NUL bytes"}],
    )
    stage = write_stage(tables, tmp_path / f"validate-{name}")
    params = load_params(None, ["workers=1", *overrides])
    metrics = publish.run(stage, tmp_path / name, params, tmp_path / f"{name}.json")
    return tmp_path / name, metrics


def digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    return build(tmp_path_factory.mktemp("publish"))


def test_every_config_loads_with_datasets_offline_and_matches_duckdb(published, tmp_path):
    import datasets

    folder, metrics = published
    # entities and removed_lines have no rows here: `datasets` cannot load an empty config
    assert datasets.get_dataset_config_names(str(folder)) == ["articles", "quotes", "duplicates", "rejects"]
    articles = datasets.load_dataset(str(folder), "articles", cache_dir=str(tmp_path / "hf"))
    assert {k: v.num_rows for k, v in articles.items()} == {"train": 2, "test": 1}
    assert articles["train"].features["authors"].feature.dtype in ("string", "large_string")
    for config in ("quotes", "duplicates", "rejects"):
        datasets.load_dataset(str(folder), config, cache_dir=str(tmp_path / "hf"))
    con = duckdb.connect(str(folder / "news-articles.duckdb"), read_only=True)
    assert con.execute("select count(*) from articles").fetchall() == [(3,)]
    assert con.execute("select * from articles_by_language").fetchall() == [("en", 2, 5), ("fr", 1, 4)]
    assert con.execute("select * from cited_outlets").fetchall() == [("Reuters", 1)]
    assert con.execute("select * from quotes_per_speaker").fetchall() == [("Ana Ruiz", 1, 1)]
    assert dict(con.execute("select key, value from release_info").fetchall())["version"] == "0.1.0"
    assert metrics["articles_by_split"] == {"train": 2, "test": 1}


def test_the_card_header_records_exact_split_sizes(published):
    folder, _ = published
    text = (folder / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(text.split("---\n")[1])
    info = {i["config_name"]: i for i in header["dataset_info"]}
    assert {s["name"]: s["num_examples"] for s in info["articles"]["splits"]} == {"train": 2, "test": 1}
    assert header["version"] == "0.1.0" and header["license"] == "cc-by-4.0"
    assert header["configs"][0] == {"config_name": "articles", "default": True, "data_files": [
        {"split": "train", "path": "articles/train-*.parquet"},
        {"split": "test", "path": "articles/test-*.parquet"}]}


def test_rebuilding_gives_byte_identical_parquet(published, tmp_path):
    folder, _ = published
    again, _ = build(tmp_path, "again")
    assert digests(folder) == digests(again)
    assert len(digests(folder)) == 2 + 1 + 1 + 1 + 1  # articles train/test, quotes, duplicates, rejects, index


def test_files_are_split_by_rows_per_file(tmp_path):
    folder, _ = build(tmp_path, "small", "publish.rows_per_file=1")
    assert sorted(p.name for p in (folder / "articles").iterdir()) == [
        "test-00000-of-00001.parquet", "train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]


VALIDATION = {"success": True, "suites": {
    "articles": {"rows": 3, "failed_rows": 0, "expectations": 24, "failed_expectations": 0},
    "quotes": {"rows": 1, "failed_rows": 0, "expectations": 12, "failed_expectations": 0},
    "rejects": {"rows": 1, "failed_rows": 0, "expectations": 8, "failed_expectations": 0}}}


def ingest_folder(tmp_path, name, sha_of_a1="aa"):
    """An ingest stage folder: documents with the sha256 of their bytes, and one reject."""
    import polars as pl

    from pipeline.io import write_parquet

    folder = tmp_path / name
    documents = pl.DataFrame({"source_path": ["00000000000000a2.txt", "00000000000000a1.txt", "d1.txt",
                                              "00000000000000a3.txt"],
                              "source_sha256": ["bb", sha_of_a1, "dd", "cc"]})
    write_parquet(documents, folder / "documents" / "part-00000.parquet")
    write_parquet(pl.DataFrame({"source_path": ["x.bin"]}), folder / "rejects" / "part-00000.parquet")
    return folder


def card_of(tmp_path, name, **run_args):
    from datetime import datetime, timezone

    march, june = (datetime(2024, m, 5, tzinfo=timezone.utc) for m in (3, 6))
    tables = frames(
        [article("00000000000000a1", "Alpha " * 120, "train", url="https://www.example.org/a",
                 domain="example.org", published_at=march),
         article("00000000000000a2", "Beta body words here.", "test", language="fr",
                 domain="example.org", published_at=june),
         article("00000000000000a3", "Gamma words.", "train", published_at=march)],
        duplicates=[{"article_id": "00000000000000d1", "source_path": "d1.txt", "duplicate_of": "00000000000000a1",
                     "kind": "near", "similarity": 0.8125, "split": "train"}],
        rejects=[{"source_path": "x.bin", "stage": "ingest", "reason": "binary", "detail": "NUL bytes"}],
        removed_lines=[{"article_id": "00000000000000a1", "line_no": n, "text": "Share this", "reason": reason}
                       for n, reason in ((1, "boilerplate"), (2, "boilerplate"), (3, "caption"))],
    )
    stage = write_stage(tables, tmp_path / f"validate-{name}")
    publish.run(stage, tmp_path / name, load_params(None, ["workers=1"]), None, **run_args)
    return (tmp_path / name / "README.md").read_text(encoding="utf-8"), tmp_path / name


def test_the_card_states_statistics_and_how_it_was_built(tmp_path):
    import json

    (tmp_path / "validation.json").write_text(json.dumps(VALIDATION))
    card, folder = card_of(tmp_path, "card", validation_metrics=tmp_path / "validation.json",
                           ingest_dir=ingest_folder(tmp_path, "ingest"))
    for row in ("| en | 2 | 66.7 |", "| fr | 1 | 33.3 |",                    # by language
                "| 2024-03 | 2 |\n| 2024-06 | 1 |",                          # by month
                "| example.org | 2 | 66.7 |", "| (no URL) | 1 | 33.3 |",      # by domain
                "| 0-99 | 2 | 66.7 |", "| 100-199 | 1 | 33.3 |", "| 3200+ | 0 | 0.0 |",  # length
                "| near | 1 | 0.812 |",                                        # duplicates
                "| ingest | binary | 1 |",                                     # rejects
                "| boilerplate | 2 |\n| caption | 1 |",                        # removed lines
                "| articles | 24 | 0 | 3 | 0 |", "| rejects | 8 | 0 | 1 | 0 |",  # GX suites
                "| validation | `passed` |"):
        assert row in card, row
    facts = dict(re.findall(r"^\| (\w+) \| `([^`]*)` \|$", card, re.M))
    assert facts["code_version"] and re.fullmatch(r"[0-9a-f]{16}", facts["params_sha256"])
    assert re.fullmatch(r"[0-9a-f]{16} \(paths and bytes of every input\)", facts["input_fingerprint"])
    assert card.index("## How it was built") < card.index("## Statistics")
    assert (folder / "plots" / "articles_per_month.csv").read_text() == (  # a time axis without gaps
        "month,articles\n2024-03,2\n2024-04,0\n2024-05,0\n2024-06,1\n")
    assert (folder / "plots" / "length_histogram.csv").read_text().startswith("words,articles\n0-99,2\n100-199,1\n")


def test_the_input_fingerprint_follows_the_bytes_of_the_inputs(tmp_path):
    def fingerprint(name, sha_of_a1):
        card, _ = card_of(tmp_path, name, ingest_dir=ingest_folder(tmp_path, f"ingest-{name}", sha_of_a1))
        return re.search(r"\| input_fingerprint \| `(\w+)", card).group(1)

    assert fingerprint("one", "aa") == fingerprint("same", "aa") != fingerprint("edited", "ab")


def test_without_validation_metrics_the_card_says_so(tmp_path):
    card, _ = card_of(tmp_path, "bare")
    assert "Not recorded (publish ran without the validation metrics)." in card
    assert "(paths of every input)" in card


def test_the_params_hash_ignores_run_settings_but_not_data_settings():
    base = publish.output_params(load_params(None))
    assert publish.output_params(load_params(None, ["workers=1", "executor=ray", "cache.enabled=false"])) == base
    assert publish.output_params(load_params(None, ["dedup.threshold=0.7"])) != base


def test_the_metrics_file_is_the_same_whether_the_release_was_written_or_already_there(tmp_path):
    stage_dir = write_stage(frames([article("a" * 16, "Body of one story with several words.", "train")]),
                            tmp_path / "stage")
    params = load_params(None)
    first = publish.run(stage_dir, tmp_path / "out", params, tmp_path / "first.json")
    again = publish.run(stage_dir, tmp_path / "out", params, tmp_path / "again.json")
    assert (first["unchanged"], again["unchanged"]) == (False, True)
    assert (tmp_path / "first.json").read_bytes() == (tmp_path / "again.json").read_bytes()


def test_the_code_version_is_dirty_only_for_uncommitted_code(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "a.py").write_text("x = 1\n")
    (tmp_path / "dvc.lock").write_text("one\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    (tmp_path / "dvc.lock").write_text("two\n")
    assert not publish.code_version(tmp_path).endswith("-dirty")
    (tmp_path / "pipeline" / "a.py").write_text("x = 2\n")
    assert publish.code_version(tmp_path).endswith("-dirty")


def test_config_files_are_sorted_by_key_and_do_not_depend_on_sharding_or_spilling(tmp_path):
    from pipeline.io import shard_part_name, write_parquet
    from pipeline.schema import TABLES
    from tests.tables import article

    table = TABLES["articles"]
    rows = [article(f"{i * 7919 % 1000:016x}", f"Body {i} " + "word " * (i % 13), ("train", "test", "train")[i % 3])
            for i in range(100)]
    written = []
    for shards, spill_bytes in ((1, 10**9), (7, 10**9), (7, 1)):
        stage = tmp_path / f"parts-{shards}-{spill_bytes}"
        for index in range(shards):  # rows dealt round-robin: every shard holds keys from everywhere
            write_parquet(pl.DataFrame(rows[index::shards], schema=table.polars_schema),
                          stage / shard_part_name(index))
        out = tmp_path / f"out-{shards}-{spill_bytes}"
        out.mkdir()
        parts = sorted(stage.glob("*.parquet"))
        layout = publish.write_config(parts, table, out, ["train", "validation", "test"], 15, spill_bytes=spill_bytes)
        assert {split: info["num_examples"] for split, info in layout.items()} == {"train": 67, "test": 33}
        assert [p.name for p in layout["train"]["files"]] == [f"train-{i:05d}-of-00005.parquet" for i in range(5)]
        train = pl.concat([pl.read_parquet(p) for p in layout["train"]["files"]])
        assert train["id"].to_list() == sorted(r["id"] for r in rows if r["split"] == "train")
        assert [pl.read_parquet(p).height for p in layout["train"]["files"]] == [15, 15, 15, 15, 7]
        written.append({p.name: p.read_bytes() for info in layout.values() for p in info["files"]})
    assert written[0] == written[1] == written[2]
