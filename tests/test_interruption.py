"""SIGKILL at many points of a run: the output is never half-written, and a re-run gives the
same bytes as an uninterrupted run."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from tests.conftest import REPO, SAMPLE_DIR

KILL_POINTS = 8  # spread evenly over an uninterrupted run, so every stage is hit


def command(output: Path, work: Path) -> list[str]:
    # the article cache sits beside the outputs: `cache` of the same tmp folder
    return [sys.executable, "-m", "pipeline", "run", "--input", str(SAMPLE_DIR), "--output", str(output),
            "--work", str(work), "--set", "workers=2", "--set", "ingest.shard_size=8",
            "--set", f"paths.cache={output.parent / 'cache'}"]


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def assert_complete_or_absent(output: Path) -> None:
    """A published folder is either not there or whole: card, and every Parquet file readable."""
    if not output.exists():
        return
    assert (output / "README.md").is_file()
    for path in output.rglob("*.parquet"):
        pl.read_parquet(path)


def test_killed_runs_leave_no_half_output_and_rerun_to_the_same_bytes(tmp_path):
    env = dict(os.environ, CI="1")
    reference = tmp_path / "reference"
    # a first run fills the article cache, so the timed reference is as fast as the runs killed
    subprocess.run(command(tmp_path / "warm-up", tmp_path / "work-warm-up"), cwd=REPO, env=env, check=True,
                   capture_output=True)
    started = time.perf_counter()
    subprocess.run(command(reference, tmp_path / "work-ref"), cwd=REPO, env=env, check=True,
                   capture_output=True)
    duration = time.perf_counter() - started
    output, work = tmp_path / "out", tmp_path / "work"
    survived = 0
    for point in range(1, KILL_POINTS + 1):
        process = subprocess.Popen(command(output, work), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(duration * point / (KILL_POINTS + 1))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the run and its worker processes
            survived += 1
        process.wait()
        assert_complete_or_absent(output)
    assert survived >= KILL_POINTS // 2
    subprocess.run(command(output, work), cwd=REPO, env=env, check=True, capture_output=True)
    assert digests(output) == digests(reference)
    assert not list(output.parent.glob(".out.*.tmp"))
