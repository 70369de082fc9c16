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

Memory is bounded by the batch size, not the corpus: each table is validated in batches of
consecutive shards (at most `BATCH_BYTES` of Polars data each; a larger shard is cut into row
slices), one output part per batch. The per-batch GX results are merged into one result per
table, the one GX reports for the whole table: counts summed, unexpected values and rows
concatenated. Uniqueness across batches, the only expectation a batch cannot see whole, is
checked on hashes of the key columns and its cross-batch duplicates are added to the merged result.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.config import Params
from pipeline.io import shard_part_name, table_parts, write_json, write_parquet
from pipeline.reasons import RejectReason
from pipeline.schema import TABLES, Table

STAGE = "validate"
# GX stamps Data Docs with a run time; a fixed one keeps the report's paths stable across builds.
_FIXED_RUN_TIME = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
# Polars bytes per validated batch: pandas and GX hold a few times this while a batch runs.
BATCH_BYTES = 64 * 2**20
# GX's default length of the partial lists in a result (`partial_unexpected_count`).
_PARTIAL = 20
_UNIQUENESS = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})


class DatasetUnfit(Exception):
    """The dataset fails a dataset-level threshold; the message says which and by how much."""


def load_suite(suites_dir: Path, table: str) -> dict:
    """The suite JSON of `table` from `suites_dir` (as written by `python -m pipeline schemas`)."""
    path = Path(suites_dir) / f"{table}.json"
    if not path.is_file():
        raise FileNotFoundError(f"expectation suite missing: {path} (run `python -m pipeline schemas`)")
    return json.loads(path.read_text(encoding="utf-8"))


def batches(frames: Iterator[pl.DataFrame], batch_bytes: int) -> Iterator[pl.DataFrame]:
    """Regroup `frames` (shards, in order) into frames of about `batch_bytes` each, same row order.

    Consecutive small frames are concatenated; a frame larger than `batch_bytes` is cut into
    row slices. Empty frames are dropped.
    """
    pending, size = [], 0
    for frame in frames:
        if frame.is_empty():
            continue
        frame_bytes = frame.estimated_size()
        if frame_bytes > batch_bytes:
            if pending:
                yield pl.concat(pending, how="vertical_relaxed")
                pending, size = [], 0
            rows = max(1, frame.height * batch_bytes // frame_bytes)
            for offset in range(0, frame.height, rows):
                yield frame.slice(offset, rows)
            continue
        if pending and size + frame_bytes > batch_bytes:
            yield pl.concat(pending, how="vertical_relaxed")
            pending, size = [], 0
        pending.append(frame)
        size += frame_bytes
    if pending:
        yield pl.concat(pending, how="vertical_relaxed")


def _percent(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole > 0 else None


def _with_derived_fields(result: dict) -> dict:
    """Recompute the percentages and partial lists of a merged column-map result as GX does."""
    element = result["element_count"]
    unexpected = result["unexpected_count"]
    if "missing_count" in result:
        nonmissing = element - result["missing_count"]
        result["missing_percent"] = _percent(result["missing_count"], element)
        result["unexpected_percent_total"] = _percent(unexpected, element)
        result["unexpected_percent_nonmissing"] = _percent(unexpected, nonmissing) if element else None
        result["unexpected_percent"] = result["unexpected_percent_nonmissing"]
    else:
        result["unexpected_percent"] = _percent(unexpected, element)
    if "unexpected_list" in result:
        values = result["unexpected_list"]
        result["partial_unexpected_list"] = values[:_PARTIAL]
        hashable = [tuple(v.values()) if isinstance(v, dict) else v for v in values]
        try:
            result["partial_unexpected_counts"] = [
                {"value": value, "count": count} for value, count in
                sorted(Counter(hashable).most_common(_PARTIAL), key=lambda x: (-x[1], x[0]))]
        except TypeError:
            result["partial_unexpected_counts"] = [{"error": "partial_exception_counts requires a hashable type"}]
    if "unexpected_index_list" in result:
        result["partial_unexpected_index_list"] = result["unexpected_index_list"][:_PARTIAL]
    return result


def _map_success(result: dict, kwargs: dict) -> bool:
    nonmissing = result["element_count"] - result.get("missing_count", 0)
    if nonmissing <= 0:
        return True
    return (nonmissing - result["unexpected_count"]) / nonmissing >= kwargs.get("mostly", 1)


def merge_result(merged: dict, batch: dict) -> dict:
    """One column-map result from the results of two consecutive batches (counts summed, value
    and row lists concatenated, percentages and partial lists recomputed)."""
    out = dict(merged)
    for name in ("element_count", "unexpected_count", "missing_count"):
        if name in out:
            out[name] += batch.get(name, 0)
    for name in ("unexpected_list", "unexpected_index_list"):
        if name in out:
            out[name] = list(out[name]) + list(batch.get(name) or [])
    return _with_derived_fields(out)


def _expectation_key(expectation_config) -> tuple[str, str]:
    kwargs = {k: v for k, v in expectation_config.kwargs.items() if k != "batch_id"}
    return expectation_config.type, json.dumps(kwargs, sort_keys=True, default=str)


class SuiteRunner:
    """Runs suites on pandas frames in one ephemeral GX context, writing Data Docs to a folder.

    For each table: `begin`, then `add_batch` for every batch, then `finish`, which merges the
    batch results into the table's result and renders it into the Data Docs.
    """

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
        self._table: Table | None = None
        self._definition = None
        self._merged = None

    def begin(self, table: Table, suite: dict) -> None:
        """Start validating `table` against `suite` (the suite JSON)."""
        gx = self._gx
        suite = dict(suite)
        suite.pop("id", None)
        gx_suite = self.context.suites.add(gx.ExpectationSuite(**suite))
        batch = self.source.add_dataframe_asset(table.name).add_batch_definition_whole_dataframe("all")
        self._definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=table.name, data=batch, suite=gx_suite))
        self._table, self._merged = table, None

    def add_batch(self, frame: pl.DataFrame) -> None:
        """Validate one batch of the current table and merge its result into the table's."""
        from great_expectations.core.run_identifier import RunIdentifier

        outcome = self._definition.run(
            batch_parameters={"dataframe": frame.to_pandas()},
            result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False,
                           "unexpected_index_column_names": list(self._table.key)},
            run_id=RunIdentifier(run_name="build", run_time=_FIXED_RUN_TIME))
        if self._merged is None:
            self._merged = outcome
            return
        batch_results = {_expectation_key(r.expectation_config): r for r in outcome.results}
        for result in self._merged.results:
            other = batch_results[_expectation_key(result.expectation_config)]
            if other.exception_info and other.exception_info.get("raised_exception") \
                    and not (result.exception_info or {}).get("raised_exception"):
                result.exception_info = other.exception_info
            if "element_count" in (result.result or {}):
                result.result = merge_result(result.result, other.result or {})
                result.success = _map_success(result.result, result.expectation_config.kwargs)
            else:
                result.success = bool(result.success and other.success)

    def add_unexpected_rows(self, expectation_type: str, columns: list[str], rows: pl.DataFrame) -> None:
        """Add `rows` (the checked `columns` and the key) as unexpected to the merged result of
        the expectation `expectation_type` on `columns` (uniqueness across batches)."""
        key = list(self._table.key)
        for result in self._merged.results:
            config = result.expectation_config
            if config.type != expectation_type or _expectation_columns(config.kwargs) != columns:
                continue
            records = rows.to_dicts()
            values = [r[columns[0]] if len(columns) == 1 else {c: r[c] for c in columns} for r in records]
            index = [{**{c: r[c] for c in columns}, **{k: r[k] for k in key}} for r in records]
            result.result = merge_result(result.result, {"element_count": 0, "missing_count": 0,
                                                         "unexpected_count": len(records),
                                                         "unexpected_list": values,
                                                         "unexpected_index_list": index})
            result.success = _map_success(result.result, config.kwargs)

    def finish(self) -> list[dict]:
        """Render the table's merged result into the Data Docs; return one dict per expectation.

        Each result: type, kwargs, success, unexpected_count, failed_keys (list of key tuples).
        """
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier, ValidationResultIdentifier)

        merged, table = self._merged, self._table
        successful = sum(bool(r.success) for r in merged.results)
        merged.success = successful == len(merged.results)
        merged.statistics.update({
            "evaluated_expectations": len(merged.results), "successful_expectations": successful,
            "unsuccessful_expectations": len(merged.results) - successful,
            "success_percent": _percent(successful, len(merged.results))})
        merged.meta.get("batch_markers", {}).pop("pandas_data_fingerprint", None)
        if self.docs_dir is not None:
            suite_id = ExpectationSuiteIdentifier(name=table.name)
            result_id = ValidationResultIdentifier(expectation_suite_identifier=suite_id,
                                                   run_id=merged.meta["run_id"],
                                                   batch_identifier=merged.batch_id)
            self.context.validation_results_store.set(result_id, merged)
            self.context.build_data_docs(site_names=["reports"], resource_identifiers=[result_id, suite_id])
        results = []
        for result in merged.results:
            config = result.expectation_config
            kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
            failed = [tuple(_plain(row.get(k)) for k in table.key)
                      for row in (result.result or {}).get("unexpected_index_list") or []
                      if isinstance(row, dict)]
            results.append({"type": config.type, "kwargs": kwargs, "success": bool(result.success),
                            "unexpected_count": int((result.result or {}).get("unexpected_count") or 0),
                            "failed_keys": failed, "exception": _exception_text(result)})
        results.sort(key=lambda r: (r["type"], json.dumps(r["kwargs"], sort_keys=True, default=str)))
        self._merged = self._definition = self._table = None
        return results


def _expectation_columns(kwargs: dict) -> list[str]:
    value = kwargs.get("column_list") or kwargs.get("column")
    return list(value) if isinstance(value, (list, tuple)) else [value]


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


def _present(columns: list[str]) -> pl.Expr:
    """Rows GX's uniqueness checks look at: not every checked column missing."""
    return ~pl.all_horizontal(pl.col(c).is_null() for c in columns)


def _value_hashes(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    return frame.filter(_present(columns)).select(pl.struct(columns).hash().alias("h"))["h"].unique()


def cross_batch_duplicates(parts: list[Path], columns: list[str], key: list[str],
                           hashes: list[pl.Series]) -> list[pl.DataFrame]:
    """Per written batch part: its rows whose `columns` values also occur in another batch,
    unless that value is repeated inside the batch too (GX already reported those).

    `hashes[i]` are the distinct hashes of the values in part i; only parts holding a hash seen
    in two or more parts are read again, and candidates are confirmed on the values themselves.
    """
    empty = [pl.DataFrame() for _ in parts]
    if len(parts) < 2:
        return empty
    # sorting the hashes needs 8 bytes a row, about a third of what counting them in a table needs
    ordered = np.sort(pl.concat(hashes).to_numpy())
    candidates = pl.Series(np.unique(ordered[1:][ordered[1:] == ordered[:-1]]))
    del ordered
    if candidates.is_empty():
        return empty
    wanted = list(dict.fromkeys(columns + key))
    found = []
    for index, part in enumerate(parts):
        rows = pl.read_parquet(part, columns=wanted).filter(_present(columns))
        rows = rows.with_columns(pl.len().over(columns).alias("_in_batch"))
        rows = rows.filter(pl.struct(columns).hash().is_in(candidates))
        found.append(rows.with_columns(pl.lit(index).alias("_part")))
    found = pl.concat(found)
    shared = found.group_by(columns).agg(pl.col("_part").n_unique().alias("_parts")).filter(pl.col("_parts") > 1)
    extra = found.join(shared.select(columns), on=columns, nulls_equal=True).filter(pl.col("_in_batch") == 1)
    return [extra.filter(pl.col("_part") == index).select(wanted) for index in range(len(parts))]


def validate_table(runner: SuiteRunner, table: Table, frames: Iterator[pl.DataFrame], suite: dict,
                   out_dir: Path, batch_bytes: int) -> tuple[list[dict], int, list[Path]]:
    """Validate `frames` (the table's shards, in order) batch by batch and write each conformed
    batch as a part under `out_dir/<table>`; return (merged results, rows, parts written)."""
    runner.begin(table, suite)
    uniqueness = [(e["type"], _expectation_columns(e["kwargs"])) for e in suite["expectations"]
                  if e["type"] in _UNIQUENESS]
    hashes: dict[int, list[pl.Series]] = {i: [] for i in range(len(uniqueness))}
    parts, rows = [], 0
    for batch in batches(frames, batch_bytes):
        batch = table.conform(batch)
        runner.add_batch(batch)
        for i, (_, columns) in enumerate(uniqueness):
            hashes[i].append(_value_hashes(batch, columns))
        parts.append(Path(out_dir) / table.name / shard_part_name(len(parts)))
        write_parquet(batch, parts[-1])
        rows += batch.height
    if not parts:  # an empty table: one empty batch, so that the table-level checks still run
        empty = table.empty_frame()
        runner.add_batch(empty)
        parts.append(Path(out_dir) / table.name / shard_part_name(0))
        write_parquet(empty, parts[-1])
    for i, (expectation_type, columns) in enumerate(uniqueness):
        extra = cross_batch_duplicates(parts, columns, list(table.key), hashes[i])
        for found in extra:
            if found.height:
                runner.add_unexpected_rows(expectation_type, columns, found)
    return runner.finish(), rows, parts


def _drop_keys(frame: pl.DataFrame, table: Table, keys) -> pl.DataFrame:
    if not keys or frame.is_empty():
        return frame
    bad = pl.DataFrame([list(k) for k in keys], schema={c: frame.schema[c] for c in table.key},
                       orient="row")
    return frame.join(bad, on=list(table.key), how="anti", nulls_equal=True)


def quarantined_rejects(article_parts: list[Path], duplicate_parts: list[Path],
                        failures: dict[str, dict[tuple, list[str]]]) -> pl.DataFrame:
    """The new `rejects` rows: articles failing a row-level expectation, duplicates failing one,
    and duplicates whose canonical article failed (the article they point to is gone)."""
    bad_ids = {key[0]: names for key, names in failures.get("articles", {}).items()}
    bad_duplicates = {key[0]: names for key, names in failures.get("duplicates", {}).items()}
    rejects = []
    if bad_ids:
        for part in article_parts:
            for row in pl.read_parquet(part, columns=["id", "source_path"]).filter(
                    pl.col("id").is_in(list(bad_ids))).iter_rows(named=True):
                rejects.append({"source_path": row["source_path"], "stage": STAGE,
                                "reason": str(RejectReason.FAILED_EXPECTATION),
                                "detail": "; ".join(bad_ids[row["id"]])})
    if bad_ids or bad_duplicates:
        for part in duplicate_parts:
            duplicates = pl.read_parquet(part, columns=["article_id", "source_path", "duplicate_of"])
            for row in duplicates.filter(pl.col("article_id").is_in(list(bad_duplicates))
                                         | pl.col("duplicate_of").is_in(list(bad_ids))).iter_rows(named=True):
                if row["article_id"] in bad_duplicates:
                    detail = "; ".join(bad_duplicates[row["article_id"]])
                else:
                    detail = f"duplicate of {row['duplicate_of']}, which failed validation"
                rejects.append({"source_path": row["source_path"], "stage": STAGE,
                                "reason": str(RejectReason.FAILED_EXPECTATION), "detail": detail})
    return pl.DataFrame(rejects, schema=TABLES["rejects"].polars_schema)


def quarantine_part(name: str, frame: pl.DataFrame, failures: dict[str, dict[tuple, list[str]]]) -> pl.DataFrame:
    """`frame` (a part of table `name`) without its quarantined rows.

    Articles that fail leave with their quotes and entities; duplicates that fail, or whose
    canonical article failed, leave too.
    """
    bad_ids = [key[0] for key in failures.get("articles", {})]
    if name == "articles":
        return frame.filter(~pl.col("id").is_in(bad_ids))
    if name == "duplicates":
        bad_duplicates = [key[0] for key in failures.get("duplicates", {})]
        return frame.filter(~pl.col("article_id").is_in(bad_duplicates) & ~pl.col("duplicate_of").is_in(bad_ids))
    if name in ("quotes", "entities"):
        frame = frame.filter(~pl.col("article_id").is_in(bad_ids))
    return _drop_keys(frame, TABLES[name], list(failures.get(name, {})))


def _loses_rows(name: str, failures: dict[str, dict[tuple, list[str]]]) -> bool:
    """Whether quarantine can remove rows of table `name`."""
    if failures.get(name):
        return True
    if name == "duplicates" and failures.get("articles"):
        return True
    return name in ("quotes", "entities") and bool(failures.get("articles"))


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


def _shards(*stage_dirs_and_table: tuple[Path, str]) -> Iterator[pl.DataFrame]:
    for stage_dir, table in stage_dirs_and_table:
        for part in table_parts(stage_dir, table):
            yield pl.read_parquet(part)


def run(dedup_dir: Path, clean_dir: Path, ingest_dir: Path, out_dir: Path, params: Params,
        suites_dir: Path, docs_dir: Path | None, metrics_path: Path, batch_bytes: int = BATCH_BYTES) -> dict:
    """Validate all tables, write the validated tables, metrics and Data Docs; return the metrics.

    Tables are read, validated and written in batches of about `batch_bytes`; the outputs do
    not depend on it. Raises DatasetUnfit after writing when a dataset-level threshold fails.
    """
    sources = {"articles": dedup_dir, "quotes": dedup_dir, "entities": dedup_dir,
               "duplicates": dedup_dir, "removed_lines": clean_dir}
    runner = SuiteRunner(docs_dir)
    failures, suite_metrics, parts = {}, {}, {}
    for name, stage_dir in sources.items():
        table = TABLES[name]
        results, rows, parts[name] = validate_table(runner, table, _shards((stage_dir, name)),
                                                    load_suite(suites_dir, name), out_dir, batch_bytes)
        failures[name] = failed_rows(table, results)
        suite_metrics[name] = {"rows": rows, "failed_rows": len(failures[name]),
                               "expectations": len(results),
                               "failed_expectations": sum(not r["success"] for r in results)}
    quarantined = quarantined_rejects(parts["articles"], parts["duplicates"], failures)
    counts = {}
    for name in sources:
        counts[name] = suite_metrics[name]["rows"]
        if not _loses_rows(name, failures):
            continue
        for part in parts[name]:
            frame = pl.read_parquet(part)
            kept = quarantine_part(name, frame, failures)
            if kept.height != frame.height:
                write_parquet(kept, part)
                counts[name] -= frame.height - kept.height

    def reject_frames() -> Iterator[pl.DataFrame]:
        yield from _shards((ingest_dir, "rejects"), (clean_dir, "rejects"))
        yield quarantined

    rejects_results, rejects_rows, rejects_parts = validate_table(
        runner, TABLES["rejects"], reject_frames(), load_suite(suites_dir, "rejects"), out_dir, batch_bytes)
    failed_rows(TABLES["rejects"], rejects_results)  # a bad reject row is a code bug: raise
    suite_metrics["rejects"] = {"rows": rejects_rows, "failed_rows": 0,
                                "expectations": len(rejects_results), "failed_expectations": 0}
    counts["rejects"] = rejects_rows
    by_reason: Counter = Counter()
    for part in rejects_parts:
        by_reason.update(dict(pl.read_parquet(part, columns=["reason"]).group_by("reason").len().iter_rows()))

    problems = dataset_checks(counts, params)
    inputs = counts["articles"] + counts["duplicates"] + counts["rejects"]
    metrics = {
        "success": not problems,
        "problems": problems,
        "inputs": inputs,
        "reject_rate": round(counts["rejects"] / inputs, 6) if inputs else 0.0,
        "counts": counts,
        "rejects_by_reason": dict(sorted(by_reason.items())),
        "quarantined": quarantined.height,
        "suites": suite_metrics,
    }
    write_json(metrics, metrics_path)
    if problems:
        raise DatasetUnfit("; ".join(problems))
    return metrics
