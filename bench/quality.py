"""Cleaning quality on the article-extraction benchmark's dev pages, with cross-validation.

    .venv/bin/python bench/quality.py

Scores the clean stage's body on ../shared/corpora/aeb-dev (plain-text dumps and HTML pages) as
../shared/corpora/README.md defines it (bench/scoring.py), checks the seed article, and writes
bench/results/quality.json. For both paths it also reports a cross-validated score: the
classifier's thresholds (plain text) or trafilatura's table setting (HTML) are chosen on two
thirds of the pages (folds by sha256 of the page id) from a small grid, and scored on the
remaining third, so the figure is not fitted to the pages it is measured on. Speed is pages per
second of CPU time on one core.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pipeline.clean as clean  # noqa: E402
from bench.scoring import body_scores, load_ground_truth, page_score  # noqa: E402

SHARED = REPO.parent / "shared"
AEB = SHARED / "corpora" / "aeb-dev"
SEED = SHARED / "seeds" / "000_a1afa4b16a1fe23b"
RESULTS = REPO / "bench" / "results" / "quality.json"
FOLDS = 3
# The thresholds cross-validation may choose from; the shipped values are one of these points.
GRID = {"LENGTH_HIGH": [120, 160], "STOP_LOW": [0.22, 0.26, 0.30], "NEAR_GOOD": [8, 15], "MAX_GAP": [4, 8],
        "RUN_SHARE": [0.1, 0.3], "SHORT_RUN_MAX": [6, 10, 15]}
# The same for the HTML path: whether trafilatura keeps tables.
HTML_GRID = {"HTML_TABLES": [False, True]}


def predict_txt(pages: dict[str, str], lexicon) -> dict[str, str]:
    return {pid: "\n".join(clean.clean_text(text, lexicon=lexicon).paragraphs) for pid, text in pages.items()}


def predict_html(pages: dict[str, str], lexicon) -> dict[str, str]:
    return {pid: "\n".join(clean.clean_html(page, lexicon=lexicon).paragraphs) for pid, page in pages.items()}


def timed(function, pages, lexicon):
    """(predictions, pages per second of CPU time): CPU time, so that other work on the machine
    does not change the figure."""
    started = time.process_time()
    predicted = function(pages, lexicon)
    return predicted, len(pages) / (time.process_time() - started)


def cross_validated(predict, grid: dict, pages: dict[str, str], truths: dict[str, str], lexicon) -> dict:
    """Choose the grid point (values of module constants of pipeline.clean) with the best F1 on
    two folds, score it on the third, for each fold."""
    shipped = {name: getattr(clean, name) for name in grid}
    per_point = {}
    try:
        for values in itertools.product(*grid.values()):
            for name, value in zip(grid, values):
                setattr(clean, name, value)
            predicted = predict(pages, lexicon)
            per_point[values] = {pid: page_score(predicted[pid], truths[pid]) for pid in truths}
    finally:
        for name, value in shipped.items():
            setattr(clean, name, value)
    fold_of = {pid: int(hashlib.sha256(pid.encode()).hexdigest(), 16) % FOLDS for pid in truths}

    def f1(scores: list[tuple[float, float]]) -> tuple[float, float, float]:
        p = sum(s[0] for s in scores) / len(scores)
        r = sum(s[1] for s in scores) / len(scores)
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    held_out, chosen = [], []
    for fold in range(FOLDS):
        train = [pid for pid in truths if fold_of[pid] != fold]
        best = max(per_point, key=lambda v: (f1([per_point[v][pid] for pid in train])[2], v))
        chosen.append(dict(zip(grid, best)))
        held_out += [per_point[best][pid] for pid in truths if fold_of[pid] == fold]
    p, r, f = f1(held_out)
    return {"precision": p, "recall": r, "f1": f, "chosen_per_fold": chosen,
            "shipped": shipped}


def seed_result(lexicon) -> dict:
    expected = json.loads(SEED.with_suffix(".expected.json").read_text(encoding="utf-8"))
    cleaned = clean.clean_text(SEED.with_suffix(".txt").read_text(encoding="utf-8"), lexicon=lexicon)
    exact = sum(a == b for a, b in zip(cleaned.paragraphs, expected["body_paragraphs"]))
    return {"title_exact": cleaned.title == expected["title"], "paragraphs_exact": exact,
            "paragraphs_expected": len(expected["body_paragraphs"]),
            "paragraphs_produced": len(cleaned.paragraphs)}


def main() -> None:
    if not AEB.exists():
        print(f"skipped: {AEB} is not available")
        return
    lexicon = clean.load_lexicon(REPO / "schemas" / "lexicons")
    truths = load_ground_truth(AEB / "ground_truth.jsonl")
    txt_pages = {pid: (AEB / "txt" / f"{pid}.txt").read_text(encoding="utf-8") for pid in truths}
    html_pages = {pid: gzip.decompress((AEB / "html" / f"{pid}.html.gz").read_bytes()).decode("utf-8", "replace")
                  for pid in truths}
    txt_predicted, txt_rate = timed(predict_txt, txt_pages, lexicon)
    html_predicted, html_rate = timed(predict_html, html_pages, lexicon)
    results = {
        "pages": len(truths),
        "aeb-dev/txt": {"dev": body_scores(txt_predicted, truths),
                        "cross_validated": cross_validated(predict_txt, GRID, txt_pages, truths, lexicon),
                        "pages_per_s": round(txt_rate, 1)},
        "aeb-dev/html": {"dev": body_scores(html_predicted, truths),
                         "cross_validated": cross_validated(predict_html, HTML_GRID, html_pages, truths, lexicon),
                         "pages_per_s": round(html_rate, 1)},
        "baselines": {"aeb-dev/txt, no cleaning": body_scores(txt_pages, truths)},
        "seed": seed_result(lexicon) if SEED.with_suffix(".txt").exists() else None,
    }
    rounded = json.loads(json.dumps(results), parse_float=lambda v: round(float(v), 4))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rounded, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{'input set':<28}{'F1':>7}{'P':>7}{'R':>7}{'pages/s':>9}  (pages per CPU second)")
    for name in ("aeb-dev/txt", "aeb-dev/html"):
        for kind in ("dev", "cross_validated"):
            s = rounded[name][kind]
            print(f"{name + ' ' + kind:<28}{s['f1']:>7.3f}{s['precision']:>7.3f}{s['recall']:>7.3f}"
                  f"{rounded[name]['pages_per_s']:>9}")
    base = rounded["baselines"]["aeb-dev/txt, no cleaning"]
    print(f"{'aeb-dev/txt no cleaning':<28}{base['f1']:>7.3f}{base['precision']:>7.3f}{base['recall']:>7.3f}")
    if rounded["seed"]:
        seed = rounded["seed"]
        print(f"seed: title {'exact' if seed['title_exact'] else 'differs'}, "
              f"{seed['paragraphs_exact']}/{seed['paragraphs_expected']} paragraphs exact")


if __name__ == "__main__":
    main()
