"""Extraction quality on the hand-made fixtures and the seed, and what NER costs.

    .venv/bin/python bench/extract_quality.py            # writes bench/results/extract_quality.json

Quality, on `tests/fixtures/extract/*.json` (8 articles in en/es/fr/de/pt/it written for the
project) and the seed (`../shared/seeds/000_*`, skipped when absent), through the same path as the
extract stage (entities from the model, their canonical forms as names for the speakers):
- quotes: precision and recall of quotation texts (exact text between the marks); scare quotes
  reported (should be 0); speaker accuracy = quotes found with the expected speaker (or a fuller
  form of it: "Austin" -> "Lloyd Austin", "the Pentagon" -> "Pentagon") over expected quotes;
  partial-flag accuracy over matched quotes. Once with entity names, once with none (`extract.ner:
  false`), where speakers resolve against runs of capitalised words only.
- entities: recall of the expected entities (the entity or an alias found as text or canonical,
  case-insensitively) and precision (entities found whose text or canonical is expected), for
  English and, separately, for the other languages with the raw English model and with the
  names-only filter the stage applies there.
- fields: share of fixtures whose published_at, authors, dateline and outlets equal the expected.
- quotes on real English news (`quotes.held_out_real_news`, when ../shared is present): every
  quoted span of 24 aeb-dev articles judged by hand (`bench/annotations/aeb_dev_quotes.json`,
  offsets only), in sets A, B, C drawn one after another; each set was scored before the fixes
  it led to (those first figures are in BENCHMARKS.md), so only the latest set estimates the
  code as it was then; re-running scores the current code on all three.

Cost: NER seconds per 1,000 articles and articles per second on one core (`nlp.pipe`, batch 64,
NER pipe only; the model is loaded before timing), on the aeb-dev true bodies (real news, about
800 words; skipped when ../shared is absent) and on 1,000 generated articles (`pipeline.sample`,
about 300 words). For comparison, the same with spaCy's shared tok2vec left in the pipeline (the
previous configuration). Quotes + fields cost per 1,000 articles too.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.entities import MODEL_NAME, EntityRecognizer, canonical_forms, model_version  # noqa: E402
from pipeline.fields import authors, cited_outlets, dateline, load_outlets, published_at  # noqa: E402
from pipeline.quotes import find_quotes, load_attribution  # noqa: E402
from pipeline.sample import article_parts  # noqa: E402

LEXICONS = REPO / "schemas" / "lexicons"
FIXTURES = REPO / "tests" / "fixtures" / "extract"
SHARED = REPO.parent / "shared"
SEED = SHARED / "seeds" / "000_a1afa4b16a1fe23b.expected.json"
AEB = SHARED / "corpora" / "aeb-dev" / "ground_truth.jsonl"
RESULTS = REPO / "bench" / "results" / "extract_quality.json"
ANNOTATIONS = REPO / "bench" / "annotations" / "aeb_dev_quotes.json"
LANGUAGES = ("en", "es", "fr", "de", "pt", "it")


def load_articles() -> list[dict]:
    """Fixtures and the seed as {name, language, body, document, expected} (expected quotes as
    text/speaker/partial, scare quotes, entities with aliases)."""
    articles = []
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        document = data["document"]
        articles.append({"name": path.stem, "language": document["language"], "document": document,
                         "body": "\n\n".join(document["paragraphs"]), "expected": data["expected"]})
    if SEED.exists():
        seed = json.loads(SEED.read_text(encoding="utf-8"))
        quotes = [{"text": q["text"], "speaker": q["speaker"], "partial": "partial" in q.get("note", "")}
                  for q in seed["quotes"]]
        articles.append({"name": "seed", "language": "en", "document": None,
                         "body": "\n\n".join(seed["body_paragraphs"]),
                         "expected": {"quotes": quotes, "scare_quotes": seed["scare_quotes"],
                                      "entities": [{"text": e["text"], "label": e["type"],
                                                    "aliases": e.get("aliases", [])} for e in seed["entities"]],
                                      "outlets": seed["cited_outlets"]}})
    return articles


def _same_speaker(found: str | None, wanted: str | None) -> bool:
    if found is None or wanted is None:
        return found == wanted
    found, wanted = found.removeprefix("the "), wanted.removeprefix("the ")
    return found == wanted or found.endswith(" " + wanted)


def quote_scores(articles: list[dict], names_per_article: list[list[tuple[str, str]]], lexicon) -> dict:
    found_total = matched = expected_total = speakers_right = partial_right = scare = 0
    misses = []
    for article, names in zip(articles, names_per_article):
        quotes = find_quotes(article["body"], article["language"], names, lexicon)
        truth = {q["text"]: q for q in article["expected"]["quotes"]}
        found_total += len(quotes)
        expected_total += len(truth)
        scare += sum(q.text in article["expected"]["scare_quotes"] for q in quotes)
        for quote in quotes:
            if quote.text not in truth:
                misses.append(f"{article['name']}: extra {quote.text[:50]!r}")
                continue
            matched += 1
            wanted = truth[quote.text]
            partial_right += quote.partial == wanted["partial"]
            if _same_speaker(quote.speaker, wanted["speaker"]):
                speakers_right += 1
            else:
                misses.append(f"{article['name']}: speaker {quote.speaker!r} for {wanted['speaker']!r}")
        missing = set(truth) - {q.text for q in quotes}
        misses += [f"{article['name']}: missed {t[:50]!r}" for t in sorted(missing)]
    return {"quotes_expected": expected_total, "quotes_found": found_total,
            "precision": round(matched / found_total, 4) if found_total else 1.0,
            "recall": round(matched / expected_total, 4),
            "speaker_accuracy": round(speakers_right / expected_total, 4),
            "partial_accuracy": round(partial_right / matched, 4) if matched else 1.0,
            "scare_quotes_reported": scare, "errors": misses}


def entity_scores(articles: list[dict], found: list, titles_of) -> dict:
    right = total_found = hits = total_gold = 0
    for article, entities in zip(articles, found):
        canonical = canonical_forms(entities, article["body"], titles_of(article["language"]))
        gold = article["expected"]["entities"]
        names = {n.casefold().removeprefix("the ") for g in gold for n in [g["text"], *g.get("aliases", [])]}
        seen = {t.casefold().removeprefix("the ") for e, c in zip(entities, canonical) for t in (e.text, c)}
        right += sum(1 for e, c in zip(entities, canonical)
                     if {e.text.casefold().removeprefix("the "), c.casefold().removeprefix("the ")} & names)
        total_found += len(entities)
        hits += sum(1 for g in gold
                    if any(n.casefold().removeprefix("the ") in seen for n in [g["text"], *g.get("aliases", [])]))
        total_gold += len(gold)
    return {"expected": total_gold, "found": total_found, "recall": round(hits / total_gold, 4),
            "precision": round(right / total_found, 4) if total_found else 1.0}


def field_scores(articles: list[dict], outlets) -> dict:
    checks = {"published_at": 0, "authors": 0, "dateline": 0, "outlets": 0}
    fixtures = [a for a in articles if a["document"]]
    for article in fixtures:
        document, expected = article["document"], article["expected"]
        found_dateline = dateline(document["dateline"], document["paragraphs"][0])
        value = published_at(document["meta_published"], document["timestamp_text"], article["body"][:600],
                             document["language"])
        checks["published_at"] += (value.isoformat() if value else None) == expected["published_at"]
        checks["authors"] += authors(document["meta_authors"], document["byline"], outlets) == expected["authors"]
        checks["dateline"] += found_dateline == expected["dateline"]
        checks["outlets"] += cited_outlets(article["body"], outlets, found_dateline) == expected["outlets"]
    return {"articles": len(fixtures), **{k: round(v / len(fixtures), 4) for k, v in checks.items()}}


def aeb_bodies() -> dict[str, str]:
    """aeb-dev true bodies by id, as the annotations index them (non-empty lines, blank-line joined)."""
    bodies = {}
    for line in AEB.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        bodies[row["id"]] = "\n\n".join(p.strip() for p in row["body"].split("\n") if p.strip())
    return bodies


def held_out_scores(recognizer: EntityRecognizer, lexicon, leading) -> dict:
    """Quotes on real English news: hand judgements of every quoted span in aeb-dev articles
    (bench/annotations/aeb_dev_quotes.json), per set."""
    annotations = json.loads(ANNOTATIONS.read_text(encoding="utf-8"))["articles"]
    bodies = aeb_bodies()
    scores = {}
    for name in sorted({a["set"] for a in annotations}):
        articles = [a for a in annotations if a["set"] == name]
        texts = [bodies[a["id"]] for a in articles]
        found = recognizer.entities(texts, ["en"] * len(texts), leading)
        reported = judged = right = speakers_right = unjudged = 0
        total = sum(len(a["quotes"]) for a in articles)
        errors = []
        for article, body, entities in zip(articles, texts, found):
            canonical = canonical_forms(entities, body, lexicon.title_words("en"))
            names = sorted({(c, e.label) for e, c in zip(entities, canonical)})
            truth = {q["start"]: q["speaker"] for q in article["quotes"]}
            wrong = set(article["not_quotes"])
            for quote in find_quotes(body, "en", names, lexicon):
                reported += 1
                if quote.start in truth:
                    judged += 1
                    right += 1
                    if _same_speaker(quote.speaker, truth[quote.start]):
                        speakers_right += 1
                    else:
                        errors.append(f"{article['id'][:12]}@{quote.start}: speaker {quote.speaker!r} "
                                      f"for {truth[quote.start]!r}")
                elif quote.start in wrong:
                    judged += 1
                    errors.append(f"{article['id'][:12]}@{quote.start}: not a quotation")
                else:
                    unjudged += 1
            found_starts = {q.start for q in find_quotes(body, "en", names, lexicon)}
            errors += [f"{article['id'][:12]}@{start}: missed" for start in sorted(set(truth) - found_starts)]
        scores[name] = {"articles": len(articles), "quotes_judged": total, "reported": reported,
                        "precision": round(right / judged, 4) if judged else 1.0,
                        "recall": round(right / total, 4) if total else 1.0,
                        "speaker_accuracy": round(speakers_right / total, 4) if total else 1.0,
                        "reported_but_not_judged": unjudged, "errors": errors}
    return scores


def ner_cost(recognizer: EntityRecognizer, bodies: list[str], repeat: int = 1) -> dict:
    recognizer.entities(bodies[:8])  # load the model and warm up outside the timing
    started = time.process_time()
    for _ in range(repeat):
        recognizer.entities(bodies)
    seconds = (time.process_time() - started) / repeat
    return {"articles": len(bodies), "words_per_article": round(sum(len(b.split()) for b in bodies) / len(bodies)),
            "cpu_seconds_per_1000_articles": round(seconds * 1000 / len(bodies), 2),
            "articles_per_s_per_core": round(len(bodies) / seconds, 1)}


class _WithTok2vec(EntityRecognizer):
    """The previous configuration: spaCy's shared tok2vec kept in the pipeline (not needed by NER)."""

    @property
    def nlp(self):
        if self._nlp is None:
            import spacy

            self._nlp = spacy.load(MODEL_NAME, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])
        return self._nlp


def main() -> None:
    lexicon = load_attribution(LEXICONS)
    outlets = load_outlets(LEXICONS)
    recognizer = EntityRecognizer()
    articles = load_articles()
    leading = {lang: lexicon.leading_words(lang) for lang in LANGUAGES}
    languages = [a["language"] for a in articles]
    found = recognizer.entities([a["body"] for a in articles], languages, leading)
    raw = recognizer.entities([a["body"] for a in articles])
    names = []
    for article, entities in zip(articles, found):
        canonical = canonical_forms(entities, article["body"], lexicon.title_words(article["language"]))
        names.append(sorted({(c, e.label) for e, c in zip(entities, canonical)}))
    english = [i for i, a in enumerate(articles) if a["language"] == "en"]
    other = [i for i, a in enumerate(articles) if a["language"] != "en"]
    seed = [i for i, a in enumerate(articles) if a["name"] == "seed"]
    pick = lambda items, idx: [items[i] for i in idx]  # noqa: E731
    results = {
        "model": model_version(),
        "articles": {"fixtures": len(articles) - len(seed), "seed": bool(seed),
                     "by_language": {lang: languages.count(lang) for lang in LANGUAGES}},
        "quotes": {
            "with_entities": quote_scores(articles, names, lexicon),
            "without_entities": quote_scores(articles, [[] for _ in articles], lexicon),
        },
        "entities": {
            "english": entity_scores(pick(articles, english), pick(found, english), lexicon.title_words),
            "other_languages_raw_model": entity_scores(pick(articles, other), pick(raw, other), lexicon.title_words),
            "other_languages_names_only": entity_scores(pick(articles, other), pick(found, other),
                                                        lexicon.title_words),
        },
        "fields": field_scores(articles, outlets),
    }
    if AEB.exists():
        results["quotes"]["held_out_real_news"] = held_out_scores(recognizer, lexicon, leading)
    if seed:
        [s] = seed
        results["seed"] = {
            "quotes": quote_scores([articles[s]], [names[s]], lexicon),
            "entities": entity_scores([articles[s]], [found[s]], lexicon.title_words),
            "outlets_match": sorted(cited_outlets(articles[s]["body"], outlets)) == sorted(
                articles[s]["expected"]["outlets"]),
            "published_at": published_at(None, None, articles[s]["body"][:600]),
        }
    rng = random.Random(5)
    generated = ["\n\n".join(article_parts(rng)[1]) for _ in range(1000)]
    cost = {"generated": ner_cost(recognizer, generated)}
    if AEB.exists():
        real = ["\n\n".join(p.strip() for p in json.loads(line)["body"].split("\n") if p.strip())
                for line in AEB.read_text(encoding="utf-8").splitlines()]
        cost["aeb_dev_real_news"] = ner_cost(recognizer, real, repeat=3)
        cost["aeb_dev_real_news_with_tok2vec"] = ner_cost(_WithTok2vec(), real, repeat=3)
        started = time.process_time()
        for body in real:
            find_quotes(body, "en", (), lexicon)
            cited_outlets(body, outlets)
        cost["quotes_and_outlets_cpu_seconds_per_1000_articles"] = round(
            (time.process_time() - started) * 1000 / len(real), 2)
    results["ner_cost"] = cost
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False))


if __name__ == "__main__":
    main()
