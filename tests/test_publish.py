import hashlib

import duckdb
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
