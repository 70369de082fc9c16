"""Time and memory of the dedup stage at 100k and 1M articles (about 300 words each).

    .venv/bin/python bench/dedup_scale.py                       # N = 100k and 1M, 2 workers
    .venv/bin/python bench/dedup_scale.py --sizes 100000        # one size
    .venv/bin/python bench/dedup_scale.py --workers 1

For each N an extract-stage folder of synthetic articles is generated once (cached under
bench/work/dedup-scale/, shards of 1000 like ingest's default) and `pipeline.dedup.run` is timed in
a fresh process, step by step (signatures in the worker pool, gathering, bucketing, verification,
clusters/canonical/splits, writing the shards). Peak RSS is the sum over the process tree (main
process and pool workers), sampled every 20 ms; CPU seconds include the pool workers; the load
average before the run is recorded because wall times on a shared machine depend on it. Results go
to bench/results/dedup_scale.json.

The text: pseudo-words drawn from a Zipf-Mandelbrot law (s = 1, q = 2.7, 40k words), sentences of
8-25 words with capitals, commas, full stops and sometimes curly quotes, paragraphs of 2-5
sentences. 30% of articles carry one or two sentences from a pool of 300 shared "wire" sentences
(partial overlaps that fill LSH buckets); 5% are edited copies (a sentence rewritten, a paragraph
dropped, a boilerplate line added) and 2% exact copies of an article of the same shard; their
truth is kept beside the shards so the bench also reports how many injected copies were found.
Random Zipf text shares fewer 5-word shingles between unrelated articles than real news does,
so real corpora will produce more candidate pairs than this one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline import dedup  # noqa: E402
from pipeline.config import load_params  # noqa: E402
from pipeline.executor import map_shards  # noqa: E402
from pipeline.io import shard_part_name, write_parquet  # noqa: E402
from pipeline.schema import ARTICLES, ENTITIES, QUOTES  # noqa: E402

WORK = REPO / "bench" / "work" / "dedup-scale"
RESULTS = REPO / "bench" / "results" / "dedup_scale.json"
SHARD = 1000
GENERATOR_VERSION = "1"
SYLLABLES = ("ka", "lo", "mi", "ten", "ra", "vo", "sel", "du", "ne", "tor", "ba", "fi", "gra", "hul", "is",
             "jo", "ker", "lan", "mor", "nu", "pe", "qua", "ris", "sa", "tu", "ul", "ven", "wen", "xo", "yr",
             "zan", "bre", "cha", "dro", "el", "fen", "gol", "har", "ix", "jun")


def vocabulary(size: int = 40_000) -> tuple[np.ndarray, np.ndarray]:
    """(distinct pseudo-words, cumulative Zipf-Mandelbrot probabilities), the same every call."""
    rng = np.random.default_rng(12345)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        word = "".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), rng.integers(1, 5)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    weights = 1.0 / (np.arange(size) + 2.7)
    return np.array(words, dtype=object), np.cumsum(weights / weights.sum())


def sentence(rng: np.random.Generator, words: np.ndarray, cdf: np.ndarray) -> str:
    picked = words[np.searchsorted(cdf, rng.random(rng.integers(8, 26)))].tolist()
    if len(picked) > 10 and rng.random() < 0.5:
        picked[rng.integers(3, len(picked) - 3)] += ","
    text = " ".join(picked)
    text = text[0].upper() + text[1:] + "."
    return f"\u201c{text}\u201d" if rng.random() < 0.08 else text


def article_paragraphs(rng, words, cdf, shared: list[str]) -> list[str]:
    target = int(np.clip(rng.normal(300, 60), 60, 800))
    paragraphs, count = [], 0
    while count < target:
        sentences = [sentence(rng, words, cdf) for _ in range(rng.integers(2, 6))]
        if shared and rng.random() < 0.1:
            sentences.insert(rng.integers(0, len(sentences) + 1), shared[rng.integers(0, len(shared))])
        paragraphs.append(" ".join(sentences))
        count += sum(s.count(" ") + 1 for s in sentences)
    return paragraphs


def edited_copy(rng, paragraphs: list[str], words, cdf) -> list[str]:
    copy = list(paragraphs)
    p = int(rng.integers(0, len(copy)))
    parts = copy[p].split(". ")
    parts[int(rng.integers(0, len(parts)))] = sentence(rng, words, cdf).rstrip(".")
    copy[p] = ". ".join(parts)
    if len(copy) > 3 and rng.random() < 0.5:
        del copy[int(rng.integers(1, len(copy)))]
    copy.append("Copyright Valley Wire. Republished with permission.")
    return copy


def generate_shard(out_dir: str, index: int, size: int) -> int:
    """Write shard `index` (articles, empty quotes and entities, truth); return its row count."""
    rng = np.random.default_rng([7, index])
    words, cdf = vocabulary()
    shared_rng = np.random.default_rng(99)
    shared = [sentence(shared_rng, words, cdf) for _ in range(300)]
    rows, truth = [], []
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    for number in range(size):
        article_id = hashlib.sha256(f"bench/{index}/{number}".encode()).hexdigest()[:16]
        roll = rng.random()
        if number > 10 and roll < 0.07:
            source = rows[int(rng.integers(0, len(rows)))]
            paragraphs = source["paragraphs"] if roll < 0.02 else edited_copy(rng, source["paragraphs"], words, cdf)
            truth.append({"id": article_id, "copy_of": source["id"], "kind": "exact" if roll < 0.02 else "near"})
        else:
            paragraphs = article_paragraphs(rng, words, cdf, shared if rng.random() < 0.3 else [])
        body = "\n\n".join(paragraphs)
        rows.append({
            "id": article_id, "source_id": article_id, "source_path": f"bench/{index:05d}/{number:04d}.txt",
            "source_format": "txt", "url": None, "domain": None, "title": f"Article {index}-{number}",
            "subtitle": None, "authors": [], "published_at": start + timedelta(minutes=int(rng.integers(0, 2_000_000))),
            "dateline": None, "language": "en", "language_score": 0.99, "body": body, "paragraphs": paragraphs,
            "word_count": body.count(" ") + body.count("\n\n") + 1, "outlets": [],
            # The generated text needs no normalisation: an exact copy has the same body bytes.
            "content_sha256": hashlib.sha256(body.encode()).hexdigest(),
        })
    schema = {c: t for c, t in ARTICLES.polars_schema.items() if c != "split"}
    out = Path(out_dir)
    write_parquet(pl.DataFrame(rows, schema=schema).sort("id"), out / "articles" / shard_part_name(index))
    for name, table in (("quotes", QUOTES), ("entities", ENTITIES)):
        write_parquet(table.empty_frame().drop("split"), out / name / shard_part_name(index))
    write_parquet(pl.DataFrame(truth, schema={"id": pl.String, "copy_of": pl.String, "kind": pl.String}),
                  out / "truth" / shard_part_name(index))
    return size


def corpus(n: int, workers: int) -> Path:
    """The extract folder for N articles, generated unless already cached."""
    folder = WORK / str(n)
    marker = folder / f"complete-v{GENERATOR_VERSION}"
    if not marker.exists():
        tasks = [(str(folder / "extract"), i, min(SHARD, n - i * SHARD)) for i in range((n + SHARD - 1) // SHARD)]
        started = time.perf_counter()
        map_shards(generate_shard, tasks, workers=workers, description=f"generate {n}")
        marker.write_text(f"{time.perf_counter() - started:.0f} s\n")
    return folder / "extract"


def measure_run(n: int, workers: int) -> dict:
    """Run dedup on corpus N in this process; return timings, counts and injected copies found."""
    extract = corpus(n, workers)
    out = WORK / str(n) / "dedup"
    params = load_params(REPO / "params.yaml", [f"workers={workers}"])
    timings: dict = {}
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), os.times()
    counts = dedup.run(extract, out, params, timings)
    wall, cpu_end = time.perf_counter() - started, os.times()
    cpu_s = sum(getattr(cpu_end, f) - getattr(cpu, f) for f in ("user", "system", "children_user", "children_system"))
    truth = pl.read_parquet(extract / "truth" / "*.parquet")
    duplicates = pl.read_parquet(out / "duplicates" / "*.parquet")
    found = {}
    kept = pl.read_parquet(out / "articles" / "*.parquet", columns=["id"])["id"]
    cluster = dict(zip(kept.to_list(), kept.to_list())) | dict(duplicates.select("article_id", "duplicate_of").iter_rows())
    for kind in ("exact", "near"):
        part = truth.filter(pl.col("kind") == kind)
        found[kind] = f"{sum(cluster[a] == cluster[b] for a, b in part.select('id', 'copy_of').iter_rows())}/{part.height}"
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu_s, 2), "load_average_before": round(load, 2),
            "steps_s": timings, "counts": counts, "injected_copies_found": found,
            "rusage_main_max_rss_mb": round(_max_rss_mb(), 1)}


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def minhash_variants(shards: int = 10) -> dict:
    """Single-core seconds per 100k articles, on shards of 1000, of tokenising + shingling and of
    the two MinHash constructions on the same shingles: one-permutation hashing with optimal
    densification (used) and 128 multiply-shift permutations ((a*x + b) mod 2^64) >> 32 with a
    minimum per article (the classic construction, Broder 1997)."""
    params = load_params(REPO / "params.yaml").dedup
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2**63, params.num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, params.num_perm, dtype=np.uint64)
    spent = {"shingling": 0.0, "one_permutation": 0.0, "k_permutations": 0.0}
    articles = 0
    for part in sorted((corpus(100_000, 2) / "articles").glob("*.parquet"))[:shards]:
        bodies = pl.read_parquet(part, columns=["body"])["body"]
        articles += len(bodies)
        started = time.process_time()
        shingles, per_body = dedup.body_shingles(bodies, params.shingle_size)
        spent["shingling"] += time.process_time() - started
        started = time.process_time()
        dedup.signatures_of_shingles(shingles, per_body, params)
        spent["one_permutation"] += time.process_time() - started
        started = time.process_time()
        offsets = np.concatenate([[0], np.cumsum(per_body)])
        for first in range(0, len(per_body), 16):          # 16 articles at a time: fastest chunk here
            last = min(first + 16, len(per_body))
            with np.errstate(over="ignore"):
                hashed = (shingles[offsets[first]:offsets[last], None] * a + b) >> np.uint64(32)
            np.minimum.reduceat(hashed, offsets[first:last] - offsets[first], axis=0)
        spent["k_permutations"] += time.process_time() - started
    scale = 100_000 / articles
    return {"articles_measured": articles} | {f"{k}_cpu_s_per_100k": round(v * scale, 2) for k, v in spent.items()}


def sample_tree(command: list[str]) -> tuple[dict, float]:
    """Run `command`, sampling the summed RSS of its process tree; return (its JSON, peak MB)."""
    process = psutil.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=os.environ | {"PYTHONPATH": str(REPO)})
    peak = 0
    while process.poll() is None:
        try:
            members = [process] + process.children(recursive=True)
            peak = max(peak, sum(_rss(m) for m in members))
        except psutil.Error:
            pass
        time.sleep(0.02)
    out, err = process.communicate()
    if process.returncode:
        raise RuntimeError(err.decode()[-3000:])
    return json.loads(out.decode().strip().splitlines()[-1]), peak / 2**20


def _rss(member) -> int:
    try:
        return member.memory_info().rss
    except psutil.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)   # internal: one run, JSON on stdout
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_run(args.measure, args.workers)))
        return
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30)}
    results["workers"] = args.workers
    results["params"] = load_params(REPO / "params.yaml").to_dict()["dedup"]
    runs = results.setdefault("runs", {})
    for n in args.sizes:
        corpus(n, args.workers)
        input_mb = sum(p.stat().st_size for p in (WORK / str(n) / "extract" / "articles").glob("*.parquet")) / 2**20
        measured, peak = sample_tree([sys.executable, __file__, "--measure", str(n), "--workers", str(args.workers)])
        steps = measured["steps_s"]
        runs[str(n)] = measured | {
            "articles": n, "input_parquet_mb": round(input_mb, 1), "peak_rss_tree_mb": round(peak, 1),
            "signatures_plus_bucketing_s": round(steps.get("signatures", 0) + steps.get("bucketing", 0), 2),
            "us_per_article": round(measured["wall_s"] / n * 1e6, 1),
        }
        print(f"{n}: {measured['wall_s']} s, peak RSS {peak:.0f} MB, steps {steps}", flush=True)
    if "100000" in runs and "1000000" in runs:
        small, large = runs["100000"], runs["1000000"]
        results["growth_1m_over_100k"] = {
            "wall": round(large["wall_s"] / small["wall_s"], 2),
            "signatures_plus_bucketing": round(large["signatures_plus_bucketing_s"] / small["signatures_plus_bucketing_s"], 2),
            "peak_rss": round(large["peak_rss_tree_mb"] / small["peak_rss_tree_mb"], 2)}
    results["minhash_variants"] = minhash_variants()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps(results, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
