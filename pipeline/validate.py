"""Stage 5, validate: Great Expectations suites on every table, quarantine, dataset-level checks.

Reads the dedup stage's tables (articles, quotes, entities, duplicates), the clean stage's
removed_lines and the rejects of ingest and clean. Runs the suites stored in
`schemas/expectations/<table>.json` through GX's pandas data source (GX cannot validate DuckDB
tables: see the stack notes), writes a Data Docs site, and:
- moves articles (and duplicates) failing a row-level expectation to `rejects` with reason
  `failed_expectation` and the failed expectations as detail, dropping their quotes/entities;
- drops failing quote/entity/removed-line rows and counts them in the metrics;
- writes `<out>/<table>/part-NNNNN.parquet` for every published table and `metrics/validation.json`;
- raises DatasetUnfit (after writing everything) when the reject rate or article count is over
  the thresholds in `params.validate`.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from collections import defaultdict
from pathlib import Path

import polars as pl

from pipeline.config import Params
from pipeline.io import read_table, shard_part_name, table_parts, write_json, write_parquet
from pipeline.reasons import RejectReason
from pipeline.schema import TABLES, Table

STAGE = "validate"
LOG = logging.getLogger(__name__)
# GX stamps Data Docs with a run time; a fixed one keeps the report's paths stable across builds.
_FIXED_RUN_TIME = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)


class DatasetUnfit(Exception):
    """The dataset fails a dataset-level threshold; the message says which and by how much."""


def load_suite(suites_dir: Path, table: str) -> dict:
    """The suite JSON of `table` from `suites_dir` (as written by `python -m pipeline schemas`)."""
    path = Path(suites_dir) / f"{table}.json"
    if not path.is_file():
        raise FileNotFoundError(f"expectation suite missing: {path} (run `python -m pipeline schemas`)")
    return json.loads(path.read_text(encoding="utf-8"))


class SuiteRunner:
    """Runs suites on pandas frames in one ephemeral GX context, writing Data Docs to a folder."""

    def __init__(self, docs_dir: Path | None):
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # GX sets this module logger to INFO itself, which prints a temp-folder notice on every run
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.docs_dir = docs_dir
        if docs_dir is not None:
            self.context.add_data_docs_site("reports", {
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(Path(docs_dir).resolve())},
            })
        self.source = self.context.data_sources.add_pandas("tables")

    def run(self, table: Table, frame: pl.DataFrame, suite: dict) -> list[dict]:
        """Validate `frame` against `suite`; return one result dict per expectation.

        Each result: type, kwargs, success, unexpected_count, failed_keys (list of key tuples).
        """
        from great_expectations.checkpoint import UpdateDataDocsAction
        from great_expectations.core.run_identifier import RunIdentifier

        gx = self._gx
        suite = dict(suite)
        suite.pop("id", None)
        gx_suite = self.context.suites.add(gx.ExpectationSuite(**suite))
        batch = self.source.add_dataframe_asset(table.name).add_batch_definition_whole_dataframe("all")
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=table.name, data=batch, suite=gx_suite))
        actions = [UpdateDataDocsAction(name="docs", site_names=["reports"])] if self.docs_dir else []
        checkpoint = self.context.checkpoints.add(gx.Checkpoint(
            name=f"{table.name}_checkpoint", validation_definitions=[definition], actions=actions,
            result_format={"result_format": "COMPLETE",
                           "unexpected_index_column_names": list(table.key)}))
        outcome = checkpoint.run(batch_parameters={"dataframe": frame.to_pandas()},
                                 run_id=RunIdentifier(run_name="build", run_time=_FIXED_RUN_TIME))
        results = []
        for suite_result in outcome.run_results.values():
            for result in suite_result.results:
                config = result.expectation_config
                kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
                failed = [tuple(_plain(row.get(k)) for k in table.key)
                          for row in (result.result or {}).get("unexpected_index_list") or []
                          if isinstance(row, dict)]
                results.append({"type": config.type, "kwargs": kwargs, "success": bool(result.success),
                                "unexpected_count": int((result.result or {}).get("unexpected_count") or 0),
                                "failed_keys": failed, "exception": _exception_text(result)})
        results.sort(key=lambda r: (r["type"], json.dumps(r["kwargs"], sort_keys=True, default=str)))
        return results


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _exception_text(result) -> str | None:
    info = getattr(result, "exception_info", None) or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return str(info.get("exception_message"))[:300]
    return None


def _describe(result: dict) -> str:
    column = result["kwargs"].get("column") or result["kwargs"].get("column_list") or (
        f"{result['kwargs'].get('column_A')}>{result['kwargs'].get('column_B')}")
    return f"{result['type']}({column})"


def failed_rows(table: Table, results: list[dict]) -> dict[tuple, list[str]]:
    """Key tuple -> sorted names of the row-level expectations that row failed.

    Raises RuntimeError when a table-level expectation fails or GX raised (a code or schema bug,
    not bad data).
    """
    failures: dict[tuple, set[str]] = defaultdict(set)
    for result in results:
        if result["exception"]:
            raise RuntimeError(f"{table.name}: {result['type']} raised: {result['exception']}")
        if result["success"]:
            continue
        if not result["failed_keys"]:
            raise RuntimeError(f"{table.name}: table-level expectation failed: {_describe(result)}")
        for key in result["failed_keys"]:
            failures[key].add(_describe(result))
    return {key: sorted(names) for key, names in failures.items()}


def _drop_keys(frame: pl.DataFrame, table: Table, keys) -> pl.DataFrame:
    if not keys or frame.is_empty():
        return frame
    bad = pl.DataFrame([list(k) for k in keys], schema={c: frame.schema[c] for c in table.key},
                       orient="row")
    return frame.join(bad, on=list(table.key), how="anti", nulls_equal=True)


def quarantine(tables: dict[str, pl.DataFrame], failures: dict[str, dict[tuple, list[str]]]) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Remove failing rows from `tables`; return (tables, new rejects for articles/duplicates).

    Articles that fail leave with their quotes and entities; duplicates whose canonical article
    failed are rejected too, since the article they point to is gone.
    """
    articles = tables["articles"]
    bad_articles = failures.get("articles", {})
    bad_ids = {key[0]: names for key, names in bad_articles.items()}
    rejects = []
    for row in articles.filter(pl.col("id").is_in(list(bad_ids))).iter_rows(named=True):
        rejects.append({"source_path": row["source_path"], "stage": STAGE,
                        "reason": str(RejectReason.FAILED_EXPECTATION),
                        "detail": "; ".join(bad_ids[row["id"]])})
    duplicates = tables["duplicates"]
    bad_duplicates = {key[0]: names for key, names in failures.get("duplicates", {}).items()}
    for row in duplicates.iter_rows(named=True):
        if row["article_id"] in bad_duplicates:
            detail = "; ".join(bad_duplicates[row["article_id"]])
        elif row["duplicate_of"] in bad_ids:
            detail = f"duplicate of {row['duplicate_of']}, which failed validation"
        else:
            continue
        rejects.append({"source_path": row["source_path"], "stage": STAGE,
                        "reason": str(RejectReason.FAILED_EXPECTATION), "detail": detail})
    out = dict(tables)
    out["articles"] = articles.filter(~pl.col("id").is_in(list(bad_ids)))
    out["duplicates"] = duplicates.filter(~pl.col("article_id").is_in(list(bad_duplicates))
                                          & ~pl.col("duplicate_of").is_in(list(bad_ids)))
    for name in ("quotes", "entities"):
        kept = out[name].filter(~pl.col("article_id").is_in(list(bad_ids)))
        out[name] = _drop_keys(kept, TABLES[name], list(failures.get(name, {})))
    out["removed_lines"] = _drop_keys(out["removed_lines"], TABLES["removed_lines"],
                                      list(failures.get("removed_lines", {})))
    new_rejects = pl.DataFrame(rejects, schema=TABLES["rejects"].polars_schema)
    return out, new_rejects


def dataset_checks(counts: dict, params: Params) -> list[str]:
    """The dataset-level thresholds that fail, each as one line ([] when the dataset is fit)."""
    problems = []
    inputs = counts["articles"] + counts["duplicates"] + counts["rejects"]
    rate = counts["rejects"] / inputs if inputs else 0.0
    if rate > params.validate.max_reject_rate:
        problems.append(f"reject rate {rate:.1%} ({counts['rejects']} of {inputs} inputs) is over "
                        f"validate.max_reject_rate={params.validate.max_reject_rate}")
    if counts["articles"] < params.validate.min_articles:
        problems.append(f"{counts['articles']} articles published, fewer than "
                        f"validate.min_articles={params.validate.min_articles}")
    return problems


def _read_all(stage_dir: Path, table: str) -> pl.DataFrame:
    return read_table(stage_dir, table) if table_parts(stage_dir, table) else TABLES[table].empty_frame()


def run(dedup_dir: Path, clean_dir: Path, ingest_dir: Path, out_dir: Path, params: Params,
        suites_dir: Path, docs_dir: Path | None, metrics_path: Path) -> dict:
    """Validate all tables, write the validated tables, metrics and Data Docs; return the metrics.

    Raises DatasetUnfit after writing when a dataset-level threshold fails.
    """
    tables = {
        "articles": _read_all(dedup_dir, "articles"),
        "quotes": _read_all(dedup_dir, "quotes"),
        "entities": _read_all(dedup_dir, "entities"),
        "duplicates": _read_all(dedup_dir, "duplicates"),
        "removed_lines": _read_all(clean_dir, "removed_lines"),
    }
    upstream_rejects = pl.concat([_read_all(ingest_dir, "rejects"), _read_all(clean_dir, "rejects")])
    runner = SuiteRunner(docs_dir)
    failures, suite_metrics = {}, {}
    for name, frame in tables.items():
        table = TABLES[name]
        results = runner.run(table, table.conform(frame), load_suite(suites_dir, name))
        failures[name] = failed_rows(table, results)
        suite_metrics[name] = {"rows": frame.height, "failed_rows": len(failures[name]),
                               "expectations": len(results),
                               "failed_expectations": sum(not r["success"] for r in results)}
    tables, quarantined = quarantine(tables, failures)
    rejects = TABLES["rejects"].conform(pl.concat([upstream_rejects, quarantined]))
    rejects_results = runner.run(TABLES["rejects"], rejects, load_suite(suites_dir, "rejects"))
    failed_rows(TABLES["rejects"], rejects_results)  # a bad reject row is a code bug: raise
    suite_metrics["rejects"] = {"rows": rejects.height, "failed_rows": 0,
                                "expectations": len(rejects_results), "failed_expectations": 0}
    tables["rejects"] = rejects

    out_dir = Path(out_dir)
    for name, frame in tables.items():
        write_parquet(TABLES[name].conform(frame), out_dir / name / shard_part_name(0))
    counts = {"articles": tables["articles"].height, "duplicates": tables["duplicates"].height,
              "rejects": rejects.height, "quotes": tables["quotes"].height,
              "entities": tables["entities"].height, "removed_lines": tables["removed_lines"].height}
    problems = dataset_checks(counts, params)
    inputs = counts["articles"] + counts["duplicates"] + counts["rejects"]
    metrics = {
        "success": not problems,
        "problems": problems,
        "inputs": inputs,
        "reject_rate": round(counts["rejects"] / inputs, 6) if inputs else 0.0,
        "counts": counts,
        "rejects_by_reason": dict(sorted(rejects.group_by("reason").len().iter_rows())),
        "quarantined": quarantined.height,
        "suites": suite_metrics,
    }
    write_json(metrics, metrics_path)
    if problems:
        raise DatasetUnfit("; ".join(problems))
    return metrics
