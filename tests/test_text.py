import re
import unicodedata

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipeline.text import casefolded_words, fold_for_compare, fold_quotes, word_count, word_counts

PIECES = st.lists(st.one_of(st.sampled_from(["`", "'", "_", "Biden", "‘X’", "\u200b", "\u00a0", "—", "ﬁ", "Ⅻ",
                                             "İ", "ß", "  ", "\n", "12", "é", "e\u0301"]),
                            st.text(max_size=6)), max_size=20).map("".join)


def folded_by_definition(text: str) -> str:
    """fold_for_compare as its docstring defines it, without the ASCII shortcut."""
    text = unicodedata.normalize("NFKC", fold_quotes(text)).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


def test_lines_that_differ_in_quotes_case_punctuation_or_spacing_fold_alike():
    assert fold_for_compare("Biden orders ‘X’ in Syria") == fold_for_compare("BIDEN orders 'X'  in Syria") \
        == "biden orders x in syria"
    assert fold_for_compare("snake_case — and `ticks`") == "snake case and ticks"


@given(PIECES)
def test_the_ascii_shortcut_folds_as_the_definition(text):
    assert fold_for_compare(text) == folded_by_definition(text)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_text_folds_as_the_definition(text):
    assert fold_for_compare(text) == folded_by_definition(text)


# characters where Python's \w and the Rust regex engine's \w disagree, and their neighbours
WORD_PIECES = st.lists(st.one_of(st.sampled_from(["e\u0301", "\u0301", "²", "½", "Ⅻ", "_", "‿", "\u200d", "\u0903",
                                                  "٣", "x", " ", "\n", "-", "日本", "𝔘", "\U0010ffff", "\x00"]),
                                 st.text(max_size=6)), max_size=20).map("".join)


@given(st.lists(WORD_PIECES, max_size=8))
def test_polars_counts_the_words_word_count_counts(texts):
    counted = pl.DataFrame({"text": texts}, schema={"text": pl.String}).select(word_counts(pl.col("text")))
    assert counted["text"].to_list() == [word_count(text) for text in texts]


@given(PIECES)
def test_casefolded_words_are_the_word_tokens_each_casefolded(text):
    assert casefolded_words(text) == [t.casefold() for t in re.findall(r"\w+", text)]


def test_a_dotted_capital_i_stays_one_token():
    assert casefolded_words("İstanbul's ÉTÉ") == ["i̇stanbul", "s", "été"]
