"""Incremental rebuilds: what adding 1% more articles costs with the article cache, and the time of
a no-op `dvc repro`.

    .venv/bin/python bench/incremental.py                        # N = 100,000 + 1,000, NER on and off
    .venv/bin/python bench/incremental.py --n 10000 --added 100 --ner off
    .venv/bin/python bench/incremental.py --verify               # + a --no-cache build compared byte for byte
    .venv/bin/python bench/incremental.py --only noop            # only the no-op `dvc repro`

Rebuild: a corpus from `python -m pipeline sample` (under bench/work/incremental/) is built with an
empty cache, every stage as its own process as `dvc repro` runs them (wall time, CPU time of the
process tree, peak RSS: bench/speed.py's `measure`); then `--added` articles from another seed are
put in a folder sorted into the middle of the corpus (every later shard boundary moves) and the
stages run again. The cache's hits and misses come from the stages' own counts. With `--verify`,
a full build of the grown corpus with `--no-cache` must give the same Parquet bytes, interim and
published.

No-op: `dvc repro` in this project (the sample data) once to bring it up to date, then timed
`--repeat` times while nothing changes.

Results merge into bench/results/incremental.json; BENCHMARKS.md quotes them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from speed import PY, REPO, WORK, measure, stage_commands

RESULTS = REPO / "bench" / "results" / "incremental.json"
HOME = WORK / "incremental"
CACHE_COUNTS = re.compile(r"cache_hits (\d+), cache_misses (\d+)")
CACHED_STAGES = ("clean", "extract")


def sample(n: int, seed: int, out: Path) -> Path:
    """The generated corpus of `n` articles from `seed` in `out` (made once)."""
    if not out.exists():
        subprocess.run([PY, "-m", "pipeline", "sample", "--n", str(n), "--seed", str(seed), "--out", str(out)],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return out


def build(raw: Path, work: Path, sets: list[str], env: dict) -> dict:
    """Run the six stages on `raw` into `work`; per-stage measures plus the cache counts."""
    stages = {}
    for name, command in stage_commands(raw, work, sets):
        result = measure(command, env)
        counts = CACHE_COUNTS.search(result.pop("last_line"))
        if counts:
            result |= {"cache_hits": int(counts.group(1)), "cache_misses": int(counts.group(2))}
        stages[name] = result
        print(f"    {name:<9} {result['wall_s']:>8.1f} s wall {result['cpu_s']:>8.1f} s CPU"
              + (f"  hits {result['cache_hits']} misses {result['cache_misses']}" if counts else ""), flush=True)
    total = {key: round(sum(s[key] for s in stages.values()), 2) for key in ("wall_s", "cpu_s")}
    return {"stages": stages, "total": total | {"peak_rss_mb": max(s["peak_rss_mb"] for s in stages.values())}}


def parquet_digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def share(part: dict, whole: dict) -> dict:
    """`part` as a percentage of `whole`, for wall and CPU time."""
    return {key: round(100 * part[key] / whole[key], 1) for key in ("wall_s", "cpu_s")}


def rebuild(n: int, added: int, ner: bool, verify: bool, env: dict) -> dict:
    """Full build of N articles, then N + added from the warm cache (and optionally the check)."""
    base = sample(n, 0, HOME / f"raw-{n}")
    extra = sample(added, 7, HOME / f"added-{added}")
    folders = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.endswith("-added"))
    inserted = base / f"{folders[len(folders) // 2]}-added"
    label = f"{n}+{added}, NER {'on' if ner else 'off'}"
    cache, work = HOME / "cache", HOME / "work"
    sets = ["workers=auto", f"paths.cache={cache}"] + ([] if ner else ["extract.ner=false"])
    for stale in (cache, work, inserted):
        shutil.rmtree(stale, ignore_errors=True)
    print(f"  {label}: full build, empty cache", flush=True)
    full = build(base, work, sets, env)
    shutil.copytree(extra / "00000", inserted)
    sets.append("release.version=0.1.1")  # publish refuses other content under a published version
    try:
        print(f"  {label}: rebuild with {added} articles added", flush=True)
        incremental = build(base, work, sets, env)
        result = {"articles": n, "added": added, "ner": ner, "added_folder": inserted.name, "settings": sets,
                  "full": full, "incremental": incremental,
                  "incremental_pct_of_full": {
                      "end_to_end": share(incremental["total"], full["total"]),
                      **{stage: share(incremental["stages"][stage], full["stages"][stage])
                         for stage in CACHED_STAGES},
                      "cached_stages": share(
                          {k: sum(incremental["stages"][s][k] for s in CACHED_STAGES) for k in ("wall_s", "cpu_s")},
                          {k: sum(full["stages"][s][k] for s in CACHED_STAGES) for k in ("wall_s", "cpu_s")})}}
        if verify:
            print(f"  {label}: full build of the grown corpus with --no-cache", flush=True)
            check = HOME / "work-verify"
            shutil.rmtree(check, ignore_errors=True)
            result["full_no_cache_grown"] = build(base, check, sets + ["cache.enabled=false"], env)
            rebuilt, reference = parquet_digests(work), parquet_digests(check)
            # every Parquet file of the full build, byte for byte; the rebuild also keeps the
            # index of the release before it (publish/releases/0.1.0/), which a fresh build has not
            result["identical_parquet"] = all(rebuilt.get(name) == digest for name, digest in reference.items())
            result["parquet_files_compared"] = len(reference)
            result["only_in_rebuild"] = sorted(set(rebuilt) - set(reference))
            shutil.rmtree(check, ignore_errors=True)
    finally:
        shutil.rmtree(inserted, ignore_errors=True)
    return result


def noop_dvc_repro(repeat: int, env: dict) -> dict:
    """Wall and CPU seconds of `dvc repro` in this project when nothing changed (medians, all runs)."""
    dvc = [str(Path(PY).with_name("dvc")), "repro"]
    env = dict(env, PATH=f"{Path(PY).parent}{os.pathsep}{env.get('PATH', '')}")
    subprocess.run(dvc, cwd=REPO, env=env, check=True, capture_output=True)
    runs = [measure(dvc, env) for _ in range(repeat)]
    result = {"median_wall_s": statistics.median(r["wall_s"] for r in runs),
              "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
              "runs": runs, "dvc_says": sorted({r["last_line"] for r in runs})}
    print(f"  no-op dvc repro: wall {[r['wall_s'] for r in runs]}, CPU {[r['cpu_s'] for r in runs]}, "
          f"load {[r['load_avg_before'] for r in runs]}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="articles of the full build (100,000)")
    parser.add_argument("--added", type=int, default=1_000, help="articles added for the rebuild (1,000)")
    parser.add_argument("--ner", choices=("on", "off", "both"), default="both")
    parser.add_argument("--verify", action="store_true", help="compare with a --no-cache build (NER off only)")
    parser.add_argument("--only", choices=("rebuild", "noop"), help="run one of the two measurements")
    parser.add_argument("--repeat", type=int, default=5, help="timed no-op dvc repro runs (5)")
    args = parser.parse_args()
    env = dict(os.environ, CI="1", DVC_NO_ANALYTICS="1", GX_ANALYTICS_ENABLED="false")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    if args.only != "noop":
        for ner in {"on": [True], "off": [False], "both": [False, True]}[args.ner]:
            run = rebuild(args.n, args.added, ner, args.verify and not ner, env)
            results.setdefault("rebuild", {})[f"{args.n}+{args.added}, NER {'on' if ner else 'off'}"] = run
            print(f"  -> incremental / full: {run['incremental_pct_of_full']}", flush=True)
            save(results)
    if args.only != "rebuild":
        results["noop_dvc_repro"] = noop_dvc_repro(args.repeat, env)
        save(results)


def save(results: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
