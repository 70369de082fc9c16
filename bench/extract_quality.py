"""Extraction quality on the seed article, and the NER model's cost.

    .venv/bin/python bench/extract_quality.py

Quotes: precision and recall of quotation texts against the seed's expected quotes (scare quotes
must not be found), and speaker accuracy (the expected name, or a fuller form of it). Entities:
recall of the expected entities (an alias counts). Outlets: exact set. NER cost: seconds per
1,000 generated articles (`pipeline.sample`, about 600 words each) on one core, batched with
`nlp.pipe`. Writes bench/results/extract_quality.json.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.entities import canonical_forms, model_version, recognise  # noqa: E402
from pipeline.fields import load_outlets  # noqa: E402
from pipeline.quotes import Attributor, find_quotes, load_speech_verbs  # noqa: E402
from pipeline.sample import article_parts  # noqa: E402

SEED = REPO.parent / "shared" / "seeds" / "000_a1afa4b16a1fe23b.expected.json"
RESULTS = REPO / "bench" / "results" / "extract_quality.json"
LEXICONS = REPO / "schemas" / "lexicons"


def seed_scores() -> dict:
    expected = json.loads(SEED.read_text(encoding="utf-8"))
    body = "\n\n".join(expected["body_paragraphs"])
    [found_entities] = recognise([body])
    canonical = canonical_forms(found_entities, body)
    names = sorted({c for e, c in zip(found_entities, canonical) if e.label in ("PERSON", "ORG")})
    outlets = load_outlets(LEXICONS)
    quotes = find_quotes(body, Attributor(load_speech_verbs(LEXICONS), outlets), names)
    found = {q.text.strip(): q.speaker for q in quotes}
    truth = {q["text"].strip(): q["speaker"] for q in expected["quotes"]}
    matched = [t for t in truth if t in found]
    speakers_right = [t for t in matched if found[t] and (found[t] in truth[t] or truth[t] in found[t])]
    seen = {e.text.casefold() for e in found_entities} | {c.casefold() for c in canonical}
    entity_hits = sum(any(n.casefold() in seen for n in [e["text"], *e.get("aliases", [])])
                      for e in expected["entities"])
    return {
        "quote_precision": len(matched) / len(found) if found else 1.0,
        "quote_recall": len(matched) / len(truth),
        "speaker_accuracy": len(speakers_right) / len(truth),
        "scare_quotes_reported": sum(s in found for s in expected["scare_quotes"]),
        "entity_recall": entity_hits / len(expected["entities"]),
        "outlets_exact": outlets.cited(body) == expected["cited_outlets"],
    }


def ner_cost(articles: int = 1000) -> dict:
    rng = random.Random(5)
    bodies = ["\n\n".join(article_parts(rng)[1]) for _ in range(articles)]
    recognise(bodies[:10])  # load the model outside the timing
    started = time.perf_counter()
    recognise(bodies, batch_size=64)
    seconds = time.perf_counter() - started
    return {"articles": articles, "seconds_per_1000_articles": round(seconds * 1000 / articles, 2),
            "articles_per_s_per_core": round(articles / seconds, 1),
            "words_per_article": round(sum(len(b.split()) for b in bodies) / articles)}


def main() -> None:
    results = {"model": model_version(), "ner": ner_cost()}
    if SEED.exists():
        results["seed"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in seed_scores().items()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
