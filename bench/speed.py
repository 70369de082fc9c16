"""Speed and memory of the pipeline on generated corpora, stage by stage and end to end.

    .venv/bin/python bench/speed.py                   # N = 10k and 100k
    .venv/bin/python bench/speed.py --sizes 10000     # one size
    .venv/bin/python bench/speed.py --million         # adds N = 1M (about 4 GB of input)

For each N it generates a corpus with `python -m pipeline sample` (cached under bench/work/),
runs every stage as its own process exactly as `dvc repro` does, then the whole pipeline with
`python -m pipeline run`, with the core-path settings (`extract.ner=false` unless --ner) and the
per-article cache off (a full build; incremental rebuilds are measured separately). For each it
records wall time, CPU time (user + system of the process and its workers), peak
RSS (summed over the process tree, sampled every 20 ms), articles/s, MB/s of raw input, and the
1-minute load average just before it started (the machine may be shared: a load above the core
count means the figures are slower than the machine is).

datatrove side by side (optional): when the benchmark environment exists (`make bench-setup`,
`.venv-bench/`), the same corpus is exported to JSONL (one file per worker) and
bench/datatrove_run.py runs datatrove's Gopher and C4 filters, MinHash deduplication and Parquet
writer on as many tasks as the pipeline has workers; measured the same way. Without it the run
says so and goes on. Results go to bench/results/speed.json; BENCHMARKS.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "work"
RESULTS = REPO / "bench" / "results" / "speed.json"
BENCH_PYTHON = REPO / ".venv-bench" / "bin" / "python"
PY = sys.executable


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], env: dict) -> dict:
    """Run `command`; return its wall and CPU seconds, the peak RSS (MB) of its process tree,
    the load average before it started and the last line it printed."""
    load = os.getloadavg()[0]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    process = psutil.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak, sampled_cpu = 0, {}
    while process.poll() is None:
        rss = 0
        try:
            tree = [process] + process.children(recursive=True)
        except psutil.Error:
            tree = []
        for member in tree:
            try:
                rss += member.memory_info().rss
                times = member.cpu_times()
                sampled_cpu[member.pid] = times.user + times.system
            except psutil.Error:
                continue
        peak = max(peak, rss)
        time.sleep(0.02)
    out, err = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{err.decode()[-2000:]}")
    lines = out.decode().strip().splitlines()
    # rusage counts every process that was waited for; workers killed instead of waited for
    # (datatrove's) only show in the samples, which miss the last 20 ms of each process
    cpu = max(_children_cpu() - cpu_before, sum(sampled_cpu.values()))
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "peak_rss_mb": round(peak / 2**20, 1), "load_avg_before": round(load, 2),
            "last_line": lines[-1] if lines else ""}


def with_rates(figures: dict, articles: int, megabytes: float) -> dict:
    """`figures` plus articles/s and MB/s of raw input."""
    return figures | {"articles_per_s": round(articles / figures["wall_s"], 1),
                      "mb_per_s": round(megabytes / figures["wall_s"], 2)}


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


def export_jsonl(raw: Path, folder: Path, files: int) -> Path:
    """The raw corpus as `files` JSONL files ({"id", "text"} per article, in path order), made once."""
    if folder.exists():
        return folder
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    paths = sorted(p for p in raw.rglob("*") if p.is_file())
    handles = [open(tmp / f"part-{i:02d}.jsonl", "w", encoding="utf-8") for i in range(files)]
    try:
        for n, path in enumerate(paths):
            text = path.read_text(encoding="utf-8", errors="replace")
            handles[n * files // len(paths)].write(json.dumps({"id": path.stem, "text": text}) + "\n")
    finally:
        for handle in handles:
            handle.close()
    tmp.rename(folder)
    return folder


def datatrove_side_by_side(raw: Path, n: int, megabytes: float, tasks: int, env: dict) -> dict:
    """datatrove's filters + MinHash dedup + Parquet writer on the same corpus, or why not."""
    if not BENCH_PYTHON.exists():
        return {"skipped": "no benchmark environment: run `make bench-setup` to install datatrove"}
    check = subprocess.run([str(BENCH_PYTHON), "-c", "import datatrove"], capture_output=True)
    if check.returncode != 0:
        return {"skipped": "datatrove is not importable in .venv-bench: run `make bench-setup`"}
    jsonl = export_jsonl(raw, WORK / f"jsonl-{n}-x{tasks}", tasks)
    work = WORK / f"datatrove-{n}"
    shutil.rmtree(work, ignore_errors=True)
    figures = measure([str(BENCH_PYTHON), str(REPO / "bench" / "datatrove_run.py"), "--input", str(jsonl),
                       "--work", str(work), "--tasks", str(tasks)], env)
    shutil.rmtree(work, ignore_errors=True)
    counts = json.loads(figures.pop("last_line"))
    return with_rates(figures, n, megabytes) | {"tasks": tasks, "documents": counts}


def bench_size(n: int, sets: list[str], env: dict, datatrove: bool, workers: int, keep: bool = False) -> dict:
    """Stage-by-stage and end-to-end figures for a corpus of `n` articles; `keep` leaves the
    stage-by-stage outputs in bench/work/run-N/."""
    raw, megabytes = corpus(n)
    work = WORK / f"run-{n}"
    shutil.rmtree(work, ignore_errors=True)
    stages = {}
    for name, command in stage_commands(raw, work, sets):
        stages[name] = with_rates(measure(command, env), n, megabytes)
        stages[name].pop("last_line")
        print(f"  N={n:>8} {name:<9} {stages[name]['wall_s']:>7.1f} s  {stages[name]['peak_rss_mb']:>7.0f} MB"
              f"  (load {stages[name]['load_avg_before']})", flush=True)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    whole = WORK / f"run-{n}-whole"
    shutil.rmtree(whole, ignore_errors=True)
    end_to_end = measure([PY, "-m", "pipeline", "run", "--input", str(raw), "--output", str(whole / "publish"),
                          *[a for s in sets for a in ("--set", s)]], env)
    end_to_end.pop("last_line")
    shutil.rmtree(whole, ignore_errors=True)
    result = {
        "articles": n,
        "input_mb": round(megabytes, 1),
        "stages": stages,
        "stages_wall_s": round(sum(s["wall_s"] for s in stages.values()), 2),
        "end_to_end": with_rates(end_to_end, n, megabytes),
    }
    print(f"  N={n:>8} end to end {end_to_end['wall_s']:>6.1f} s  {end_to_end['peak_rss_mb']:>7.0f} MB"
          f"  (load {end_to_end['load_avg_before']})", flush=True)
    if datatrove:
        result["datatrove"] = datatrove_side_by_side(raw, n, megabytes, workers, env)
        if "skipped" in result["datatrove"]:
            print(f"  datatrove skipped: {result['datatrove']['skipped']}", flush=True)
        else:
            ratio = result["end_to_end"]["articles_per_s"] / result["datatrove"]["articles_per_s"]
            result["datatrove"]["pipeline_speedup"] = round(ratio, 1)
            print(f"  N={n:>8} datatrove  {result['datatrove']['wall_s']:>6.1f} s  "
                  f"{result['datatrove']['peak_rss_mb']:>7.0f} MB  (pipeline {ratio:.1f}x its articles/s)",
                  flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="also N = 1,000,000")
    parser.add_argument("--ner", action="store_true", help="keep NER on (default: the core path, NER off)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: cores)")
    parser.add_argument("--datatrove-sizes", type=int, nargs="*", default=[10_000], metavar="N",
                        help="sizes at which datatrove runs side by side (default: 10000; none: no datatrove)")
    parser.add_argument("--keep", action="store_true", help="keep the stage outputs in bench/work/run-N/")
    args = parser.parse_args()
    sizes = args.sizes + ([1_000_000] if args.million else [])
    sets = [f"workers={args.workers}", "cache.enabled=false"] + ([] if args.ner else ["extract.ner=false"])
    env = dict(os.environ, CI="1", DVC_NO_ANALYTICS="1", GX_ANALYTICS_ENABLED="false", HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # every process would compile the project's modules again
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30)}
    results["settings"] = sets
    for n in sizes:
        print(f"N={n} (load average {os.getloadavg()[0]:.2f})", flush=True)
        results.setdefault("runs", {})[str(n)] = bench_size(n, sets, env, n in args.datatrove_sizes, args.workers,
                                                     args.keep)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
