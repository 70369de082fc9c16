"""Shared test helpers: where the shared corpora are, and running the pipeline in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED_DIR = SHARED / "seeds"
AEB_DIR = SHARED / "corpora" / "aeb-dev"
SAMPLE_DIR = REPO / "data" / "raw" / "sample"

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def needs(path: Path) -> Path:
    """Skip the calling test when a shared corpus is absent (a fresh user clone has no ../shared)."""
    if not path.exists():
        pytest.skip(f"{path.name} is not available (../shared is absent)")
    return path


def run_pipeline(input_dir: Path, output_dir: Path, *overrides: str, work: Path | None = None) -> int:
    """`python -m pipeline run` in this process with one worker; returns the exit code."""
    from pipeline.cli import main

    args = ["run", "--input", str(input_dir), "--output", str(output_dir), "--set", "workers=1"]
    for override in overrides:
        args += ["--set", override]
    if work is not None:
        args += ["--work", str(work)]
    return main(args)

# Property tests explore the same examples on every run, so CI is never flaky; no example database.
from hypothesis import settings  # noqa: E402

settings.register_profile("project", derandomize=True, database=None)
settings.load_profile("project")
