import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import clean, ingest
from pipeline.clean import clean_html, clean_text, load_lexicon, repair
from pipeline.config import CleanParams, load_params
from pipeline.io import read_table
from pipeline.text import words
from tests.conftest import REPO, SEED_DIR, needs

LEXICON = load_lexicon(REPO / "schemas" / "lexicons")


def kept(text: str, **kwargs) -> list[str]:
    return clean_text(text, lexicon=LEXICON, **kwargs).paragraphs


def reasons(text: str, **kwargs) -> dict[str, str]:
    return {line: str(reason) for _, line, reason in clean_text(text, lexicon=LEXICON, **kwargs).removed}


def test_the_seed_comes_out_exact():
    seed = needs(SEED_DIR / "000_a1afa4b16a1fe23b.txt")
    expected = json.loads((SEED_DIR / "000_a1afa4b16a1fe23b.expected.json").read_text(encoding="utf-8"))
    cleaned = clean_text(seed.read_text(encoding="utf-8"), lexicon=LEXICON)
    assert cleaned.title == expected["title"]
    assert cleaned.paragraphs == expected["body_paragraphs"]
    removed = {line: str(reason) for _, line, reason in cleaned.removed}
    for reason, lines in expected["removed_reasons"].items():
        for line in lines:
            assert removed[line] == {"repeated_title": "repeated_title", "boilerplate": "boilerplate"}[reason]


BODY = "The council voted on Tuesday to build a new bridge over the river, officials said."


@pytest.mark.parametrize("repeat", [
    "Mayor’s ‘bold’ plan wins vote", "MAYOR'S 'BOLD' PLAN WINS VOTE", "Mayor's  \"bold\"  plan wins vote.",
])
def test_repeated_titles_are_removed_whatever_the_quotes_case_or_spacing(repeat):
    text = f"Mayor's 'bold' plan wins vote\n\n{BODY}\n\n{repeat}\n\nSecond paragraph of the story."
    assert kept(text) == [BODY, "Second paragraph of the story."]
    assert reasons(text)[" ".join(repeat.split())] == "repeated_title"


@pytest.mark.parametrize("line", [
    "Compartir en Facebook", "Deja un comentario", "Partager sur Twitter", "Laisser un commentaire",
    "Auf Facebook teilen", "Kommentar schreiben", "Leia também: outra notícia", "Lascia un commento",
    "Advertisement", "Your email address will not be published. Required fields are marked *",
    "_____ Join us on Telegram _____",
])
def test_multilingual_boilerplate_is_removed(line):
    assert reasons(f"Title\n\n{BODY}\n\n{line}")[line] == "boilerplate"


@pytest.mark.parametrize("line, reason", [
    ("* * *", "separator"), ("==========", "separator"),
    ("Photo: Jane Roe/Getty Images", "caption"),
])
def test_separators_and_captions(line, reason):
    assert reasons(f"Title\n\n{BODY}\n\n{line}\n\nMore text of the article here.")[line] == reason


def test_byline_dateline_and_timestamp_become_fields():
    text = ("Title\n\nBy Maria Ortega and John Smith\n\nPublished 3:42 PM EST, Tue March 2, 2021\n\n"
            f"NAIROBI, Kenya (Reuters) —\n\n{BODY}")
    cleaned = clean_text(text, lexicon=LEXICON)
    assert cleaned.paragraphs == [BODY]
    assert cleaned.byline == "By Maria Ortega and John Smith"
    assert cleaned.timestamp_text == "Published 3:42 PM EST, Tue March 2, 2021"
    assert cleaned.dateline == "NAIROBI, Kenya (Reuters)"


def test_duplicate_paragraphs_and_doubled_quotes():
    text = f"Title\n\n“”We will respond,” she said.\n\n{BODY}\n\n{BODY}"
    assert kept(text) == ["“We will respond,” she said.", BODY]


def test_mojibake_and_entities_are_repaired_but_curly_quotes_kept():
    assert repair("itâ€™s a cafÃ© &amp; bar") == "it’s a café & bar"
    assert repair("“quoted” ‘words’") == "“quoted” ‘words’"


def test_html_goes_through_the_main_text_extractor_with_metadata():
    page = ("<html><head><title>Bridge vote</title><meta name='author' content='Ana Ruiz'></head><body>"
            "<nav><a>Home</a> <a>World</a></nav><article><h1>Bridge vote</h1>"
            + "".join(f"<p>{BODY} Paragraph {i} adds detail about costs and timing.</p>" for i in range(5))
            + "</article><footer>© 2024 Example</footer></body></html>")
    cleaned = clean_html(page, lexicon=LEXICON)
    assert cleaned.title == "Bridge vote"
    assert len(cleaned.paragraphs) == 5 and "Home" not in " ".join(cleaned.paragraphs)
    assert cleaned.metadata["author"] == "Ana Ruiz"


def test_html_falls_back_to_visible_text_when_the_extractor_finds_nothing():
    page = "<html><head><title>Bridge</title></head><body>" + "<div>" * 3000 + f"<p>{BODY}</p><p>{BODY} Again.</p>" + "</div>" * 3000 + "</body></html>"
    assert BODY in clean_html(page, lexicon=LEXICON).paragraphs


def test_lines_repeated_across_documents_are_templates(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(4):
        (raw / f"{i}.txt").write_text(f"Story {i}\n\nThe Daily Mail Bag\n\n{BODY} Number {i} of four.\n"
                                      f"\n{'Another long paragraph of the article body with many words. ' * 3}{i}\n")
    params = load_params(None, ["workers=1", "clean.min_body_words=5"])
    ingest.run(raw, tmp_path / "ingest", params)
    counts = clean.run(tmp_path / "ingest", tmp_path / "clean", params, REPO / "schemas" / "lexicons")
    removed = read_table(tmp_path / "clean", "removed_lines")
    templates = removed.filter(pl.col("reason") == "template")["text"].unique().to_list()
    assert templates == ["The Daily Mail Bag"]
    assert counts["removed_lines"]["template"] == 4


def test_a_page_without_prose_is_rejected_as_not_an_article(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "menu.txt").write_text("Home\n\nWorld\n\nSport\n\nContact us\n")
    params = load_params(None, ["workers=1"])
    ingest.run(raw, tmp_path / "ingest", params)
    clean.run(tmp_path / "ingest", tmp_path / "clean", params, REPO / "schemas" / "lexicons")
    rejects = read_table(tmp_path / "clean", "rejects")
    assert rejects.select("source_path", "reason").rows() == [("menu.txt", "not_article")]


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
LINES = st.lists(st.one_of(TEXT, st.sampled_from(["Share on Facebook", "* * *", BODY, "By Ana Ruiz", ""])),
                 max_size=12).map("\n\n".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_cleaning_never_raises_never_invents_words_and_is_idempotent(text):
    cleaned = clean_text(text, lexicon=LEXICON)
    source_words = set(words(repair(text)))
    assert set(words(" ".join(cleaned.paragraphs))) <= source_words
    again = clean_text("\n\n".join([cleaned.title or ""] + cleaned.paragraphs), lexicon=LEXICON)
    assert again.paragraphs == cleaned.paragraphs


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_html_cleaning_never_raises(markup):
    clean_html(f"<html><body><p>{markup}</p></body></html>", lexicon=LEXICON, params=CleanParams(max_parse_seconds=0))


def test_quality_floors_on_the_dev_benchmark():
    """Pinned floors (bench/quality.py has the full figures): cleaning must not get worse."""
    import gzip

    from bench.scoring import body_scores, load_ground_truth

    aeb = needs(REPO.parent / "shared" / "corpora" / "aeb-dev")
    truths = load_ground_truth(aeb / "ground_truth.jsonl")
    txt = {pid: "\n".join(clean_text((aeb / "txt" / f"{pid}.txt").read_text(encoding="utf-8"),
                                     lexicon=LEXICON).paragraphs) for pid in truths}
    html = {pid: "\n".join(clean_html(gzip.decompress((aeb / "html" / f"{pid}.html.gz").read_bytes())
                                      .decode("utf-8", "replace"), lexicon=LEXICON).paragraphs) for pid in truths}
    assert body_scores(txt, truths)["f1"] >= 0.81
    assert body_scores(html, truths)["f1"] >= 0.955
