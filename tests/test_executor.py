"""The executors: a local process pool and Ray run the same shard functions to the same bytes.

One local Ray with 2 CPUs is started for the whole module (about 10 s); nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pipeline.executor import map_shards
from pipeline.text import short_id
from tests.conftest import SAMPLE_DIR, run_pipeline

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance with 2 CPUs, shut down after the module."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from pipeline.executor import start_ray

    start_ray(num_cpus=2)
    yield
    ray.shutdown()


def parquet_digests(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every Parquet file under `folder`."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def test_local_executor_returns_results_in_task_order():
    tasks = [(str(i),) for i in range(7)]
    assert map_shards(short_id, tasks, workers=2) == [short_id(str(i)) for i in range(7)]


def test_ray_returns_results_in_task_order(local_ray):
    tasks = [(str(i),) for i in range(7)]
    assert map_shards(short_id, tasks, workers=2, executor="ray") == [short_id(str(i)) for i in range(7)]


def test_ray_and_local_executors_write_identical_parquet(local_ray, tmp_path):
    # several shards per stage, NER on, no article cache: every shard is computed by each executor
    common = ("ingest.shard_size=8", "cache.enabled=false", "extract.ner=true")
    assert run_pipeline(SAMPLE_DIR, tmp_path / "local", *common, "executor=local",
                        work=tmp_path / "work-local") == 0
    assert run_pipeline(SAMPLE_DIR, tmp_path / "ray", *common, "executor=ray", work=tmp_path / "work-ray") == 0
    for local, remote in ((tmp_path / "local", tmp_path / "ray"), (tmp_path / "work-local", tmp_path / "work-ray")):
        digests = parquet_digests(local)
        assert digests and digests == parquet_digests(remote)
    assert len(list((tmp_path / "work-ray" / "clean" / "documents").glob("*.parquet"))) > 1
