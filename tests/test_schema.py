import polars as pl
import pytest

from pipeline.schema import ARTICLES, TABLES, duckdb_ddl, hf_features, suite_json
from tests.conftest import REPO


@pytest.mark.parametrize("name", sorted(TABLES))
def test_committed_suites_are_generated_from_schema_py(name):
    committed = (REPO / "schemas" / "expectations" / f"{name}.json").read_text(encoding="utf-8")
    assert committed == suite_json(TABLES[name]), "run `python -m pipeline schemas` and commit"


def test_conform_orders_columns_casts_and_sorts_by_key():
    row = {c: None for c in ARTICLES.names} | {"id": "b", "authors": [], "paragraphs": [], "outlets": []}
    other = dict(row, id="a")
    frame = pl.DataFrame([row, other]).select(list(reversed(ARTICLES.names)))
    out = ARTICLES.conform(frame)
    assert out.columns == ARTICLES.names
    assert out["id"].to_list() == ["a", "b"]
    assert out.schema["published_at"] == pl.Datetime("us", "UTC")


def test_hf_features_and_duckdb_ddl_cover_every_column():
    assert [f["name"] for f in hf_features(ARTICLES)] == ARTICLES.names
    ddl = duckdb_ddl(ARTICLES)
    assert '"authors" VARCHAR[] NOT NULL' in ddl and '"published_at" TIMESTAMPTZ,' in ddl
    assert 'PRIMARY KEY ("id")' in ddl
