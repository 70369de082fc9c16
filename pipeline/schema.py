"""One declaration per published table: columns, dtypes, nullability and named row rules.

Everything else is derived from here, never written by hand: the Polars schema used to cast
frames before writing, the Great Expectations suites committed under `schemas/expectations/`
(`python -m pipeline schemas` regenerates them), the Hugging Face `features` of the dataset card
and the DuckDB DDL of the snapshot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from pipeline.reasons import RejectReason, RemovalReason

UTC_TIMESTAMP = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    nullable: bool = False
    description: str = ""


@dataclass(frozen=True)
class Rule:
    """A row-level expectation: a Great Expectations type and its kwargs."""

    expectation: str
    kwargs: dict
    why: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    rules: tuple[Rule, ...] = field(default=())
    has_splits: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    def empty_frame(self) -> pl.DataFrame:
        """A frame with this table's columns and no rows."""
        return pl.DataFrame(schema=self.polars_schema)

    def conform(self, frame: pl.DataFrame, *, sort: bool = True) -> pl.DataFrame:
        """Select this table's columns in order, cast to their dtypes, sorted by the key (unless
        `sort=False`, for a frame its caller already put in key order).

        Raises KeyError naming a missing column.
        """
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            raise KeyError(f"{self.name}: missing columns {missing}")
        out = frame.select([pl.col(c.name).cast(c.dtype) for c in self.columns])
        return out.sort(list(self.key), maintain_order=True) if out.height and sort else out


def _s(name: str, description: str, nullable: bool = False) -> Column:
    return Column(name, pl.String, nullable, description)


_HEX64 = r"^[0-9a-f]{64}$"
_ID = r"^[0-9a-f]{16}$"

ARTICLES = Table(
    name="articles",
    description="One row per published article: cleaned text and extracted fields.",
    has_splits=True,
    key=("id",),
    columns=(
        _s("id", "Stable article id: 16 hex of sha256 of the source path (and JSONL line)."),
        _s("source_id", "Id the source carries: hex id in the file name, JSONL id/url, or path hash."),
        _s("source_path", "Path of the input relative to the input folder (JSONL: path#line)."),
        _s("source_format", "txt, html or jsonl."),
        _s("url", "Canonical URL when the source gives one.", nullable=True),
        _s("domain", "Host name of `url`, without a leading www.", nullable=True),
        _s("title", "Headline."),
        _s("subtitle", "Standfirst under the headline, when there is one.", nullable=True),
        Column("authors", pl.List(pl.String), description="Authors from metadata or the byline."),
        Column("published_at", UTC_TIMESTAMP, nullable=True,
               description="Publication time in UTC, when the source states one."),
        _s("dateline", "Place (and agency) dateline opening the body, e.g. 'NAIROBI, Kenya (Reuters)'.",
           nullable=True),
        _s("language", "ISO 639-1 code from an offline detector, or 'und'."),
        Column("language_score", pl.Float64, description="Detector confidence, 0 to 1."),
        _s("body", "Clean paragraphs joined by a blank line."),
        Column("paragraphs", pl.List(pl.String), description="Clean paragraphs in order."),
        Column("word_count", pl.Int64, description="Words in the body."),
        Column("outlets", pl.List(pl.String), description="News outlets cited as sources."),
        _s("content_sha256", "sha256 of the normalised body (exact-duplicate key)."),
        _s("split", "train, validation or test, by a hash of the duplicate cluster."),
    ),
    rules=(
        Rule("expect_column_values_to_match_regex", {"column": "id", "regex": _ID},
             "ids are 16 lowercase hex digits"),
        Rule("expect_column_values_to_be_in_set",
             {"column": "source_format", "value_set": ["html", "jsonl", "txt"]}, "known input formats"),
        Rule("expect_column_value_lengths_to_be_between",
             {"column": "title", "min_value": 1, "max_value": 1000}, "a title is present and plausible"),
        Rule("expect_column_value_lengths_to_be_between",
             {"column": "body", "min_value": 1}, "a body is present"),
        Rule("expect_column_values_to_match_regex",
             {"column": "language", "regex": r"^(?:[a-z]{2,3}|und)$"}, "ISO 639 code or 'und'"),
        Rule("expect_column_values_to_be_between",
             {"column": "language_score", "min_value": 0.0, "max_value": 1.0}, "a probability"),
        Rule("expect_column_values_to_be_between",
             {"column": "word_count", "min_value": 1}, "an article has words"),
        Rule("expect_column_values_to_match_regex",
             {"column": "content_sha256", "regex": _HEX64}, "a sha256 hex digest"),
    ),
)

QUOTES = Table(
    name="quotes",
    description="Direct quotations in article bodies, with their speakers.",
    has_splits=True,
    key=("article_id", "index"),
    columns=(
        _s("article_id", "The article the quote is in."),
        Column("index", pl.Int64, description="Order of the quote in the article, from 0."),
        _s("text", "The quoted words, without the quote marks."),
        _s("speaker", "Who is quoted, resolved to the fullest name in the article.", nullable=True),
        Column("start", pl.Int64, description="Offset of the quoted text in `articles.body`."),
        Column("end", pl.Int64, description="End offset (exclusive) in `articles.body`."),
        Column("partial", pl.Boolean, description="True when the quote is part of a sentence."),
        _s("split", "The split of the article."),
    ),
    rules=(
        Rule("expect_column_value_lengths_to_be_between", {"column": "text", "min_value": 1},
             "a quote has text"),
        Rule("expect_column_values_to_be_between", {"column": "start", "min_value": 0},
             "offsets are non-negative"),
        Rule("expect_column_pair_values_a_to_be_greater_than_b",
             {"column_A": "end", "column_B": "start", "or_equal": False}, "end after start"),
    ),
)

ENTITIES = Table(
    name="entities",
    description="Named entities in article bodies, with a canonical form per article.",
    has_splits=True,
    key=("article_id", "start", "end"),
    columns=(
        _s("article_id", "The article the entity is in."),
        _s("text", "The entity as written."),
        _s("label", "PERSON, ORG, GPE, LOC, FAC, EVENT, NORP, …"),
        _s("canonical", "One name for all variants of this entity in the article."),
        Column("start", pl.Int64, description="Offset in `articles.body`."),
        Column("end", pl.Int64, description="End offset (exclusive) in `articles.body`."),
        _s("split", "The split of the article."),
    ),
    rules=(
        Rule("expect_column_value_lengths_to_be_between", {"column": "text", "min_value": 1},
             "an entity has text"),
        Rule("expect_column_pair_values_a_to_be_greater_than_b",
             {"column_A": "end", "column_B": "start", "or_equal": False}, "end after start"),
    ),
)

DUPLICATES = Table(
    name="duplicates",
    description="Inputs whose article duplicates a published one.",
    key=("article_id",),
    columns=(
        _s("article_id", "Id the duplicate would have had."),
        _s("source_path", "Its input path."),
        _s("duplicate_of", "Id of the published (canonical) article of its cluster."),
        _s("kind", "exact (same normalised body) or near (MinHash Jaccard over the threshold)."),
        Column("similarity", pl.Float64, description="Jaccard similarity to the canonical, 1.0 if exact."),
        _s("split", "The split of the canonical article."),
    ),
    rules=(
        Rule("expect_column_values_to_be_in_set", {"column": "kind", "value_set": ["exact", "near"]},
             "two kinds of duplicate"),
        Rule("expect_column_values_to_be_between",
             {"column": "similarity", "min_value": 0.0, "max_value": 1.0}, "a Jaccard similarity"),
    ),
)

REJECTS = Table(
    name="rejects",
    description="Inputs that are not articles, with the stage and reason.",
    key=("source_path",),
    columns=(
        _s("source_path", "Input path (JSONL: path#line)."),
        _s("stage", "The stage that rejected it."),
        _s("reason", "A code from the closed list of reasons."),
        _s("detail", "What exactly was wrong."),
    ),
    rules=(
        Rule("expect_column_values_to_be_in_set",
             {"column": "reason", "value_set": sorted(r.value for r in RejectReason)}, "known reasons"),
        Rule("expect_column_values_to_be_in_set",
             {"column": "stage",
              "value_set": ["clean", "dedup", "extract", "ingest", "publish", "validate"]},
             "known stages"),
    ),
)

REMOVED_LINES = Table(
    name="removed_lines",
    description="Every line cleaning removed from an article, with the reason.",
    key=("article_id", "line_no"),
    columns=(
        _s("article_id", "The article the line was removed from."),
        Column("line_no", pl.Int64, description="Line number in the (repaired) source text, from 1."),
        _s("text", "The removed line."),
        _s("reason", "Why it was removed."),
    ),
    rules=(
        Rule("expect_column_values_to_be_in_set",
             {"column": "reason", "value_set": sorted(r.value for r in RemovalReason)}, "known reasons"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (ARTICLES, QUOTES, ENTITIES, DUPLICATES, REJECTS,
                                                 REMOVED_LINES)}


def expectation_suite(table: Table) -> dict:
    """The Great Expectations 1.x suite of `table` as plain JSON-ready data.

    Structural checks (columns exist, non-null, unique key) come first, then the table's rules.
    """
    expectations = [
        {"type": "expect_table_columns_to_match_ordered_list", "kwargs": {"column_list": table.names},
         "meta": {"why": "the published column contract"}},
    ]
    for column in table.columns:
        if not column.nullable:
            expectations.append({"type": "expect_column_values_to_not_be_null",
                                 "kwargs": {"column": column.name}, "meta": {"why": "required"}})
    if len(table.key) == 1:
        expectations.append({"type": "expect_column_values_to_be_unique",
                             "kwargs": {"column": table.key[0]}, "meta": {"why": "the key"}})
    else:
        expectations.append({"type": "expect_compound_columns_to_be_unique",
                             "kwargs": {"column_list": list(table.key)}, "meta": {"why": "the key"}})
    for rule in table.rules:
        expectations.append({"type": rule.expectation, "kwargs": rule.kwargs, "meta": {"why": rule.why}})
    return {"name": table.name, "expectations": expectations,
            "meta": {"generated_from": "pipeline/schema.py"}, "notes": table.description}


def suite_json(table: Table) -> str:
    """The suite of `table` serialised exactly as committed in `schemas/expectations/`."""
    return json.dumps(expectation_suite(table), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_HF_DTYPES = {pl.String: "string", pl.Int64: "int64", pl.Float64: "float64", pl.Boolean: "bool"}
_DUCKDB_TYPES = {pl.String: "VARCHAR", pl.Int64: "BIGINT", pl.Float64: "DOUBLE", pl.Boolean: "BOOLEAN"}


def hf_features(table: Table) -> list[dict]:
    """The `features` list of the dataset card's `dataset_info` for `table`."""
    features = []
    for column in table.columns:
        if isinstance(column.dtype, pl.List):
            features.append({"name": column.name, "list": _HF_DTYPES[column.dtype.inner]})
        elif isinstance(column.dtype, pl.Datetime):
            features.append({"name": column.name, "dtype": "timestamp[us, tz=UTC]"})
        else:
            features.append({"name": column.name, "dtype": _HF_DTYPES[column.dtype]})
    return features


def duckdb_ddl(table: Table) -> str:
    """`CREATE TABLE` for `table` in the DuckDB snapshot, with NOT NULL and the primary key."""
    lines = []
    for column in table.columns:
        if isinstance(column.dtype, pl.List):
            sql_type = _DUCKDB_TYPES[column.dtype.inner] + "[]"
        elif isinstance(column.dtype, pl.Datetime):
            sql_type = "TIMESTAMPTZ"
        else:
            sql_type = _DUCKDB_TYPES[column.dtype]
        lines.append(f'  "{column.name}" {sql_type}{"" if column.nullable else " NOT NULL"}')
    lines.append(f"  PRIMARY KEY ({', '.join(chr(34) + k + chr(34) for k in table.key)})")
    return f"CREATE TABLE {table.name} (\n" + ",\n".join(lines) + "\n)"
