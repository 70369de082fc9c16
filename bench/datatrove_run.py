"""datatrove's comparable steps on a JSONL export of a generated corpus (run by bench/speed.py).

    .venv-bench/bin/python bench/datatrove_run.py --input DIR --work DIR --tasks 2

Runs in the separate benchmark environment (`make bench-setup`, bench/requirements.lock):
Gopher repetition, Gopher quality and C4 line filters, then datatrove's MinHash deduplication
(signatures, buckets, clusters, filter) and its Parquet writer, each stage on `--tasks` local
tasks. English word splitting is datatrove's default for English, a blank spaCy pipeline
(`spacy.blank("en")` + sentencizer): rule-based, no model, nothing to download. Prints one JSON
line: documents read, kept after the filters, kept after deduplication.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no Hub look-ups from datatrove's io layer


def run(input_dir: Path, work: Path, tasks: int) -> dict:
    """Run the five datatrove stages; return document counts read from the outputs."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter,
                                          MinhashDedupSignature)
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

    config = MinhashConfig()  # datatrove's defaults: 5-word shingles, 14 buckets of 8 hashes
    filtered, signatures = work / "filtered", work / "signatures"
    buckets, clusters, out = work / "buckets", work / "clusters", work / "parquet"
    stages = [
        LocalPipelineExecutor(pipeline=[
            JsonlReader(str(input_dir)),
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            C4QualityFilter(),
            JsonlWriter(str(filtered)),
            MinhashDedupSignature(output_folder=str(signatures), config=config),
        ], tasks=tasks, workers=tasks, logging_dir=str(work / "logs" / "filter")),
        LocalPipelineExecutor(pipeline=[
            MinhashDedupBuckets(input_folder=str(signatures), output_folder=str(buckets), config=config),
        ], tasks=config.num_buckets, workers=tasks, logging_dir=str(work / "logs" / "buckets")),
        LocalPipelineExecutor(pipeline=[
            MinhashDedupCluster(input_folder=str(buckets), output_folder=str(clusters), config=config),
        ], tasks=1, logging_dir=str(work / "logs" / "clusters")),
        LocalPipelineExecutor(pipeline=[
            JsonlReader(str(filtered)),
            MinhashDedupFilter(input_folder=str(clusters)),
            ParquetWriter(str(out)),
        ], tasks=tasks, workers=tasks, logging_dir=str(work / "logs" / "dedup")),
    ]
    for stage in stages:
        stage.run()
    import pyarrow.parquet as pq

    def jsonl_lines(folder: Path) -> int:
        import gzip
        return sum(sum(1 for _ in gzip.open(p, "rt")) for p in folder.rglob("*.jsonl.gz"))

    return {"documents": sum(sum(1 for _ in open(p, encoding="utf-8")) for p in input_dir.glob("*.jsonl")),
            "after_filters": jsonl_lines(filtered),
            "after_dedup": sum(pq.ParquetFile(p).metadata.num_rows for p in out.rglob("*.parquet"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="folder of .jsonl files (one per task)")
    parser.add_argument("--work", type=Path, required=True, help="folder for datatrove's outputs (created)")
    parser.add_argument("--tasks", type=int, default=2, help="tasks and workers per stage")
    args = parser.parse_args()
    print(json.dumps(run(args.input, args.work, args.tasks)), flush=True)


if __name__ == "__main__":
    main()
