"""The article-extraction benchmark's body score, as ../shared/corpora/README.md defines it.

Tokens are runs of word characters; each page's true and predicted bodies become multisets of
4-token shingles; true positives count shingles in both (with multiplicity). Each page's three
counts are normalised to sum to 1; precision and recall are means over pages (a page with nothing
predicted and nothing true counts as perfect); F1 is the harmonic mean of the two means.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

_TOKEN = re.compile(r"\w+")


def shingles(text: str) -> Counter:
    """Multiset of 4-token shingles of `text`."""
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[i:i + 4]) for i in range(len(tokens) - 3))


def page_score(predicted: str, truth: str) -> tuple[float, float]:
    """(precision, recall) of one page."""
    p, t = shingles(predicted), shingles(truth)
    tp = sum((p & t).values())
    fp, fn = sum(p.values()) - tp, sum(t.values()) - tp
    if tp + fp + fn == 0:
        return 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def body_scores(predicted: dict[str, str], truths: dict[str, str]) -> dict[str, float]:
    """Mean precision, mean recall and their F1 over the pages of `truths` (missing = empty)."""
    scores = [page_score(predicted.get(pid, ""), truth) for pid, truth in truths.items()]
    precision = sum(s[0] for s in scores) / len(scores)
    recall = sum(s[1] for s in scores) / len(scores)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def load_ground_truth(path: Path) -> dict[str, str]:
    """{page id: true body} from the benchmark's ground_truth.jsonl."""
    return {row["id"]: row["body"] for row in map(json.loads, Path(path).read_text(encoding="utf-8").splitlines())}
