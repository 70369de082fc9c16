"""Command-line interface: `python -m pipeline <command> …`.

One command per stage (what `dvc.yaml` calls), `run` for the whole pipeline without DVC, and
`schemas` to regenerate the Great Expectations suites from `pipeline/schema.py`, `diff` and `push`
for releases. Known errors (bad parameters, missing folders, a release conflict, an unfit
dataset, a refused upload) end with one line on stderr and exit code 2 (configuration or
conflict), 1 (the dataset failed validation) or 3 (the Hub refused or stayed unreachable); no
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pipeline
from pipeline.config import ConfigError, Params, load_params

REPO_DIR = Path(__file__).resolve().parents[1]
SCHEMAS_DIR = REPO_DIR / "schemas"
EXIT_UNFIT = 1
EXIT_USAGE = 2
EXIT_PUSH_FAILED = 3


def _existing_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise ConfigError(f"input folder not found: {value}")
    return path


def _check_separate(input_dir: Path, output_dir: Path) -> None:
    """Refuse an output folder inside the input folder (it would be ingested next time) or around it."""
    inp, out = input_dir.resolve(), output_dir.resolve()
    if out == inp or inp in out.parents:
        raise ConfigError(f"output folder {output_dir} is inside the input folder {input_dir}; choose another")
    if out in inp.parents:
        raise ConfigError(f"output folder {output_dir} contains the input folder {input_dir}; choose another")


def _params(args) -> Params:
    overrides = list(getattr(args, "set", None) or [])
    if getattr(args, "version", None):
        overrides.append(f"release.version={args.version}")
    if getattr(args, "no_cache", False):
        overrides.append("cache.enabled=false")
    params_path = Path(args.params)
    if not params_path.is_file() and args.params == "params.yaml":
        params_path = REPO_DIR / "params.yaml"
    return load_params(params_path, overrides)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="params.yaml", metavar="FILE",
                        help="parameters file (default: ./params.yaml, else the project's)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a dotted params.yaml key for this run, e.g. "
                             "--set dedup.threshold=0.8 (repeatable)")
    parser.add_argument("--no-cache", action="store_true",
                        help="clean and extract every article again, without reading or writing the "
                             "per-article cache in paths.cache (same as --set cache.enabled=false)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m pipeline`."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Build a clean, validated, versioned research dataset from raw scraped news "
                    "articles (txt, html, jsonl, optionally .gz). Stages: " + " -> ".join(pipeline.STAGES)
                    + ". `run` does everything; the stage commands are what `dvc repro` calls.",
        epilog="Configuration lives in params.yaml; see README.md for loading and querying the result.")
    parser.add_argument("--version-info", action="version", version=f"pipeline {pipeline.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="run every stage and publish into an output folder",
                              description="Run ingest, clean, extract, dedup, validate and publish "
                                          "on INPUT and publish the dataset into OUTPUT (the same "
                                          "layout as data/publish/). Ends with a summary.")
    run.add_argument("--input", required=True, metavar="DIR", help="folder of raw articles")
    run.add_argument("--output", required=True, metavar="DIR", help="folder to publish into")
    run.add_argument("--work", metavar="DIR", help="keep intermediate stage outputs here "
                                                   "(default: a temporary folder, removed after)")
    run.add_argument("--reports", metavar="DIR", help="write the Great Expectations Data Docs here")
    run.add_argument("--version", metavar="X.Y.Z", help="release version (short for --set release.version=X.Y.Z)")
    _add_common(run)

    stage_help = {
        "ingest": "read raw files into documents and rejects",
        "clean": "repair text and remove boilerplate lines (logged with reasons)",
        "extract": "extract title, body, language, dates, authors, quotes, entities, outlets",
        "dedup": "remove exact and near duplicates, assign splits by cluster",
        "validate": "run the Great Expectations suites, quarantine failing rows, check thresholds",
        "publish": "write Parquet per config and split, the dataset card and the DuckDB file",
    }
    for stage in pipeline.STAGES:
        sub = commands.add_parser(stage, help=stage_help[stage], description=stage_help[stage] + ".")
        sub.add_argument("--in", dest="in_dir", required=True, metavar="DIR",
                         help="input folder (raw files for ingest, else the previous stage's folder)")
        sub.add_argument("--out", required=True, metavar="DIR", help="output folder of this stage")
        if stage == "dedup":
            sub.add_argument("--metrics", metavar="FILE", help="dedup metrics JSON to write (kinds, cluster sizes)")
        if stage == "validate":
            sub.add_argument("--clean", required=True, metavar="DIR", help="the clean stage's folder")
            sub.add_argument("--ingest", required=True, metavar="DIR", help="the ingest stage's folder")
            sub.add_argument("--docs", metavar="DIR", help="write Data Docs HTML here")
            sub.add_argument("--metrics", required=True, metavar="FILE", help="metrics JSON to write")
        if stage == "publish":
            sub.add_argument("--metrics", metavar="FILE", help="publish metrics JSON to write")
            sub.add_argument("--validation", metavar="FILE", help="validation metrics JSON to read")
            sub.add_argument("--ingest", metavar="DIR",
                             help="the ingest stage's folder, for the card's input fingerprint (paths and bytes)")
            sub.add_argument("--version", metavar="X.Y.Z", help="release version")
        _add_common(sub)

    commands.add_parser("schemas", help="regenerate schemas/expectations/*.json from pipeline/schema.py")

    diff = commands.add_parser(
        "diff", help="what changed between two releases (folders, FOLDER@VERSION or git tags)",
        description="Print the articles added, removed and changed (same id, other content) from "
                    "release OLD to release NEW. Each is a published folder (its newest version), "
                    "FOLDER@X.Y.Z (an older version the folder keeps an index of), or a git tag or "
                    "revision of the project (its publish folder at that revision, read from git or "
                    "through DVC).",
        epilog="Examples: diff v1.0.0 data/publish; diff data/publish@1.0.0 data/publish; "
               "diff old_release/ new_release/")
    diff.add_argument("old", metavar="OLD", help="folder, FOLDER@VERSION or git revision")
    diff.add_argument("new", metavar="NEW", help="folder, FOLDER@VERSION or git revision")
    diff.add_argument("--repo", default=".", metavar="DIR",
                      help="a folder inside the project's git work tree, for git revisions (default: .)")

    push = commands.add_parser(
        "push", help="upload a published folder to the Hugging Face Hub and tag it v<version>",
        description="Upload the published folder to the Hub dataset repo ORG/NAME (created if "
                    "missing) and tag the commit v<version>, the newest version of the folder's "
                    "releases.json, so that load_dataset(\"ORG/NAME\", revision=\"vX.Y.Z\") loads "
                    "it. Pushing a version that is already tagged with the same data does nothing; "
                    "with other data it stops. Transient Hub errors (429, 5xx, timeouts) are retried.",
        epilog="The token comes from HF_TOKEN or `hf auth login`; it needs write access to ORG.")
    push.add_argument("--repo-id", required=True, metavar="ORG/NAME", help="Hub dataset repo")
    push.add_argument("--folder", metavar="DIR",
                      help="published folder (default: paths.publish of params.yaml, data/publish)")
    push.add_argument("--private", action="store_true", help="create the repo private (when it is new)")
    push.add_argument("--endpoint", metavar="URL", help="Hub address (default: HF_ENDPOINT, else huggingface.co)")
    push.add_argument("--params", default="params.yaml", metavar="FILE",
                      help="parameters file, for paths.publish (default: ./params.yaml, else the project's)")

    sample = commands.add_parser(
        "sample", help="generate a deterministic corpus of noisy raw articles (for benchmarks)",
        description="Write N invented raw news articles with scraper noise, including exact and "
                    "near duplicates at known rates, and DIR.truth.jsonl saying which is which.")
    sample.add_argument("--n", type=int, required=True, help="number of articles")
    sample.add_argument("--out", required=True, metavar="DIR", help="folder to write (created)")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sample.add_argument("--exact-rate", type=float, default=0.02, help="share of exact copies (0.02)")
    sample.add_argument("--near-rate", type=float, default=0.03, help="share of edited copies (0.03)")
    sample.add_argument("--jsonl-every", type=int, default=0, metavar="K",
                        help="write every K-th folder of 1000 articles as one .jsonl.gz instead")
    return parser


def run_stage(stage: str, args, params: Params) -> dict:
    """Run one stage from its command-line arguments; return its counts.

    Only the stage's own module is imported (each stage runs as its own process under DVC, and
    importing Great Expectations, DuckDB or spaCy for a stage that does not use them costs time)."""
    module = importlib.import_module(f"pipeline.{stage}")
    in_dir, out_dir = Path(args.in_dir), Path(args.out)
    if stage == "ingest":
        _existing_dir(args.in_dir)
        _check_separate(in_dir, out_dir)
        return _into_fresh(out_dir, lambda tmp: module.run(in_dir, tmp, params))
    _existing_dir(args.in_dir)
    if stage == "clean":
        return _into_fresh(out_dir, lambda tmp: module.run(in_dir, tmp, params, SCHEMAS_DIR / "lexicons"))
    if stage == "extract":
        return _into_fresh(out_dir, lambda tmp: module.run(in_dir, tmp, params, SCHEMAS_DIR / "lexicons"))
    if stage == "dedup":
        counts = _into_fresh(out_dir, lambda tmp: module.run(in_dir, tmp, params))
        if args.metrics:
            from pipeline.io import write_json

            write_json(counts, Path(args.metrics))
        return counts
    if stage == "validate":
        return _into_fresh(out_dir, lambda tmp: module.run(
            in_dir, Path(args.clean), Path(args.ingest), tmp, params, SCHEMAS_DIR / "expectations",
            Path(args.docs) if args.docs else None, Path(args.metrics)))
    return module.run(in_dir, out_dir, params, Path(args.metrics) if args.metrics else None,
                      Path(args.validation) if args.validation else None,
                      Path(args.ingest) if args.ingest else None)


def _into_fresh(out_dir: Path, work) -> dict:
    """Run `work(tmp)` into a fresh folder, then move it to `out_dir` (atomic stage output)."""
    from pipeline.io import fresh_dir, replace_dir

    tmp = fresh_dir(out_dir)
    try:
        result = work(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, out_dir)
    return result


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when the process that started it dies (Linux; elsewhere
    nothing), so that a killed `run` leaves no stage running behind it."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stage_run(stage: str, *args):
    """`pipeline.<stage>.run(*args)`."""
    return importlib.import_module(f"pipeline.{stage}").run(*args)


def _stage_runner(params: Params):
    """How `run_all` calls a stage's `run`: with the local executor in a fresh process each, so
    that a stage's memory goes back to the system when it ends and a whole run peaks at its
    largest stage, not at the sum of what the stages before it left allocated; with Ray in this
    process (which holds the connection to the cluster). Exceptions reach the caller either way."""
    if params.executor != "local":
        return _stage_run

    def in_fresh_process(stage: str, *args):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_die_with_parent) as pool:
            return pool.submit(_stage_run, stage, *args).result()

    return in_fresh_process


def run_all(args, params: Params) -> dict:
    """Run every stage on `args.input` and publish into `args.output`; return the summary."""
    input_dir = _existing_dir(args.input)
    output_dir = Path(args.output)
    _check_separate(input_dir, output_dir)
    stage = _stage_runner(params)

    started = time.perf_counter()
    work_root = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="pipeline-work-"))
    summary: dict = {}
    try:
        stage_dirs = {stage: work_root / stage for stage in pipeline.STAGES[:-1]}
        for stage_dir in stage_dirs.values():
            if stage_dir.exists():
                shutil.rmtree(stage_dir)
        summary["ingest"] = stage("ingest", input_dir, stage_dirs["ingest"], params)
        summary["clean"] = stage("clean", stage_dirs["ingest"], stage_dirs["clean"], params, SCHEMAS_DIR / "lexicons")
        summary["extract"] = stage("extract", stage_dirs["clean"], stage_dirs["extract"], params,
                                   SCHEMAS_DIR / "lexicons")
        summary["dedup"] = stage("dedup", stage_dirs["extract"], stage_dirs["dedup"], params)
        summary["validate"] = stage(
            "validate", stage_dirs["dedup"], stage_dirs["clean"], stage_dirs["ingest"], stage_dirs["validate"],
            params, SCHEMAS_DIR / "expectations", Path(args.reports) if args.reports else None,
            work_root / "metrics" / "validation.json")
        summary["publish"] = stage("publish", stage_dirs["validate"], output_dir, params, None,
                                   work_root / "metrics" / "validation.json", stage_dirs["ingest"])
    finally:
        if not args.work:
            shutil.rmtree(work_root, ignore_errors=True)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


def print_summary(summary: dict, output: str, stream=sys.stdout) -> None:
    """The one-screen summary at the end of `run`."""
    counts = summary["validate"]["counts"]
    lines = [
        "",
        f"Published to {output}",
        f"  inputs        {summary['validate']['inputs']:>8}",
        f"  articles      {counts['articles']:>8}   (quotes {counts['quotes']}, entities {counts['entities']})",
        f"  duplicates    {counts['duplicates']:>8}   exact {summary['dedup']['exact']}, near "
        f"{summary['dedup']['near']}; cluster sizes "
        + ", ".join(f"{size}: {n}" for size, n in summary["dedup"]["cluster_sizes"].items()),
        f"  rejects       {counts['rejects']:>8}   "
        + ", ".join(f"{k} {v}" for k, v in summary["validate"]["rejects_by_reason"].items()),
        f"  removed lines {counts['removed_lines']:>8}",
        *(["  cache         " + ", ".join(f"{stage} {summary[stage]['cache_hits']} reused, "
                                           f"{summary[stage]['cache_misses']} computed"
                                           for stage in ("clean", "extract"))]
          if "cache_hits" in summary["clean"] else []),
        "  splits        " + ", ".join(f"{k} {v}" for k, v in summary["publish"]["articles_by_split"].items()),
        f"  seconds       {summary['seconds']:>8}",
    ]
    print("\n".join(lines), file=stream)


def push_folder(args) -> int:
    """`push`: upload the published folder and print where it went; returns the exit code."""
    from pipeline.release import PushFailed, push

    folder = Path(args.folder) if args.folder else Path(_params(args).paths.publish)
    _existing_dir(str(folder))
    try:
        result = push(folder, args.repo_id, private=args.private, endpoint=args.endpoint)
    except PushFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PUSH_FAILED
    state = "pushed" if result["pushed"] else "already on the Hub with the same data, nothing pushed"
    print(f"{result['repo_id']} {result['tag']}: {state} (commit {result['commit']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    from pipeline.validate import DatasetUnfit

    try:
        if args.command == "schemas":
            from pipeline.schema import TABLES, suite_json
            from pipeline.io import write_text

            for name, table in TABLES.items():
                write_text(suite_json(table), SCHEMAS_DIR / "expectations" / f"{name}.json")
            print(f"wrote {len(TABLES)} suites to {SCHEMAS_DIR / 'expectations'}")
            return 0
        if args.command == "sample":
            from pipeline.sample import SampleSpec, generate

            if args.n < 0 or not (0 <= args.exact_rate + args.near_rate <= 1):
                raise ConfigError("sample: --n must be >= 0 and the two rates must sum to at most 1")
            counts = generate(SampleSpec(n=args.n, seed=args.seed, exact_rate=args.exact_rate,
                                         near_rate=args.near_rate, jsonl_every=args.jsonl_every),
                              Path(args.out))
            print("sample: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            return 0
        if args.command == "diff":
            from pipeline.release import diff_releases

            print(diff_releases(args.old, args.new, Path(args.repo)))
            return 0
        if args.command == "push":
            return push_folder(args)
        params = _params(args)
        if args.command == "run":
            summary = run_all(args, params)
            print_summary(summary, args.output)
        else:
            counts = run_stage(args.command, args, params)
            print(f"{args.command}: " + ", ".join(f"{k} {v}" for k, v in counts.items()
                                                  if isinstance(v, (int, float, str))))
        return 0
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DatasetUnfit as error:
        print(f"error: the dataset is unfit: {error}", file=sys.stderr)
        return EXIT_UNFIT
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
