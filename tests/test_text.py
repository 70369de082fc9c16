import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from pipeline.text import fold_for_compare, fold_quotes

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
