"""The article cache: builds from it give the same bytes as full builds, new articles are the only
ones computed, and a line turning into a site template, a changed param or changed code recompute
exactly what they affect. Counts come from the stages' cache_hits / cache_misses."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from pipeline import clean, extract, ingest
from pipeline.cache import RecordingSet, module_files
from pipeline.config import load_params
from tests.conftest import REPO

LEXICONS = REPO / "schemas" / "lexicons"
TEMPLATE = "Subscribe to the Harbour Gazette morning letter"
PLACES = ("Aldmoor", "Brisk Hollow", "Carrow", "Dunmere", "Elsford", "Fenwick", "Garth", "Holloway",
          "Ivybridge", "Jessop", "Kettering Vale", "Lowmarsh", "Midhurst", "Northam", "Oakhanger")
SUBJECTS = ("ferry timetable", "library roof", "tram depot", "sea wall", "market hall", "school bus route",
            "reservoir dam", "cycle lane", "fire station", "harbour crane", "town museum", "water mains")


def article(i: int, extra_line: str | None = None) -> str:
    """A plain-text article about one place and subject, with the site's template line."""
    place, subject = PLACES[i % len(PLACES)], SUBJECTS[(i * 5) % len(SUBJECTS)]
    paragraphs = [
        f"Residents of {place} met on Thursday evening to discuss the future of the {subject}, "
        f"which the district council wants to replace within {i + 3} years at a cost of {i + 11} million.",
        f"The meeting in {place} lasted for more than {i + 2} hours, and many of those who spoke said "
        f"they had not been asked about the {subject} before the plans were published in the spring.",
        f"Council officers said the {subject} in {place} was in poor condition and that repairs would "
        f"cost almost as much as a new one, but they promised a second consultation before any vote.",
    ]
    lines = [f"{subject.capitalize()} plan divides {place} ({i})", "", TEMPLATE, ""]
    if extra_line:
        lines += [extra_line, ""]
    return "\n".join(lines + [p + "\n" for p in paragraphs])


def write_corpus(folder: Path, articles: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def build(raw: Path, work: Path, cache: Path, *overrides: str, lexicons: Path = LEXICONS) -> dict:
    """ingest -> clean -> extract of `raw` into `work` (fresh) with the cache at `cache`."""
    params = load_params(REPO / "params.yaml", ["workers=1", "ingest.shard_size=4", f"paths.cache={cache}",
                                               *overrides])
    shutil.rmtree(work, ignore_errors=True)
    ingest.run(raw, work / "ingest", params)
    return {"clean": clean.run(work / "ingest", work / "clean", params, lexicons),
            "extract": extract.run(work / "clean", work / "extract", params, lexicons)}


def digests(work: Path) -> dict[str, str]:
    return {p.relative_to(work).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for stage in ("clean", "extract") for p in sorted((work / stage).rglob("*.parquet"))}


def misses(counts: dict) -> tuple[int, int]:
    return counts["clean"]["cache_misses"], counts["extract"]["cache_misses"]


@pytest.fixture()
def corpus(tmp_path) -> dict[str, str]:
    # "c" names sort between the "a" and "e" files added later, so shard boundaries move
    return {f"c{i:02d}.txt": article(i) for i in range(10)}


def test_builds_from_the_cache_give_the_bytes_of_a_full_build(tmp_path, corpus):
    raw = write_corpus(tmp_path / "raw", corpus)
    full = build(raw, tmp_path / "full", tmp_path / "cache", "cache.enabled=false")
    assert "cache_hits" not in full["clean"]
    assert not (tmp_path / "cache").exists()
    cold = build(raw, tmp_path / "cold", tmp_path / "cache")
    warm = build(raw, tmp_path / "warm", tmp_path / "cache")
    assert misses(cold) == (10, 10)
    assert misses(warm) == (0, 0) and warm["clean"]["cache_hits"] == warm["extract"]["cache_hits"] == 10
    assert digests(tmp_path / "full") == digests(tmp_path / "cold") == digests(tmp_path / "warm")
    assert len(digests(tmp_path / "full")) == 3 * 2 * 3  # three shards of three tables per stage


def test_added_articles_are_the_only_ones_computed(tmp_path, corpus):
    raw = write_corpus(tmp_path / "raw", corpus)
    build(raw, tmp_path / "before", tmp_path / "cache")
    write_corpus(raw, {"a00.txt": article(10), "e00.txt": article(11), "e01.txt": article(12)})
    after = build(raw, tmp_path / "after", tmp_path / "cache")
    assert misses(after) == (3, 3)
    assert after["clean"]["cache_hits"] == after["extract"]["cache_hits"] == 10
    build(raw, tmp_path / "full", tmp_path / "other-cache", "cache.enabled=false")
    assert digests(tmp_path / "after") == digests(tmp_path / "full")


def test_a_line_becoming_a_template_recleans_exactly_the_articles_with_it(tmp_path, corpus):
    teaser = "More from the coast desk every weekday morning"
    corpus |= {"c02.txt": article(2, teaser), "c07.txt": article(7, teaser)}  # in 2 documents: kept
    raw = write_corpus(tmp_path / "raw", corpus)
    before = build(raw, tmp_path / "before", tmp_path / "cache")
    assert before["clean"]["templates"] == 1
    write_corpus(raw, {"e00.txt": article(11, teaser)})  # in 3 documents: a template now
    after = build(raw, tmp_path / "after", tmp_path / "cache")
    assert after["clean"]["templates"] == 2
    assert after["clean"]["cache_misses"] == 3 and after["clean"]["cache_hits"] == 8
    build(raw, tmp_path / "full", tmp_path / "other-cache", "cache.enabled=false")
    assert digests(tmp_path / "after") == digests(tmp_path / "full")


def test_a_changed_param_or_lexicon_recomputes_the_stage_it_belongs_to(tmp_path, corpus):
    raw = write_corpus(tmp_path / "raw", corpus)
    lexicons = shutil.copytree(LEXICONS, tmp_path / "lexicons")
    build(raw, tmp_path / "first", tmp_path / "cache", lexicons=lexicons)
    changed_param = build(raw, tmp_path / "param", tmp_path / "cache", "clean.min_body_words=30", lexicons=lexicons)
    assert changed_param["clean"]["cache_misses"] == 10
    assert changed_param["extract"]["cache_hits"] == 10  # same clean documents, same extract params
    changed_extract = build(raw, tmp_path / "ner", tmp_path / "cache", "extract.ner=false", lexicons=lexicons)
    assert misses(changed_extract) == (0, 10)
    with (lexicons / "boilerplate" / "en.txt").open("a", encoding="utf-8") as lexicon:
        lexicon.write("\nan invented widget phrase\n")
    assert misses(build(raw, tmp_path / "lexicon", tmp_path / "cache", lexicons=lexicons)) == (10, 10)
    assert len(list((tmp_path / "cache" / "clean").iterdir())) == 2  # cache.keep versions per stage


def test_a_corpus_without_documents_runs_and_caches_nothing(tmp_path):
    raw = write_corpus(tmp_path / "raw", {"notes.md": "Not an article: an unsupported format."})
    assert misses(build(raw, tmp_path / "work", tmp_path / "cache")) == (0, 0)
    assert not (tmp_path / "cache").exists()


def test_the_code_version_covers_the_stage_module_and_what_it_imports():
    names = {p.name for p in module_files("extract")}
    assert {"extract.py", "fields.py", "quotes.py", "entities.py", "text.py", "schema.py"} <= names
    assert "dedup.py" not in names and "publish.py" not in names


def test_a_recording_set_reports_what_was_asked_and_found():
    keys = RecordingSet(frozenset({1, 2}))
    assert keys and 2 in keys and 5 not in keys
    assert keys.take() == ([2, 5], [2])
    assert keys.take() == ([], [])
    assert RecordingSet(frozenset())  # an empty set is asked too: it may have members next time
