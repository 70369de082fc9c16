import gzip
import json

import polars as pl
import pytest

from pipeline import ingest
from pipeline.config import IngestParams, load_params
from pipeline.io import read_table
from pipeline.reasons import RejectReason

ARTICLE = "Headline here\n\nFirst paragraph of the story with enough words.\n"


def ingest_dir(tmp_path, files: dict[str, bytes], **limits):
    raw = tmp_path / "raw"
    for name, data in files.items():
        path = raw / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    params = load_params(None, ["workers=1"] + [f"ingest.{k}={v}" for k, v in limits.items()])
    counts = ingest.run(raw, tmp_path / "out", params)
    return read_table(tmp_path / "out", "documents"), read_table(tmp_path / "out", "rejects"), counts


def reasons(rejects: pl.DataFrame) -> dict[str, str]:
    return dict(rejects.select("source_path", "reason").iter_rows())


def test_every_format_and_its_gzip_becomes_a_document(tmp_path):
    record = json.dumps({"id": "r1", "url": "https://example.org/a", "title": "T", "text": ARTICLE,
                         "published": "2024-03-01", "authors": ["Ana Ruiz"]})
    docs, rejects, counts = ingest_dir(tmp_path, {
        "000_a1afa4b16a1fe23b.txt": ARTICLE.encode(),
        "page.html": b"<html><head><title>T</title></head><body><p>Hi</p></body></html>",
        "old.htm": b"<html><body><p>Hello</p></body></html>",
        "feed.jsonl": (record + "\n").encode(),
        "sub/x.txt.gz": gzip.compress(ARTICLE.encode(), mtime=0),
        "sub/y.jsonl.gz": gzip.compress((record + "\n").encode(), mtime=0),
    })
    assert rejects.is_empty()
    assert counts == {"inputs": 6, "documents": 6, "rejects": 0, "shards": 1}
    by_path = {row["source_path"]: row for row in docs.iter_rows(named=True)}
    assert by_path["000_a1afa4b16a1fe23b.txt"]["source_id"] == "a1afa4b16a1fe23b"
    assert by_path["page.html"]["content_type"] == "html"
    assert by_path["old.htm"]["source_format"] == "html"
    jsonl = by_path["feed.jsonl#1"]
    assert (jsonl["source_id"], jsonl["url"], jsonl["meta_title"], jsonl["meta_published"],
            jsonl["meta_authors"]) == ("r1", "https://example.org/a", "T", "2024-03-01", ["Ana Ruiz"])
    assert by_path["sub/x.txt.gz"]["raw_text"] == ARTICLE
    assert docs["id"].n_unique() == 6


@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", RejectReason.EMPTY),
    ("blank.txt", b" \n\t\n ", RejectReason.EMPTY),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, RejectReason.BINARY),
    ("notes.md", b"# notes", RejectReason.UNSUPPORTED_FORMAT),
    ("bad.txt.gz", b"\x1f\x8b\x08\x00garbage", RejectReason.CORRUPT_GZIP),
    ("cut.txt.gz", gzip.compress(ARTICLE.encode() * 50, mtime=0)[:40], RejectReason.CORRUPT_GZIP),
])
def test_unusable_files_become_rejects_with_a_reason(tmp_path, name, data, reason):
    docs, rejects, _ = ingest_dir(tmp_path, {name: data})
    assert docs.is_empty()
    assert reasons(rejects) == {name: reason}
    assert rejects["stage"].to_list() == ["ingest"]
    assert rejects["detail"].str.len_chars().min() > 0


def test_size_and_line_limits_are_enforced_before_parsing(tmp_path):
    _, rejects, _ = ingest_dir(tmp_path, {"big.txt": b"x" * 2000, "long.txt": b"a\n" * 50,
                                          "bomb.txt.gz": gzip.compress(b"a" * 5000, mtime=0)},
                               max_file_bytes=1000, max_lines=10, max_decompressed_bytes=3000)
    assert reasons(rejects) == {"big.txt": "too_large", "long.txt": "too_many_lines",
                                "bomb.txt.gz": "too_large"}


@pytest.mark.parametrize("data, expected", [
    ("Caf\u00e9 \u201cquoted\u201d".encode("utf-16"), "Caf\u00e9 \u201cquoted\u201d"),
    ("Caf\u00e9 and more text".encode("utf-16-le"), "Caf\u00e9 and more text"),
    ("Caf\u00e9 \u2019".encode("cp1252"), "Caf\u00e9 \u2019"),
    ("Caf\u00e9".encode("latin-1") + b"\x81", "Caf\u00e9\x81"),
    (b"\xef\xbb\xbfBOM text", "BOM text"),
])
def test_text_encodings_are_detected(data, expected):
    assert ingest.decode_text(data) == expected


def test_jsonl_contributes_one_row_per_line(tmp_path):
    lines = [json.dumps({"id": "a", "text": ARTICLE}), "{not json", json.dumps([1, 2]),
             json.dumps({"id": "b", "text": ""}), "", json.dumps({"id": "c", "html": "<p>x</p>"})]
    docs, rejects, _ = ingest_dir(tmp_path, {"s.jsonl": "\n".join(lines).encode()})
    assert sorted(docs["source_path"].to_list()) == ["s.jsonl#1", "s.jsonl#6"]
    assert dict(docs.select("source_path", "content_type").iter_rows()) == {"s.jsonl#1": "text",
                                                                            "s.jsonl#6": "html"}
    assert reasons(rejects) == {"s.jsonl#2": "invalid_json", "s.jsonl#3": "invalid_json",
                                "s.jsonl#4": "missing_text"}


def test_ids_are_stable_and_come_from_the_path(tmp_path):
    first, _, _ = ingest_dir(tmp_path / "a", {"x/1.txt": ARTICLE.encode()})
    second, _, _ = ingest_dir(tmp_path / "b", {"x/1.txt": (ARTICLE + "edited").encode()})
    assert first["id"].to_list() == second["id"].to_list()
    assert first["source_sha256"].to_list() != second["source_sha256"].to_list()


def test_shards_split_the_inputs(tmp_path):
    files = {f"{i:03d}.txt": ARTICLE.encode() for i in range(5)}
    docs, _, counts = ingest_dir(tmp_path, files, shard_size=2)
    assert counts["shards"] == 3
    assert len(list((tmp_path / "out" / "documents").glob("part-*.parquet"))) == 3
    assert docs.height == 5


def test_broken_symlink_is_rejected_as_unreadable(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "gone.txt").symlink_to(raw / "missing.txt")
    result = ingest.ShardResult()
    ingest.ingest_file(raw, "gone.txt", IngestParams(), result)
    assert [r["reason"] for r in result.rejects] == ["unreadable"]
