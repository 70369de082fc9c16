"""Shared text helpers: folding for comparison, body normalisation, hashing, word counts.

Used by clean, extract and dedup, so that "the same line" and "the same body" mean one thing
everywhere.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import polars as pl

_QUOTE_TRANSLATION = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2039": "'", "\u203a": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
})
_ALNUM_RUN = re.compile(r"[^\W_]+", re.UNICODE)
# str.translate of ASCII text into ASCII is a fast path in CPython; splitting then does the rest
_ASCII_NON_ALNUM_TO_SPACE = {c: " " for c in range(128) if not chr(c).isalnum()}
# ASCII word characters are letters, digits and "_" (`\w` on ASCII text)
_ASCII_NON_WORD_TO_SPACE = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}
_WORD = re.compile(r"\w+", re.UNICODE)


_FOLDED = re.compile("[" + "".join(re.escape(chr(c)) for c in _QUOTE_TRANSLATION) + "]")


def fold_quotes(text: str) -> str:
    """Replace typographic quotes, dashes and odd spaces by their plain ASCII forms."""
    # str.translate looks up every character; finding the few to replace with a regex is faster
    return _FOLDED.sub(lambda m: _QUOTE_TRANSLATION[ord(m.group())], text)


def fold_for_compare(text: str) -> str:
    """A key under which lines that differ only in quotes, case, punctuation or spacing are equal.

    "Biden orders ‘X’ in Syria" and "BIDEN orders 'X'  in Syria" fold to the same key.
    """
    if text.isascii():  # the common case: NFKC changes nothing, "`" becomes a space either way
        return " ".join(text.lower().translate(_ASCII_NON_ALNUM_TO_SPACE).split())
    text = unicodedata.normalize("NFKC", fold_quotes(text)).casefold()
    return " ".join(_ALNUM_RUN.findall(text))


def normalise_body(text: str) -> str:
    """The body as the exact-duplicate check sees it: NFKC, folded quotes, case and whitespace."""
    return " ".join(unicodedata.normalize("NFKC", fold_quotes(text)).casefold().split())


def sha256_hex(data: str | bytes) -> str:
    """Hex sha256 of text (UTF-8) or bytes."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def short_id(*parts: str) -> str:
    """A 16-hex-digit id from parts joined by NUL (stable across runs and machines)."""
    return sha256_hex("\x00".join(parts))[:16]


def words(text: str) -> list[str]:
    """The word tokens (runs of word characters) of `text`."""
    return _WORD.findall(text)


def casefolded_words(text: str) -> list[str]:
    """The word tokens of `text`, each casefolded (on its own: casefolding a whole non-ASCII text
    can split a token, "İ" becomes "i" and a combining dot)."""
    if text.isascii():
        return text.lower().translate(_ASCII_NON_WORD_TO_SPACE).split()
    return [t.casefold() for t in _WORD.findall(text)]


def word_count(text: str) -> int:
    """The number of word tokens in `text`."""
    return len(_WORD.findall(text))


def word_counts(texts: pl.Expr | pl.Series) -> pl.Expr | pl.Series:
    """`word_count` of each string of `texts`, counted by Polars (same numbers, one pass in Rust)."""
    return texts.str.count_matches(_word_run_pattern())


@lru_cache(maxsize=1)
def _word_run_pattern() -> str:
    """A run of the characters Python's `\\w` matches, for Polars' regex engine: written as an
    explicit class of code points, because that engine's own `\\w` is another set (it takes
    combining marks, Python takes "²"). Built once per process from every code point."""
    import numpy as np  # imported here: only extraction counts words this way

    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    ranges = ((run.start(), run.end() - 1) for run in _WORD.finditer(every))
    return "[" + "".join(f"\\x{{{first:X}}}-\\x{{{last:X}}}" for first, last in ranges) + "]+"
