"""Run one function over many shards: in this process, in a local process pool, or on Ray.

Tasks carry paths, not data: a worker reads its shard, writes its outputs and returns a small
summary, so the same shard functions run unchanged on a Ray cluster with shared storage.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm import tqdm


def progress_enabled() -> bool:
    """Progress bars only on an interactive terminal and never under CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def map_shards(function: Callable[..., Any], tasks: Sequence[tuple], *, workers: int,
               executor: str = "local", description: str = "") -> list[Any]:
    """Call `function(*task)` for every task and return the results in task order.

    `executor` is "local" (a process pool of `workers`, or this process when one worker or one
    task) or "ray" (remote tasks on the Ray cluster `ray.init()` finds or starts).
    """
    bar = tqdm(total=len(tasks), desc=description, unit="shard", disable=not progress_enabled(),
               leave=False)
    try:
        if executor == "ray":
            return _map_ray(function, tasks, bar)
        if workers <= 1 or len(tasks) <= 1:
            results = []
            for task in tasks:
                results.append(function(*task))
                bar.update()
            return results
        # "spawn", not fork: a forked child of a process whose Polars/Rayon threads hold a lock
        # deadlocks (seen here with two workers); spawned workers start clean.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
            futures = [pool.submit(function, *task) for task in tasks]
            results = []
            for future in futures:
                results.append(future.result())
                bar.update()
            return results
    finally:
        bar.close()


def start_ray(**options) -> None:
    """Connect to the Ray cluster at `RAY_ADDRESS`, or start a local one (`options` go to
    `ray.init`, e.g. num_cpus=2). The `pipeline` package is shipped to the workers, so nodes
    need the project's requirements installed but not the project itself."""
    import ray  # only needed with `executor: ray`

    import pipeline

    ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False,
             runtime_env={"py_modules": [pipeline]}, **options)


def _map_ray(function: Callable[..., Any], tasks: Sequence[tuple], bar) -> list[Any]:
    """Run every task as a Ray task of `function`; results in task order, the bar as they finish."""
    import ray

    if not ray.is_initialized():
        start_ray()
    remote = ray.remote(function)
    refs = [remote.remote(*task) for task in tasks]
    position = {ref: i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(refs)
    pending = refs
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for ref in done:
            results[position[ref]] = ray.get(ref)
            bar.update()
    return results
