"""Speed and memory of the pipeline on generated corpora, stage by stage and end to end.

    .venv/bin/python bench/speed.py                   # N = 10k and 100k
    .venv/bin/python bench/speed.py --sizes 10000     # one size
    .venv/bin/python bench/speed.py --million         # adds N = 1M (about 4 GB of input)

For each N it generates a corpus with `python -m pipeline sample` (cached under bench/work/),
runs every stage as its own process exactly as `dvc repro` does, with the core-path settings
(`--set extract.ner=false` unless --ner), and records wall time, CPU time (the process and its
workers), peak RSS (summed over the process tree, sampled every 20 ms), articles/s and MB/s.
Results go to bench/results/speed.json; BENCHMARKS.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "work"
RESULTS = REPO / "bench" / "results" / "speed.json"
PY = sys.executable


def measure(command: list[str], env: dict) -> dict:
    """Run `command`; return wall seconds, CPU seconds and peak RSS (MB) of its process tree."""
    started = time.perf_counter()
    process = psutil.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak, cpu = 0, {}
    while process.poll() is None:
        try:
            tree = [process] + process.children(recursive=True)
            rss = 0
            for member in tree:
                try:
                    info = member.memory_info()
                    times = member.cpu_times()
                    rss += info.rss
                    cpu[member.pid] = times.user + times.system  # last sample of each live process
                except psutil.Error:
                    continue
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - started
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{err.decode()[-2000:]}")
    return {"wall_s": round(wall, 2), "cpu_s": round(sum(cpu.values()), 2), "peak_rss_mb": round(peak / 2**20, 1),
            "stdout_tail": out.decode().strip().splitlines()[-1:] if out else []}


def corpus(n: int) -> tuple[Path, float]:
    """The generated corpus of `n` articles (made once) and its size in MB."""
    folder = WORK / f"sample-{n}"
    if not folder.exists():
        subprocess.run([PY, "-m", "pipeline", "sample", "--n", str(n), "--out", str(folder)], cwd=REPO, check=True)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return folder, size / 2**20


def stage_commands(raw: Path, work: Path, sets: list[str]) -> list[tuple[str, list[str]]]:
    """The six stage commands of dvc.yaml, pointed at `raw` and `work`."""
    i = work / "interim"
    base = [PY, "-m", "pipeline"]
    extra = [a for s in sets for a in ("--set", s)]
    return [
        ("ingest", base + ["ingest", "--in", str(raw), "--out", str(i / "ingest")] + extra),
        ("clean", base + ["clean", "--in", str(i / "ingest"), "--out", str(i / "clean")] + extra),
        ("extract", base + ["extract", "--in", str(i / "clean"), "--out", str(i / "extract")] + extra),
        ("dedup", base + ["dedup", "--in", str(i / "extract"), "--out", str(i / "dedup")] + extra),
        ("validate", base + ["validate", "--in", str(i / "dedup"), "--clean", str(i / "clean"), "--ingest",
                             str(i / "ingest"), "--out", str(i / "validate"), "--metrics",
                             str(work / "validation.json")] + extra),
        ("publish", base + ["publish", "--in", str(i / "validate"), "--out", str(work / "publish"),
                            "--validation", str(work / "validation.json")] + extra),
    ]


def bench_size(n: int, sets: list[str], env: dict) -> dict:
    raw, megabytes = corpus(n)
    work = WORK / f"run-{n}"
    shutil.rmtree(work, ignore_errors=True)
    stages = {}
    for name, command in stage_commands(raw, work, sets):
        stages[name] = measure(command, env)
        stages[name].pop("stdout_tail")
        print(f"  N={n:>8} {name:<9} {stages[name]['wall_s']:>7.1f} s  {stages[name]['peak_rss_mb']:>7.0f} MB",
              flush=True)
    shutil.rmtree(work / "publish-run", ignore_errors=True)
    end_to_end = measure([PY, "-m", "pipeline", "run", "--input", str(raw), "--output", str(work / "publish-run"),
                          *[a for s in sets for a in ("--set", s)]], env)
    summary = end_to_end.pop("stdout_tail")
    shutil.rmtree(work, ignore_errors=True)
    return {
        "articles": n,
        "input_mb": round(megabytes, 1),
        "stages": stages,
        "end_to_end": end_to_end | {
            "articles_per_s": round(n / end_to_end["wall_s"], 1),
            "mb_per_s": round(megabytes / end_to_end["wall_s"], 2),
        },
        "summary_line": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="also N = 1,000,000")
    parser.add_argument("--ner", action="store_true", help="keep NER on (default: the core path, NER off)")
    parser.add_argument("--workers", default="auto")
    args = parser.parse_args()
    sizes = args.sizes + ([1_000_000] if args.million else [])
    sets = [f"workers={args.workers}"] + ([] if args.ner else ["extract.ner=false"])
    env = dict(os.environ, CI="1", DVC_NO_ANALYTICS="1", GX_ANALYTICS_ENABLED="false")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30)}
    results["settings"] = sets
    for n in sizes:
        results.setdefault("runs", {})[str(n)] = bench_size(n, sets, env)
        e2e = results["runs"][str(n)]["end_to_end"]
        print(f"N={n}: end to end {e2e['wall_s']} s, {e2e['articles_per_s']} articles/s, "
              f"peak {e2e['peak_rss_mb']} MB", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
