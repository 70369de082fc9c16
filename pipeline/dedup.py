"""Stage 4, dedup: exact and near-duplicate clusters, one canonical article each, splits by cluster.

Reads extract's `articles`, `quotes` and `entities` shards; writes, shard i in -> shard i out, the
surviving (canonical) articles with `split`, their quotes and entities with the article's split,
and one `duplicates` table (article_id, source_path, duplicate_of, kind, similarity, split).

1. **Exact**: articles with the same `content_sha256` (sha256 of `text.normalise_body(body)`) form
   a group; only its canonical member takes part in the near-duplicate search.
2. **Near**: MinHash signatures (Broder 1997, "On the resemblance and containment of documents")
   over word shingles of `dedup.shingle_size` tokens, computed per shard in the worker pool. The
   `num_perm` values come from *one-permutation hashing* (Li, Owen & Zhang 2012, "One permutation
   hashing", NeurIPS): each shingle is hashed once with a hash seeded by `dedup.seed` and lands in
   one of `num_perm` bins; a bin keeps its minimum. Empty bins are filled by *optimal
   densification* (Shrivastava 2017, ICML): bin j borrows from the first non-empty bin of a fixed
   pseudo-random probe sequence of (j, attempt), so P[sig_A[j] == sig_B[j]] is the Jaccard
   similarity of A and B, as with `num_perm` independent permutations, at the cost of one hash
   per shingle instead of `num_perm` (per 100k articles of 300 words on one core: 0.35 s instead
   of 19.7 s, next to 3.1 s of tokenising and shingling; bench/dedup_scale.py).
   LSH banding (Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*, ch. 3): `bands`
   bands of `rows` values; a pair of Jaccard s shares a band with probability
   1 - (1 - s^rows)^bands, an S-curve whose steepest point is near (1/bands)^(1/rows).
   Candidates come from grouping each band's hashes in Polars (never all pairs; buckets are
   capped, see `bucket_pairs`), are pre-filtered band by band on the signature estimate (so
   memory holds the likely pairs, not every candidate, see `likely_pairs`) and then checked
   on the **exact** Jaccard of the two shingle sets (32-bit shingle hashes): a pair is a near duplicate when it is at least
   `dedup.threshold`. Clusters are the connected components of the verified pairs.
3. **Canonical** (deterministic): earliest `published_at` (unknown dates last), then the longest
   body (`word_count`), then the smallest `id`. Every other member goes to `duplicates`; its kind
   and similarity are relative to the canonical: `exact` with 1.0 when its normalised body is the
   canonical's, else `near` with the exact Jaccard of the two shingle sets (so an exact copy of a
   member that is not the canonical is `near`; a member reached through a chain A~B~C can be
   below the threshold).
4. **Split**: from sha256 of the canonical id against `dedup.splits`, so no cluster straddles
   splits.

Memory: the signature pass (worker pool) saves each shard's band hashes, 16-bit signature
sketches and shingle hashes in a scratch folder inside the output folder (removed at the end);
the main process holds the keys of all articles, one band of hashes at a time, and the sketches
and shingle sets of the articles in candidate pairs only. Article, quote and entity rows stay in
their shard.

Tokens: the body is lower-cased and every ASCII non-alphanumeric character and every character of
the Unicode punctuation blocks (Latin-1 punctuation, General Punctuation with typographic quotes
and dashes, CJK and full-width punctuation) is a separator, so tokens are the runs of letters and
digits of the normalised body. Scripts written without spaces (Chinese, Japanese, Thai) get one
token per clause; word shingles suit them poorly.
"""

from __future__ import annotations

import hashlib
import logging
import resource
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from pipeline.config import DedupParams, Params
from pipeline.executor import map_shards
from pipeline.io import table_parts, write_parquet
from pipeline.schema import ARTICLES, DUPLICATES, ENTITIES, QUOTES

STAGE = "dedup"
log = logging.getLogger(__name__)

KEY_COLUMNS = ["id", "source_path", "published_at", "word_count", "content_sha256"]
SEPARATORS = (r"[\x00-\x1F!-/:-@\[-\x60{-\x7F\u00A0-\u00BF\u2000-\u206F\u2E00-\u2E7F"
              r"\u3000-\u303F\uFE30-\uFE4F\uFF01-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65]")
TOKEN_SEED = 20_240_101        # seed of Polars' string hash of a token (stable for a pinned Polars)
MAX_BUCKET = 32                # a bucket member is paired with at most the bucket's first 32 members
ESTIMATE_MARGIN = 0.15         # pre-filter: estimated Jaccard >= threshold - margin (3.5 sd at 128)
SKETCH_BITS = 16               # signature values kept per article for the estimate (b-bit MinHash)
PAIR_COMPACT = 8_000_000       # candidate keys accumulated before duplicates are dropped
JOIN_BUDGET = 4_000_000        # shingle rows joined at once in the exact Jaccard check

_U64 = np.uint64
_MASK32 = _U64(0xFFFFFFFF)
_EMPTY = _U64(1 << 32)         # marks an empty bin (signature values are < 2^32)
_ROLL = _U64(0x9E3779B97F4A7C15)
_SHORT = _U64(0x51ED270B8A3C5F21)   # start value of the one shingle of a body shorter than a shingle
_SALT_BINS, _SALT_PROBE, _SALT_BAND = 0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3


# --- hashing helpers --------------------------------------------------------------------------

def mix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser (Steele, Lea & Flood 2014; constants of Vigna's splitmix64):
    a bijective 64-bit mixer, applied element-wise to a uint64 array."""
    z = np.asarray(values, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def _seed_key(seed: int, salt: int) -> np.uint64:
    return mix64(np.array([(seed ^ salt) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]


def _fastrange(values: np.ndarray, n: int) -> np.ndarray:
    """Map uint64 hashes to [0, n) with their high 32 bits (Lemire 2019, multiply-shift range)."""
    with np.errstate(over="ignore"):
        return (((values >> _U64(32)) * _U64(n)) >> _U64(32)).astype(np.int64)


# --- tokens and shingles ----------------------------------------------------------------------

def token_hashes(bodies: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit hash of every token in body order, token count of each body), vectorised in Polars.

    Reads the body strings (null = empty). Token hashes are Polars' string hash with a fixed seed,
    which is stable for the pinned Polars version (a test pins known values)."""
    bodies = pl.Series("body", bodies, dtype=pl.String).fill_null("")
    tokens = bodies.str.replace_all(SEPARATORS, " ").str.to_lowercase().str.split(" ")
    raw_counts = tokens.list.len().fill_null(0).to_numpy().astype(np.int64)
    flat = tokens.explode()
    if flat.len() == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(bodies), dtype=np.int64)
    keep = (flat.str.len_bytes().fill_null(0) > 0).to_numpy()
    hashes = flat.hash(seed=TOKEN_SEED).to_numpy().astype(np.uint64)[keep]
    doc = np.repeat(np.arange(len(bodies), dtype=np.int64), raw_counts)[keep]
    return hashes, np.bincount(doc, minlength=len(bodies)).astype(np.int64)


def shingle_hashes(tokens: np.ndarray, counts: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit hash of every `size`-token shingle, grouped by body in body order; shingle count of
    each body).

    A body of n >= size tokens has n - size + 1 shingles; a shorter body (empty included) has one
    shingle made of all its tokens, so every body has a non-empty shingle set."""
    counts = np.asarray(counts, dtype=np.int64)
    per_body = np.where(counts >= size, counts - size + 1, 1)
    out = np.empty(int(per_body.sum()), dtype=np.uint64)
    if len(out) == 0:
        return out, per_body
    token_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    out_start = np.concatenate([[0], np.cumsum(per_body)[:-1]]).astype(np.int64)
    windows = len(tokens) - size + 1
    if windows > 0:
        rolled = tokens[:windows].copy()
        with np.errstate(over="ignore"):
            for offset in range(1, size):
                rolled = rolled * _ROLL + tokens[offset:offset + windows]
        doc = np.repeat(np.arange(len(counts), dtype=np.int64), counts)[:windows]
        within = np.arange(windows, dtype=np.int64) - token_start[doc]
        valid = within <= counts[doc] - size
        out[out_start[doc[valid]] + within[valid]] = rolled[valid]
    short = np.flatnonzero(counts < size)
    if len(short):
        combined = np.full(len(short), _SHORT, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for offset in range(size - 1):
                take = offset < counts[short]
                combined[take] = combined[take] * _ROLL + tokens[token_start[short][take] + offset]
        out[out_start[short]] = combined
    return mix64(out), per_body


def body_shingles(bodies: pl.Series | list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of the bodies, grouped by body, and each body's shingle count (see
    `shingle_hashes`)."""
    tokens, counts = token_hashes(pl.Series("body", bodies, dtype=pl.String))
    return shingle_hashes(tokens, counts, size)


# --- MinHash signatures and LSH bands ---------------------------------------------------------

def minhash_signatures(bodies: pl.Series | list[str], params: DedupParams) -> np.ndarray:
    """MinHash signatures of the bodies: shape (len(bodies), num_perm), uint32.

    One-permutation hashing with optimal densification (see the module docstring); the hash and
    the probe sequences are derived from `params.seed` only, so a body's signature does not
    depend on the other bodies of its shard."""
    return signatures_of_shingles(*body_shingles(bodies, params.shingle_size), params)


def signatures_of_shingles(shingles: np.ndarray, per_body: np.ndarray, params: DedupParams) -> np.ndarray:
    """MinHash signatures from shingle hashes grouped by body (`body_shingles`)."""
    n, k = len(per_body), params.num_perm
    doc = np.repeat(np.arange(n, dtype=np.int64), per_body)
    hashed = mix64(shingles ^ _seed_key(params.seed, _SALT_BINS))
    bins = _fastrange(hashed, k)
    raw = np.full(n * k, _EMPTY, dtype=np.uint64)
    np.minimum.at(raw, doc * k + bins, hashed & _MASK32)
    return densify(raw.reshape(n, k), params.seed).astype(np.uint32)


def densify(raw: np.ndarray, seed: int) -> np.ndarray:
    """Fill the empty bins (value 2^32) of one-permutation signatures (optimal densification).

    Empty bin j of a body takes the value of bin probe(j, t) for the first attempt t = 0, 1, ...
    whose bin is non-empty in that body; probe depends on (seed, j, t) only. Every body has at
    least one non-empty bin; after 32 * num_perm attempts (probability < e^-32 per bin) the
    first non-empty bin is used."""
    k = raw.shape[1]
    out = raw.copy()
    docs, bins = np.nonzero(raw == _EMPTY)
    key = _seed_key(seed, _SALT_PROBE)
    attempt = 0
    while len(docs) and attempt < 32 * k:
        with np.errstate(over="ignore"):
            probe = _fastrange(mix64((bins.astype(np.uint64) << _U64(32)) + _U64(attempt) ^ key), k)
        values = raw[docs, probe]
        found = values != _EMPTY
        out[docs[found], bins[found]] = values[found]
        docs, bins = docs[~found], bins[~found]
        attempt += 1
    if len(docs):
        first = np.argmax(raw[docs] != _EMPTY, axis=1)
        out[docs, bins] = raw[docs, first]
    return out


def band_hashes(signatures: np.ndarray, params: DedupParams) -> pl.DataFrame:
    """One 64-bit hash per band of `rows` consecutive signature values.

    Returns a frame with one UInt64 column per band, `band_00` ... (a row per signature row)."""
    n = len(signatures)
    values = signatures.reshape(n, params.bands, params.rows).astype(np.uint64)
    keys = mix64(np.arange(params.bands, dtype=np.uint64) ^ _seed_key(params.seed, _SALT_BAND))
    hashed = np.broadcast_to(keys, (n, params.bands)).copy()
    with np.errstate(over="ignore"):
        for row in range(params.rows):
            hashed = mix64(hashed * _ROLL + values[:, :, row])
    return pl.DataFrame({band_name(b): hashed[:, b] for b in range(params.bands)},
                        schema={band_name(b): pl.UInt64 for b in range(params.bands)})


def band_name(band: int) -> str:
    return f"band_{band:02d}"


def sketch(signatures: np.ndarray) -> np.ndarray:
    """The low SKETCH_BITS bits of each signature value (b-bit MinHash, Li & König 2010), kept
    for the Jaccard estimate that pre-filters candidate pairs: 2 bytes per value instead of 4."""
    return (signatures & np.uint32((1 << SKETCH_BITS) - 1)).astype(np.uint16)


def estimated_jaccard(sketches: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """MinHash estimate of the Jaccard similarity of row pairs from b-bit sketches.

    Equal b-bit values occur with probability J + (1 - J) 2^-b, so the share of equal values is
    corrected as (share - 2^-b) / (1 - 2^-b) (Li & König 2010)."""
    out = np.zeros(len(left), dtype=np.float64)
    chunk = 1 << 18
    for start in range(0, len(left), chunk):
        l, r = left[start:start + chunk], right[start:start + chunk]
        out[start:start + chunk] = (sketches[l] == sketches[r]).mean(axis=1)
    chance = 2.0 ** -SKETCH_BITS
    return np.clip((out - chance) / (1 - chance), 0.0, 1.0)


# --- candidate pairs, verification, clusters --------------------------------------------------

def likely_pairs(bands: Iterable[np.ndarray], sketches: np.ndarray, threshold: float) -> tuple[pl.DataFrame, int]:
    """The candidate pairs whose signature estimate is at least threshold - ESTIMATE_MARGIN (the
    cheap filter before the exact check), and how many candidates the bands proposed.

    Reads band hash arrays one band at a time (uint64, item i at i) and the b-bit sketches of
    every item. Each band's candidates (`bucket_pairs`) are estimated and filtered at once, so
    memory holds one band's candidates and the likely pairs: a corpus of many loosely similar
    stories (one topic, one template) can propose far more candidates than there are articles.
    Returns (pairs: columns left < right, UInt32, unique, sorted; candidates counted once per band
    that proposes them)."""
    collected: list[np.ndarray] = []
    pending = proposed = 0
    for hashes in bands:
        keys = bucket_pairs(np.asarray(hashes, dtype=np.uint64))
        proposed += len(keys)
        if len(keys) == 0:
            continue
        left, right = (keys >> _U64(32)).astype(np.int64), (keys & _MASK32).astype(np.int64)
        keys = keys[estimated_jaccard(sketches, left, right) >= threshold - ESTIMATE_MARGIN]
        collected.append(keys)
        pending += len(keys)
        if pending > PAIR_COMPACT:
            collected = [np.unique(np.concatenate(collected))]
            pending = len(collected[0])
    keys = np.unique(np.concatenate(collected)) if collected else np.zeros(0, dtype=np.uint64)
    pairs = pl.DataFrame({"left": (keys >> _U64(32)).astype(np.uint32), "right": (keys & _MASK32).astype(np.uint32)})
    return pairs, proposed


def bucket_pairs(hashes: np.ndarray) -> np.ndarray:
    """Pairs (as left << 32 | right, left < right) of the items of one band that share a hash.

    A bucket of n items yields all its n(n-1)/2 pairs when n <= MAX_BUCKET + 1; a larger bucket
    pairs each member only with the bucket's first MAX_BUCKET members (smallest rows), at most
    MAX_BUCKET * n pairs: large clusters stay connected through those heads, and a degenerate
    bucket (thousands of bodies sharing a template) costs linear, not quadratic, work."""
    if len(hashes) < 2:
        return np.zeros(0, dtype=np.uint64)
    shared = (pl.DataFrame({"row": np.arange(len(hashes), dtype=np.uint32), "hash": hashes})
              .filter(pl.col("hash").is_duplicated()))
    if shared.height == 0:
        return np.zeros(0, dtype=np.uint64)
    pairs = (shared.group_by("hash").agg(pl.col("row").sort())
             .select(pl.col("row").list.head(MAX_BUCKET).alias("left"), pl.col("row").alias("right"))
             .explode("left").explode("right").filter(pl.col("left") < pl.col("right")))
    return (pairs["left"].cast(pl.UInt64).to_numpy() << _U64(32)) | pairs["right"].cast(pl.UInt64).to_numpy()


@dataclass(frozen=True)
class ShingleSets:
    """Sorted, unique 32-bit shingle hashes of rows 0 .. count-1 (CSR layout): row r's set is
    values[offsets[r]:offsets[r + 1]], empty for rows that were not loaded."""

    offsets: np.ndarray      # int64, count + 1
    values: np.ndarray       # uint32

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @staticmethod
    def from_keys(keys: np.ndarray, count: int) -> ShingleSets:
        """From uint64 keys row << 32 | shingle (duplicates allowed, any order)."""
        keys = np.asarray(keys, dtype=np.uint64)
        if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
            keys = np.unique(keys)
        rows = (keys >> _U64(32)).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=count))]).astype(np.int64)
        return ShingleSets(offsets, (keys & _MASK32).astype(np.uint32))

    @staticmethod
    def from_chunks(chunks: Iterable[np.ndarray], count: int) -> ShingleSets:
        """From chunks of sorted unique keys row << 32 | shingle, chunks in increasing row order
        (a row's keys all in one chunk); holds only the 32-bit values, never all keys at once."""
        values, lengths = [], np.zeros(count, dtype=np.int64)
        for keys in chunks:
            rows, per_row = np.unique((keys >> _U64(32)).astype(np.int64), return_counts=True)
            lengths[rows] += per_row        # not a bincount over all rows: that is O(count) per chunk
            values.append((keys & _MASK32).astype(np.uint32))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return ShingleSets(offsets, np.concatenate(values) if values else np.zeros(0, dtype=np.uint32))


def _pair_keys(sets: ShingleSets, rows: np.ndarray) -> np.ndarray:
    """The sets of `rows` concatenated as sorted keys (position in `rows`) << 32 | shingle."""
    starts, lengths = sets.offsets[rows], sets.offsets[rows + 1] - sets.offsets[rows]
    index = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
    owner = np.repeat(np.arange(len(rows), dtype=np.uint64), lengths)
    return (owner << _U64(32)) | sets.values[index].astype(np.uint64)


def exact_jaccard(pairs: pl.DataFrame, sets: ShingleSets) -> np.ndarray:
    """Exact Jaccard similarity |A & B| / |A | B| of the shingle sets of each pair (left, right).

    Vectorised without joins: for a batch of pairs the left sets and the right sets are laid out
    as sorted keys (pair << 32 | shingle), and every left key is looked up in the right keys with
    one binary search; batches hold about JOIN_BUDGET shingles."""
    if pairs.height == 0:
        return np.zeros(0, dtype=np.float64)
    left = pairs["left"].to_numpy().astype(np.int64)
    right = pairs["right"].to_numpy().astype(np.int64)
    lengths = sets.lengths
    size_l, size_r = lengths[left], lengths[right]
    work = np.cumsum(size_l + size_r)
    bounds = np.unique(np.concatenate([[0], np.searchsorted(work, np.arange(JOIN_BUDGET, work[-1], JOIN_BUDGET)),
                                       [len(left)]]))
    common = np.zeros(len(left), dtype=np.int64)
    for first, last in zip(bounds[:-1], bounds[1:]):
        first, last = int(first), int(max(last, first + 1))
        left_keys, right_keys = _pair_keys(sets, left[first:last]), _pair_keys(sets, right[first:last])
        if len(left_keys) == 0 or len(right_keys) == 0:
            continue
        at = np.minimum(np.searchsorted(right_keys, left_keys), len(right_keys) - 1)
        hits = left_keys[right_keys[at] == left_keys] >> _U64(32)
        common[first:last] = np.bincount(hits.astype(np.int64), minlength=last - first)
    union = size_l + size_r - common
    return np.where(union > 0, common / np.maximum(union, 1), 0.0)


def verify_pairs(pairs: pl.DataFrame, shingle_sets: ShingleSets, threshold: float) -> pl.DataFrame:
    """The pairs that are near duplicates: columns left, right, similarity, where similarity is
    the exact Jaccard of the shingle sets and at least `threshold`.

    Reads pairs (left, right) and the shingle sets of every row of the pairs."""
    schema = {"left": pl.UInt32, "right": pl.UInt32, "similarity": pl.Float64}
    if pairs.height == 0:
        return pl.DataFrame(schema=schema)
    similarity = exact_jaccard(pairs, shingle_sets)
    return (pairs.with_columns(pl.Series("similarity", similarity))
            .filter(pl.col("similarity") >= threshold).cast(schema))


def clusters(pairs: pl.DataFrame, count: int) -> pl.DataFrame:
    """Connected components of `count` rows joined by pairs (left, right): columns row, cluster,
    where cluster is the smallest row of the component.

    Vectorised union-find: every edge hooks the larger of its two roots under the smaller
    (np.minimum.at), then pointer jumping makes every row point at its root (Shiloach & Vishkin
    1982); repeated until every edge has one root at both ends."""
    labels = np.arange(count, dtype=np.int64)
    left = pairs["left"].to_numpy().astype(np.int64) if pairs.height else np.zeros(0, dtype=np.int64)
    right = pairs["right"].to_numpy().astype(np.int64) if pairs.height else np.zeros(0, dtype=np.int64)
    while len(left):
        root_l, root_r = labels[left], labels[right]
        differ = root_l != root_r
        if not differ.any():
            break
        low = np.minimum(root_l[differ], root_r[differ])
        np.minimum.at(labels, root_l[differ], low)
        np.minimum.at(labels, root_r[differ], low)
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
    return pl.DataFrame({"row": np.arange(count, dtype=np.int64), "cluster": labels})


def canonical_order(articles: pl.DataFrame) -> pl.DataFrame:
    """`articles` sorted so that the canonical member of any cluster comes first: earliest
    published_at (nulls last), then largest word_count, then smallest id."""
    return articles.sort(["published_at", "word_count", "id"], descending=[False, True, False],
                         nulls_last=True, maintain_order=True)


def choose_canonical(members: pl.DataFrame) -> pl.DataFrame:
    """The canonical member of every cluster.

    Reads cluster, id, published_at, word_count; returns cluster and canonical (the chosen id),
    one row per cluster, by the rule of `canonical_order`."""
    return (canonical_order(members).group_by("cluster", maintain_order=True)
            .agg(pl.col("id").first().alias("canonical")))


def split_of(cluster_id: str, splits: dict[str, float]) -> str:
    """The split of a cluster: the first 8 bytes of sha256(canonical id) as a point in [0, 1),
    placed against the cumulative shares of `splits` (in their params.yaml order)."""
    point = int.from_bytes(hashlib.sha256(cluster_id.encode("utf-8")).digest()[:8], "big") / 2**64
    edge = 0.0
    for name, share in splits.items():
        edge += share
        if point < edge:
            return name
    return list(splits)[-1]


def assign_splits(canonical_ids: pl.Series, splits: dict[str, float]) -> pl.Series:
    """`split` for each canonical id (see `split_of`); never Python's salted hash()."""
    return pl.Series("split", [split_of(c, splits) for c in canonical_ids.to_list()], dtype=pl.String)


# --- the plan: which article is kept, which is a duplicate of which ---------------------------

def exact_groups(keys: pl.DataFrame) -> pl.DataFrame:
    """The representative of each group of identical content: columns content_sha256, rep (row
    of its canonical-order first member) and id (that member's id).

    Reads row, id, published_at, word_count, content_sha256."""
    return (canonical_order(keys).group_by("content_sha256", maintain_order=True)
            .agg(pl.col("row").first().alias("rep"), pl.col("id").first()))


def representatives(keys: pl.DataFrame) -> np.ndarray:
    """Rows (in keys order, ascending) of the articles that take part in the near-duplicate
    search: one per distinct content_sha256. Reads id, published_at, word_count, content_sha256."""
    keyed = keys.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    return np.sort(exact_groups(keyed)["rep"].to_numpy())


class SignatureStore(Protocol):
    """Per-article MinHash data of the representatives `representatives(keys)`; position i is the
    i-th representative (in row order)."""

    def band_hashes(self) -> Iterator[np.ndarray]:
        """One uint64 array per band, item i = position i."""

    def sketches(self, positions: np.ndarray) -> np.ndarray:
        """b-bit sketches (uint16, one row per position) of sorted unique positions."""

    def shingle_sets(self, positions: np.ndarray) -> ShingleSets:
        """Shingle sets of sorted unique positions (other positions empty)."""


class MemoryStore:
    """A SignatureStore computed in memory from the representatives' bodies (tests, small data)."""

    def __init__(self, bodies: pl.Series | list[str], params: DedupParams):
        shingles, self.per_body = body_shingles(bodies, params.shingle_size)
        self.keys = (np.repeat(np.arange(len(self.per_body), dtype=np.uint64), self.per_body) << _U64(32)) | (
            shingles & _MASK32)
        signatures = signatures_of_shingles(shingles, self.per_body, params)
        self.bands, self.sketch = band_hashes(signatures, params), sketch(signatures)

    def band_hashes(self) -> Iterator[np.ndarray]:
        return (self.bands[name].to_numpy() for name in self.bands.columns)

    def sketches(self, positions: np.ndarray) -> np.ndarray:
        return self.sketch[positions]

    def shingle_sets(self, positions: np.ndarray) -> ShingleSets:
        wanted = np.isin(self.keys >> _U64(32), positions.astype(np.uint64))
        return ShingleSets.from_keys(self.keys[wanted], len(self.per_body))


def plan(keys: pl.DataFrame, store: SignatureStore | None, params: DedupParams,
         timings: dict | None = None) -> tuple[pl.DataFrame, dict]:
    """Cluster assignment of every article.

    Reads keys (id, published_at, word_count, content_sha256; row i is article i) and the MinHash
    data of the representatives from `store` (None: exact duplicates only). Returns (assignment,
    counts): assignment has id, canonical, kind (canonical | exact | near), similarity and split,
    one row per article, sorted by id; counts has band_candidates (pairs the LSH bands proposed,
    once per band), likely_pairs and verified_pairs. `timings`, when given, receives the seconds spent per step (for benchmarks;
    never written to outputs).
    """
    clock = _Clock(timings)
    keys = keys.select("id", "published_at", "word_count", "content_sha256").with_row_index("row").with_columns(
        pl.col("row").cast(pl.Int64))
    groups = exact_groups(keys)
    rep_rows = np.sort(groups["rep"].to_numpy())
    counts = {"band_candidates": 0, "likely_pairs": 0, "verified_pairs": 0}
    near = pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32, "similarity": pl.Float64})
    sets = ShingleSets(np.zeros(len(rep_rows) + 1, dtype=np.int64), np.zeros(0, dtype=np.uint32))
    clock.lap("exact_groups")
    if store is not None and len(rep_rows) > 1:
        likely, proposed = likely_pairs(store.band_hashes(), store.sketches(np.arange(len(rep_rows))),
                                        params.threshold)
        clock.lap("bucketing")
        involved = np.unique(np.concatenate([likely["left"].to_numpy(), likely["right"].to_numpy()]))
        if len(involved):
            sets = store.shingle_sets(involved)
        near = verify_pairs(likely, sets, params.threshold)
        counts.update(band_candidates=proposed, likely_pairs=likely.height, verified_pairs=near.height)
        clock.lap("verification")
    components = clusters(near, len(rep_rows))
    position = pl.DataFrame({"rep": rep_rows, "position": np.arange(len(rep_rows), dtype=np.int64),
                             "cluster": components["cluster"].to_numpy()})
    keys = (keys.join(groups.select("content_sha256", "rep"), on="content_sha256", how="left")
            .join(position, on="rep", how="left"))
    canonical = choose_canonical(keys)
    keys = keys.join(canonical, on="cluster", how="left")
    canonical_keys = keys.filter(pl.col("id") == pl.col("canonical")).select(
        "cluster", pl.col("position").alias("canonical_position"),
        pl.col("content_sha256").alias("canonical_sha256"))
    keys = keys.join(canonical_keys, on="cluster", how="left")
    kind = (pl.when(pl.col("id") == pl.col("canonical")).then(pl.lit("canonical"))
            .when(pl.col("content_sha256") == pl.col("canonical_sha256")).then(pl.lit("exact"))
            .otherwise(pl.lit("near")))
    keys = keys.with_columns(kind.alias("kind"))
    members = keys.filter(pl.col("kind") == "near")
    to_canonical = exact_jaccard(
        members.select(pl.col("position").cast(pl.UInt32).alias("left"),
                       pl.col("canonical_position").cast(pl.UInt32).alias("right")), sets)
    similarity = pl.DataFrame({"id": members["id"], "near_similarity": np.round(to_canonical, 4)},
                              schema={"id": pl.String, "near_similarity": pl.Float64})
    splits = canonical.with_columns(assign_splits(canonical["canonical"], params.splits)).select("cluster", "split")
    assignment = (keys.join(similarity, on="id", how="left").join(splits, on="cluster", how="left")
                  .with_columns(pl.col("near_similarity").fill_null(1.0).alias("similarity")))
    clock.lap("clusters_canonical_splits")
    return assignment.select("id", "canonical", "kind", "similarity", "split").sort("id"), counts


def deduplicate(articles: pl.DataFrame, params: DedupParams) -> pl.DataFrame:
    """`plan` for articles held in memory: reads id, published_at, word_count, content_sha256 and
    body; returns the assignment (id, canonical, kind, similarity, split)."""
    store = None
    if params.near:
        store = MemoryStore(articles["body"].gather(representatives(articles)), params)
    return plan(articles, store, params)[0]


def duplicates_frame(assignment: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The `duplicates` table: every non-canonical article with its canonical, kind, similarity
    and split. Reads assignment (id, canonical, kind, similarity, split) and keys (id,
    source_path)."""
    members = assignment.filter(pl.col("kind") != "canonical").join(
        keys.select("id", "source_path"), on="id", how="left")
    return DUPLICATES.conform(members.select(
        pl.col("id").alias("article_id"), "source_path", pl.col("canonical").alias("duplicate_of"),
        "kind", "similarity", "split"))


def cluster_counts(assignment: pl.DataFrame) -> dict:
    """Counts for the run summary and metrics: kept articles, exact and near duplicates, clusters
    of two or more articles, and the distribution of cluster sizes ({size: clusters})."""
    sizes = Counter(assignment.group_by("canonical").len()["len"].to_list())
    kinds = Counter(assignment["kind"].to_list())
    return {"articles": kinds.get("canonical", 0), "exact": kinds.get("exact", 0),
            "near": kinds.get("near", 0), "clusters": sum(n for size, n in sizes.items() if size > 1),
            "cluster_sizes": {str(size): sizes[size] for size in sorted(sizes)}}


# --- shard tasks (module level, picklable; they take paths and return small results) ----------

def signature_shard(article_path: str, params: DedupParams, near: bool, scratch: str | None = None
                    ) -> pl.DataFrame:
    """The keys of one extract articles shard (rows in file order); when `near`, its MinHash data
    is saved in the folder `scratch` as `<part>.<name>.npy`: bands (bands x rows, uint64), sketch
    (rows x num_perm, uint16), shingles (low 32 bits, grouped by article) and offsets (rows + 1),
    so the main process reads one band or a few articles at a time (see `ScratchStore`)."""
    columns = KEY_COLUMNS + (["body"] if near else [])
    frame = pl.read_parquet(article_path, columns=columns)
    if near and scratch is not None:
        shingles, per_body = body_shingles(frame["body"], params.shingle_size)
        signatures = signatures_of_shingles(shingles, per_body, params)
        stem = Path(scratch) / Path(article_path).stem
        bands = band_hashes(signatures, params)
        np.save(f"{stem}.bands.npy", np.vstack([bands[c].to_numpy() for c in bands.columns])
                if len(bands) else np.zeros((params.bands, 0), dtype=np.uint64))
        np.save(f"{stem}.sketch.npy", sketch(signatures))
        np.save(f"{stem}.shingles.npy", (shingles & _MASK32).astype(np.uint32))
        np.save(f"{stem}.offsets.npy", np.concatenate([[0], np.cumsum(per_body)]).astype(np.int64))
    return frame.select(KEY_COLUMNS)


class ScratchStore:
    """The SignatureStore of a run: reads the scratch files of `signature_shard` through memory
    maps opened for one read and closed after it, so the main process holds one band or the
    requested articles, and no mapped pages of the scratch files stay counted in its memory."""

    def __init__(self, scratch: Path, stems: list[str], first_rows: np.ndarray, rep_rows: np.ndarray):
        self.stems, self.scratch = stems, Path(scratch)
        # representatives of shard s are positions cuts[s] .. cuts[s + 1], rows local[...] there
        self.cuts = np.searchsorted(rep_rows, np.concatenate([first_rows, [np.iinfo(np.int64).max]]))
        self.local = rep_rows - np.repeat(first_rows, np.diff(self.cuts))
        self.count = len(rep_rows)

    def _open(self, shard: int, name: str) -> np.ndarray:
        return np.load(self.scratch / f"{self.stems[shard]}.{name}.npy", mmap_mode="r")

    def _shards(self, positions: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        bounds = np.searchsorted(positions, self.cuts)
        for shard in range(len(self.stems)):
            if bounds[shard + 1] > bounds[shard]:
                chosen = positions[bounds[shard]:bounds[shard + 1]]
                yield shard, chosen, self.local[chosen]

    def band_hashes(self) -> Iterator[np.ndarray]:
        everyone = list(self._shards(np.arange(self.count)))
        layout = {s: _npy_layout(self.scratch / f"{self.stems[s]}.bands.npy") for s, _, _ in everyone}
        for band in range(self._open(0, "bands").shape[0] if self.stems else 0):
            # one read of the band's row per shard (a memory map per band and shard costs more)
            yield np.concatenate([_npy_row(self.scratch / f"{self.stems[s]}.bands.npy", layout[s], band)[rows]
                                  for s, _, rows in everyone] or [np.zeros(0, dtype=np.uint64)])

    def sketches(self, positions: np.ndarray) -> np.ndarray:
        parts = [self._open(s, "sketch")[rows] for s, _, rows in self._shards(positions)]
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.uint16)

    def shingle_sets(self, positions: np.ndarray) -> ShingleSets:
        def chunks() -> Iterator[np.ndarray]:
            for shard, chosen, rows in self._shards(positions):
                offsets, shingles = self._open(shard, "offsets"), self._open(shard, "shingles")
                starts, lengths = offsets[rows], offsets[rows + 1] - offsets[rows]
                index = (np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
                         + np.arange(lengths.sum()))
                owner = np.repeat(chosen.astype(np.uint64), lengths)
                yield np.unique((owner << _U64(32)) | shingles[index].astype(np.uint64))

        return ShingleSets.from_chunks(chunks(), self.count)


def _npy_layout(path: Path) -> tuple[int, tuple[int, ...], np.dtype]:
    """(offset of the data, shape, dtype) of a C-ordered .npy file."""
    with open(path, "rb") as file:
        version = np.lib.format.read_magic(file)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(file)
        if fortran_order:
            raise ValueError(f"{path}: Fortran-ordered array")
        return file.tell(), shape, dtype


def _npy_row(path: Path, layout: tuple[int, tuple[int, ...], np.dtype], row: int) -> np.ndarray:
    """Row `row` of a 2-D .npy file whose `_npy_layout` is `layout`, read from disk."""
    offset, shape, dtype = layout
    return np.fromfile(path, dtype=dtype, count=shape[1], offset=offset + row * shape[1] * dtype.itemsize)


def write_shard(extract_dir: str, part_name: str, out_dir: str, kept: pl.DataFrame) -> dict:
    """Write one shard's surviving articles (with split) and their quotes and entities.

    Reads the shard's articles, quotes and entities from `extract_dir` (a missing quotes or
    entities part is an empty table) and `kept` (id, split)."""
    extract, out = Path(extract_dir), Path(out_dir)
    articles = pl.read_parquet(extract / "articles" / part_name).join(kept, on="id", how="inner")
    write_parquet(ARTICLES.conform(articles), out / "articles" / part_name)
    written = {"articles": articles.height}
    for name, table in (("quotes", QUOTES), ("entities", ENTITIES)):
        path = extract / name / part_name
        frame = pl.read_parquet(path) if path.exists() else table.empty_frame().drop("split")
        frame = frame.join(kept.rename({"id": "article_id"}), on="article_id", how="inner")
        write_parquet(table.conform(frame), out / name / part_name)
        written[name] = frame.height
    return written


# --- the stage --------------------------------------------------------------------------------

class _Clock:
    """Adds the seconds since the last lap to `timings[name]` (does nothing without timings)."""

    def __init__(self, timings: dict | None):
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = round(self.timings.get(name, 0.0) + now - self.last, 3)
            self.timings.setdefault("main_max_rss_mb_after", {})[name] = round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        self.last = now


def run(extract_dir: Path, out_dir: Path, params: Params, timings: dict | None = None) -> dict:
    """Deduplicate the extract stage folder `extract_dir` into `out_dir`; return the counts.

    `timings`, when given, receives the seconds spent per step (for bench/dedup_scale.py)."""
    clock = _Clock(timings)
    parts = table_parts(extract_dir, "articles")
    if not parts:
        raise FileNotFoundError(f"{Path(extract_dir) / 'articles'}: no shard files (run extract first)")
    near = params.dedup.near
    workers, executor = params.worker_count, params.executor
    scratch = Path(out_dir) / ".dedup-scratch"
    if near:
        scratch.mkdir(parents=True, exist_ok=True)
    tasks = [(str(p), params.dedup, near, str(scratch) if near else None) for p in parts]
    try:
        key_frames = map_shards(signature_shard, tasks, workers=workers, executor=executor,
                                description="dedup: signatures")
        clock.lap("signatures")
        keys = pl.concat(key_frames, how="vertical_relaxed")
        shard_sizes = np.array([k.height for k in key_frames], dtype=np.int64)
        first_rows = np.concatenate([[0], np.cumsum(shard_sizes)[:-1]]).astype(np.int64)
        del key_frames
        store = ScratchStore(scratch, [p.stem for p in parts], first_rows, representatives(keys)) if near else None
        clock.lap("gather")
        assignment, pair_counts = plan(keys, store, params.dedup, timings)
        del store
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    clock.last = time.perf_counter()
    duplicates = duplicates_frame(assignment, keys)
    kept = assignment.filter(pl.col("kind") == "canonical").select("id", "split")
    kept_by_shard = (pl.DataFrame({"id": keys["id"], "shard": np.repeat(np.arange(len(parts)), shard_sizes)})
                     .join(kept, on="id", how="inner").partition_by("shard", as_dict=True, include_key=False))
    no_rows = pl.DataFrame(schema={"id": pl.String, "split": pl.String})
    tasks = [(str(extract_dir), part.name, str(out_dir), kept_by_shard.get((index,), no_rows))
             for index, part in enumerate(parts)]
    map_shards(write_shard, tasks, workers=workers, executor=executor, description="dedup: write")
    write_parquet(duplicates, Path(out_dir) / "duplicates" / "part-00000.parquet")
    clock.lap("write")
    counts = cluster_counts(assignment) | pair_counts
    log.info("dedup: %d articles kept, %d exact and %d near duplicates in %d clusters",
             counts["articles"], counts["exact"], counts["near"], counts["clusters"])
    return counts
