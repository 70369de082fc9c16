"""Stage 4, dedup: exact and near-duplicate clusters, one canonical article each, splits by cluster.

Reads extract's `articles`, `quotes` and `entities` shards; writes per shard the surviving
articles (with `split`), their quotes and entities (with the article's split), and one
`duplicates` table (article_id, source_path, duplicate_of, kind, similarity, split).

1. Exact: articles with the same sha256 of the normalised body (`content_sha256`) form a group.
2. Near: MinHash signatures (Broder 1997) over word shingles of the normalised body, computed per
   shard in the worker pool; LSH banding (Leskovec, Rajaraman & Ullman, *Mining of Massive
   Datasets*, ch. 3: `bands` bands of `rows` rows make pairs with Jaccard s candidates with
   probability 1 - (1 - s^rows)^bands, an S-curve around (1/bands)^(1/rows) ≈ 0.42 for 32 x 4);
   candidate pairs come from grouping band hashes in Polars, one band at a time (never all
   pairs), and are kept when their estimated Jaccard is at least `dedup.threshold`; clusters by
   union-find.
3. Canonical, deterministic: earliest `published_at` (unknown dates last), then the longest body
   (`word_count`), then the smallest id. Everything else in the cluster goes to `duplicates`.
4. Split: from sha256 of the canonical id, so no cluster straddles splits.
Only signatures (32 bits x num_perm per article) and key columns cross shards.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import xxhash

from pipeline.config import DedupParams, Params
from pipeline.executor import map_shards
from pipeline.io import shard_part_name, table_parts, write_parquet
from pipeline.schema import ARTICLES, DUPLICATES, ENTITIES, QUOTES

STAGE = "dedup"
_KEY_COLUMNS = ["id", "source_path", "published_at", "word_count", "content_sha256"]
_ROLL = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the rolling shingle hash (golden ratio)
_TOKEN_SEED = 20240101
_CHUNK_ROWS = 65_536                   # shingles hashed at once: bounds the temporary matrix
MAX_BUCKET = 64                        # a bucket this big pairs each member with its first 64 only


def permutations(params: DedupParams) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) coefficients of the `num_perm` hash functions h(x) = ((a x + b) mod 2^64) >> 32,
    multiply-shift hashing (Dietzfelbinger et al. 1997), a odd; drawn from a generator seeded with
    `dedup.seed`."""
    rng = np.random.default_rng(params.seed)
    a = rng.integers(0, 2**64, size=params.num_perm, dtype=np.uint64, endpoint=False) | np.uint64(1)
    b = rng.integers(0, 2**64, size=params.num_perm, dtype=np.uint64, endpoint=False)
    return a, b


def token_hashes(bodies: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit hashes of all word tokens, start offset of each body) for the bodies' normalised
    text (NFKC, lower case, runs of word characters), vectorised in Polars. Polars' hash is
    stable for the pinned Polars version (requirements.lock)."""
    tokens = (pl.Series("body", bodies, dtype=pl.String).fill_null("")
              .str.normalize("NFKC").str.to_lowercase().str.extract_all(r"\w+"))
    lengths = tokens.list.len().fill_null(0).to_numpy().astype(np.int64)
    flat = tokens.explode().drop_nulls()
    hashes = flat.hash(seed=_TOKEN_SEED).to_numpy() if len(flat) else np.zeros(0, dtype=np.uint64)
    return hashes.astype(np.uint64), np.concatenate([[0], np.cumsum(lengths)])


def shingle_hashes_all(bodies: list[str], size: int) -> list[np.ndarray]:
    """64-bit hashes of the `size`-token shingles of each body (a body shorter than `size`
    tokens is one shingle of all its tokens; an empty body one fixed shingle)."""
    codes, offsets = token_hashes(bodies)
    rolled = np.zeros(max(len(codes) - size + 1, 0), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(size):
            rolled = rolled * _ROLL + codes[offset:len(codes) - size + 1 + offset]
    out = []
    for i in range(len(bodies)):
        start, end = int(offsets[i]), int(offsets[i + 1])
        if end - start >= size:
            out.append(rolled[start:end - size + 1])
        else:
            with np.errstate(over="ignore"):
                combined = np.uint64(0x51ED27)
                for code in codes[start:end]:
                    combined = combined * _ROLL + code
            out.append(np.array([combined], dtype=np.uint64))
    return out


def minhash_signatures(bodies: list[str], params: DedupParams) -> np.ndarray:
    """MinHash signatures, one row of `num_perm` uint32 per body (vectorised over all shingles)."""
    a, b = permutations(params)
    per_doc = shingle_hashes_all(bodies, params.shingle_size)
    signatures = np.empty((len(bodies), params.num_perm), dtype=np.uint32)
    if not bodies:
        return signatures
    doc_start = 0
    while doc_start < len(per_doc):
        doc_end, rows = doc_start, 0
        while doc_end < len(per_doc) and (rows == 0 or rows + len(per_doc[doc_end]) <= _CHUNK_ROWS):
            rows += len(per_doc[doc_end])
            doc_end += 1
        shingles = np.concatenate(per_doc[doc_start:doc_end])
        with np.errstate(over="ignore"):
            hashed = (shingles[:, None] * a[None, :] + b[None, :]) >> np.uint64(32)
        offsets = np.cumsum([0] + [len(h) for h in per_doc[doc_start:doc_end - 1]])
        signatures[doc_start:doc_end] = np.minimum.reduceat(hashed, offsets, axis=0)
        doc_start = doc_end
    return signatures


def band_hashes(signatures: np.ndarray, params: DedupParams) -> np.ndarray:
    """One 64-bit hash per band of `rows` signature values: shape (articles, bands)."""
    out = np.empty((len(signatures), params.bands), dtype=np.uint64)
    for band in range(params.bands):
        block = np.ascontiguousarray(signatures[:, band * params.rows:(band + 1) * params.rows])
        out[:, band] = [xxhash.xxh3_64_intdigest(row.tobytes(), seed=band) for row in block]
    return out


def signature_shard(article_path: str, ids: list[str], params: DedupParams) -> np.ndarray:
    """Signatures of the articles `ids` of one extract shard, in the order of `ids`."""
    frame = pl.read_parquet(article_path, columns=["id", "body"])
    bodies = dict(frame.iter_rows())
    return minhash_signatures([bodies[i] for i in ids], params)


def band_candidates(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (left, right) of row numbers with the same hash in one band, left < right.

    Buckets are grouped in Polars; a bucket of more than MAX_BUCKET rows pairs each member with
    its first MAX_BUCKET members only, which bounds the work on degenerate texts."""
    if len(band) < 2:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32)
    buckets = (pl.DataFrame({"row": np.arange(len(band), dtype=np.uint32), "hash": band})
               .group_by("hash").agg(pl.col("row").sort()).filter(pl.col("row").list.len() > 1))
    pairs = (buckets.select(pl.col("row").list.head(MAX_BUCKET).alias("left"), pl.col("row").alias("right"))
             .explode("left").explode("right").filter(pl.col("left") < pl.col("right")))
    return pairs["left"].to_numpy(), pairs["right"].to_numpy()


def similar_pairs(signatures: np.ndarray, params: DedupParams) -> tuple[np.ndarray, np.ndarray]:
    """Verified near-duplicate pairs: candidates from each LSH band in turn, kept when their
    estimated Jaccard is at least `dedup.threshold`. Only verified pairs are accumulated, so
    memory is bounded by one band's candidates, not all of them."""
    bands = band_hashes(signatures, params)
    found = pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32})
    for band in range(params.bands):
        left, right = band_candidates(bands[:, band])
        keep = estimated_jaccard(signatures, left, right) >= params.threshold
        found = pl.concat([found, pl.DataFrame({"left": left[keep], "right": right[keep]},
                                               schema=found.schema)]).unique()
    found = found.sort("left", "right")
    return found["left"].to_numpy(), found["right"].to_numpy()


def estimated_jaccard(signatures: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of equal signature values for each pair of rows (the MinHash Jaccard estimate)."""
    if len(left) == 0:
        return np.zeros(0)
    return (signatures[left] == signatures[right]).mean(axis=1)


def union_find(count: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label (smallest member row) of each of `count` rows joined by the pairs."""
    parent = np.arange(count)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for l, r in zip(left.tolist(), right.tolist()):
        a, b = find(l), find(r)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(count)])


def canonical_order(articles: pl.DataFrame) -> pl.DataFrame:
    """`articles` sorted so that the canonical member of any cluster comes first."""
    return articles.sort(["published_at", "word_count", "id"], descending=[False, True, False],
                         nulls_last=True, maintain_order=True)


def split_of(cluster_id: str, splits: dict[str, float]) -> str:
    """The split of a cluster: sha256 of its canonical id as a point in [0, 1) against the shares."""
    point = int.from_bytes(hashlib.sha256(cluster_id.encode()).digest()[:8], "big") / 2**64
    edge = 0.0
    for name, share in splits.items():
        edge += share
        if point < edge:
            return name
    return list(splits)[-1]


def plan(keys: pl.DataFrame, signatures: np.ndarray | None, params: DedupParams) -> pl.DataFrame:
    """Cluster assignment of every article.

    Reads id, published_at, word_count, content_sha256 (and signature rows aligned with `keys`,
    or None to skip near duplicates); returns id, canonical, kind (canonical|exact|near),
    similarity and split, one row per article, sorted by id.
    """
    keys = keys.with_row_index("row")
    exact_rep = canonical_order(keys).group_by("content_sha256", maintain_order=True).agg(
        pl.col("row").first().alias("rep"))
    keys = keys.join(exact_rep, on="content_sha256")
    reps = np.sort(exact_rep["rep"].to_numpy())
    labels = {int(r): int(r) for r in reps}
    if signatures is not None and len(reps) > 1:
        left, right = similar_pairs(signatures[reps], params)
        components = union_find(len(reps), left, right)
        labels = {int(reps[i]): int(reps[c]) for i, c in enumerate(components)}
    keys = keys.with_columns(pl.col("rep").replace_strict(labels, return_dtype=pl.UInt32).alias("group"))
    canonical = canonical_order(keys).group_by("group", maintain_order=True).agg(
        pl.col("row").first().alias("canonical_row"), pl.col("id").first().alias("canonical"),
        pl.col("content_sha256").first().alias("canonical_sha256"))
    keys = keys.join(canonical, on="group")
    if signatures is not None:
        similar = estimated_jaccard(signatures, keys["row"].to_numpy(), keys["canonical_row"].to_numpy())
    else:
        similar = np.ones(keys.height)
    keys = keys.with_columns(pl.Series("estimate", similar))
    kind = (pl.when(pl.col("row") == pl.col("canonical_row")).then(pl.lit("canonical"))
            .when(pl.col("content_sha256") == pl.col("canonical_sha256")).then(pl.lit("exact"))
            .otherwise(pl.lit("near")))
    out = keys.with_columns(kind.alias("kind"))
    out = out.with_columns(
        pl.when(pl.col("kind") == "near").then(pl.col("estimate").round(4)).otherwise(1.0).alias("similarity"),
        pl.col("canonical").map_elements(lambda c: split_of(c, params.splits), return_dtype=pl.String)
        .alias("split"))
    return out.select("id", "canonical", "kind", "similarity", "split").sort("id")


def duplicates_frame(assignment: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The `duplicates` table from a plan: every non-canonical article."""
    members = assignment.filter(pl.col("kind") != "canonical").join(keys.select("id", "source_path"), on="id")
    return DUPLICATES.conform(members.select(
        pl.col("id").alias("article_id"), "source_path", pl.col("canonical").alias("duplicate_of"),
        "kind", "similarity", "split"))


def run(extract_dir: Path, out_dir: Path, params: Params) -> dict:
    """Deduplicate `extract_dir` into `out_dir`; return counts and the cluster-size distribution."""
    parts = table_parts(extract_dir, "articles")
    if not parts:
        raise FileNotFoundError(f"{Path(extract_dir) / 'articles'}: no shard files (run extract first)")
    key_frames = [pl.read_parquet(p, columns=_KEY_COLUMNS) for p in parts]
    keys = pl.concat(key_frames)
    signatures = None
    if params.dedup.near and keys.height:
        tasks = [(str(p), frame["id"].to_list(), params.dedup) for p, frame in zip(parts, key_frames)]
        signatures = np.concatenate(map_shards(signature_shard, tasks, workers=params.worker_count,
                                               executor=params.executor, description="dedup: minhash"))
    assignment = plan(keys, signatures, params.dedup)
    duplicates = duplicates_frame(assignment, keys)
    kept = assignment.filter(pl.col("kind") == "canonical").select("id", "split")
    out = Path(out_dir)
    for index, part in enumerate(parts):
        articles = pl.read_parquet(part).join(kept, on="id", how="inner")
        write_parquet(ARTICLES.conform(articles), out / "articles" / shard_part_name(index))
        for name, table in (("quotes", QUOTES), ("entities", ENTITIES)):
            frame = pl.read_parquet(Path(extract_dir) / name / part.name)
            frame = frame.join(kept.rename({"id": "article_id"}), on="article_id", how="inner")
            write_parquet(table.conform(frame), out / name / shard_part_name(index))
    write_parquet(duplicates, out / "duplicates" / shard_part_name(0))
    sizes = Counter(Counter(assignment["canonical"].to_list()).values())
    kinds = Counter(duplicates["kind"].to_list())
    return {"articles": kept.height, "exact": kinds.get("exact", 0), "near": kinds.get("near", 0),
            "cluster_sizes": {str(k): v for k, v in sorted(sizes.items())}}
