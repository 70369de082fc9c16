import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import clean, ingest
from pipeline.clean import clean_html, clean_text, load_lexicon, repair
from pipeline.config import CleanParams, load_params
from pipeline.io import read_table
from pipeline.text import casefolded_words, words
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
    ("In this Nov. 10, 2019, file photo, a row of unsold cars sits at a dealership in Little Rock.", "caption"),
    ("-", "separator"),
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
    assert body_scores(txt, truths)["f1"] >= 0.88
    assert body_scores(html, truths)["f1"] >= 0.965


FIXTURES = REPO / "tests" / "fixtures" / "clean"
PROSE = [f"Paragraph {i} of the story says the council met on Tuesday and that the members voted for the "
         f"new bridge, which the engineers had planned for years." for i in range(6)]


def page(*lines: str) -> str:
    return "\n\n".join(("Bridge vote",) + lines)


def test_a_page_dump_comes_out_as_its_golden_file():
    """Menus, the headline's repetition, standfirst, credits, script, a box of related links, the
    comments and the footer of one dumped page (written for these rules)."""
    expected = json.loads((FIXTURES / "page_dump.expected.json").read_text(encoding="utf-8"))
    cleaned = clean_text((FIXTURES / "page_dump.txt").read_text(encoding="utf-8"), lexicon=LEXICON)
    assert cleaned.paragraphs == expected["paragraphs"]
    assert (cleaned.title, cleaned.subtitle, cleaned.byline, cleaned.timestamp_text) == (
        expected["title"], expected["subtitle"], expected["byline"], expected["timestamp_text"])
    assert {line: str(reason) for _, line, reason in cleaned.removed} == expected["removed"]


@pytest.mark.parametrize("heading", ["Comments", "12 Comments", "Leave a Reply", "Share this:", "Kommentare",
                                     "Deja un comentario", "About the author"])
def test_what_follows_the_article_is_cut_at_its_heading(heading):
    comment = "I read this story twice and I think the council is right to build the bridge at last, so well done."
    text = page(*PROSE[:4], heading, comment, PROSE[4])
    assert kept(text) == PROSE[:4]


def test_an_end_heading_before_enough_story_cuts_nothing():
    assert kept(page("Comments", *PROSE[:3])) == PROSE[:3]


def test_a_box_of_related_links_inside_the_story_loses_only_its_links():
    text = page(*PROSE[:4], "Related stories", "Council delays vote on fees", "Mayor names new chief", *PROSE[4:])
    assert kept(text) == PROSE
    assert reasons(text)["Council delays vote on fees"] == "navigation"


def test_a_box_of_related_links_after_the_story_ends_it():
    teaser = "Police search for the missing hiker who was last seen near the old mill on Sunday evening."
    text = page(*PROSE[:5], "Related stories", "Council delays vote on fees", "Mayor names new chief", "More",
                "Sport", "Weather", "Video", teaser)
    assert kept(text) == PROSE[:5]


def test_lines_above_the_headlines_repetition_go_when_the_story_is_below_it():
    teaser = "Breaking: the storm that hit the coast on Sunday left thousands of homes without power, officials said."
    text = page(teaser, "Bridge vote", *PROSE)
    assert kept(text) == PROSE
    assert reasons(text)[teaser] == "low_content"


def test_the_standfirst_between_headline_and_credits_is_the_subtitle():
    standfirst = "The vote ends a decade of debate over the crossing in the north of the city."
    cleaned = clean_text(page("Bridge vote", standfirst, "By Ana Ruiz", *PROSE), lexicon=LEXICON)
    assert cleaned.subtitle == standfirst and cleaned.paragraphs == PROSE


@pytest.mark.parametrize("line, expected", [
    ("November 19, 2019, 8:41 AM EST", True), ("Monday 18 November 2019", True), ("2019-11-18T20:51:19Z", True),
    ("19 de noviembre de 2019 10:30", True), ("13", False), ("November rain", False),
    ("The vote took place on November 19, 2019 in the town hall.", False),
])
def test_lines_that_are_only_a_date_are_timestamps(line, expected):
    assert clean.is_date_only(line) is expected


@pytest.mark.parametrize("line, expected", [
    ("by Jeff Foust — November 18, 2019", True), ("Written by Rachael Link, MS, RD", True),
    ("By the end of the year the bridge will be open.", False), ("Bypass closed", False),
])
def test_credits_are_bylines_anywhere(line, expected):
    assert clean.is_byline(line, first=False) is expected


@pytest.mark.parametrize("line, expected", [
    ("Sign up for our newsletter and never miss a story", "boilerplate"),
    ("Read our privacy policy", "boilerplate"),
])
def test_boilerplate_phrases_anywhere_in_a_short_line(line, expected):
    assert reasons(page(*PROSE[:3], line, *PROSE[3:]))[line] == expected


def test_boilerplate_phrases_inside_long_lines_or_extracted_text_stay():
    long_line = ("The company said it would change its privacy policy next year after regulators in three "
                 "countries asked how it used the data of its customers, and that all of its users would be "
                 "told about the change by email before it takes effect.")
    assert len(long_line) > clean.CONTAINED_MAX_CHARS
    assert long_line in kept(page(*PROSE[:3], long_line, *PROSE[3:]))
    short = "Read our privacy policy"
    assert short in clean_text(page(*PROSE[:2], short), lexicon=LEXICON, select_main=False).paragraphs


def test_extracted_text_keeps_repeated_paragraphs():
    question = "What inspired you to start cooking?"
    text = page(question, PROSE[0], question, PROSE[1])
    assert clean_text(text, lexicon=LEXICON, select_main=False).paragraphs == [question, PROSE[0], question, PROSE[1]]
    assert kept(text).count(question) <= 1


@pytest.mark.parametrize("line", [
    "SportsLionsTigersPistonsRed WingsMichigan State Best OfTravel",
    "GamesPlayStationXboxNintendoPCMobileUpcoming",
])
def test_glued_menus_are_bad(line):
    assert clean.looks_like_glued_menu(line)
    assert not clean.looks_like_glued_menu("SoftBank told WeWork that the iPhone maker and McDonald's would join.")


def test_lines_that_repeat_themselves_are_widgets():
    teaser = "Disney+ will offer original aspect ratios in early 2020 for The Simpsons"
    widget = f"Company Town {teaser} Company Town {teaser}"
    assert clean.line_class(widget, casefolded_words(widget), LEXICON.stopwords["en"]) == "bad"
    assert not clean.repeats_itself(words(PROSE[0]))


@pytest.mark.parametrize("line, expected", [
    ("sammievee says: November 19, 2019 at 7:42 am If you needed to win, run the ball.", True),
    ("Jan Smith August 8, 2018 at 7:21 pm Hi, Pamela, thank you for this.", True),
    ("The meeting on November 19, 2019 lasted until 9:30 pm, when the members finally voted.", False),
])
def test_lines_stamped_with_a_time_of_day_near_their_start(line, expected):
    assert clean.has_stamp(line) is expected


def test_lines_with_many_dates_are_teaser_lists():
    teasers = " ".join(f"Story number {i} about the town Nov {10 + i}, 2019" for i in range(4))
    assert clean.lists_dated_items(teasers)
    assert not clean.lists_dated_items("Between March 1, 2019 and May 2, 2019 the river rose twice.")


@pytest.mark.parametrize("line, expected", [
    ('jQuery(document).ready(function () { init({"list": "6da2", "action": "https://example.org"}); });', True),
    ('var slot = "top"; window.ads.push(slot);', True),
    ("She said the function of the bridge is to let people cross, and that was all.", False),
])
def test_script_is_recognised_as_code(line, expected):
    assert clean.looks_like_code(line) is expected


def test_script_between_paragraphs_does_not_split_the_story():
    script = 'if (window.adSlot) { var slot = document.getElementById("ad-1"); window.adSlot.push(slot); }'
    assert kept(page(*PROSE[:3], script, *PROSE[3:])) == PROSE


def test_a_long_run_of_short_lines_between_prose_blocks_is_not_kept():
    names = [f"Staff Member {i}" for i in range(clean.SHORT_RUN_MAX + 1)]
    assert not set(names) & set(kept(page(*PROSE[:3], *names, *PROSE[3:])))
    items = ["Two traffic lanes", "A bus lane", "A path for bikes"]
    assert kept(page(*PROSE[:3], *items, *PROSE[3:])) == PROSE[:3] + items + PROSE[3:]


def test_a_menu_above_the_story_is_not_kept_though_it_reaches_the_top_of_the_page():
    menu = ["Home", "News", "Sport", "Weather"]
    assert kept(page(*menu, *PROSE)) == PROSE


def test_a_bare_ampersand_does_not_send_the_text_through_ftfy(monkeypatch):
    monkeypatch.setattr(clean.ftfy, "fix_text", lambda *a, **k: pytest.fail("ftfy ran"))
    assert repair("Q&A: News & Politics") == "Q&A: News & Politics"


def test_html_tables_of_data_are_kept_but_a_page_laid_out_in_a_table_is_not_a_table():
    rows = "".join(f"<tr><td>{i}</td><td>Driver {i}</td><td>{5000 - i}</td></tr>" for i in range(1, 6))
    page = ("<html><head><title>Final standings</title></head><body><article><h1>Final standings</h1>"
            + "".join(f"<p>{BODY} Paragraph {i} adds detail about the season.</p>" for i in range(4))
            + f"<table>{rows}</table></article></body></html>")
    assert any("Driver 3" in p for p in clean_html(page, lexicon=LEXICON).paragraphs)
    assert clean.has_layout_table("| " + "All of the page in one cell. " * 40 + "|")
    assert not clean.has_layout_table("| 1 | Driver 1 | 4999 |")


@pytest.mark.parametrize("bio", ["Meg James is a corporate media reporter for the Los Angeles Times.",
                                 "Ana Ruiz es periodista y cubre la política local desde 2010."])
def test_the_author_box_ends_the_article(bio):
    assert clean.is_author_bio(bio)
    assert kept(page(*PROSE[:4], bio, "She lives in the city with her family and two cats, and she likes rivers.")) \
        == PROSE[:4]
    assert not clean.is_author_bio("The mayor, who is a former reporter, said the bridge would be built.")


@given(st.lists(st.sampled_from(['function(', 'var x =', ' => ', '\\u00e9', '"key": ', 'document.title',
                                 'window.x', ' word', '"', '(', '=', '.', ' ', '\\']), max_size=40),
       st.integers(0, 600))
def test_the_code_token_shortcut_never_changes_the_answer(pieces, padding):
    line = "".join(pieces) + " prose" * (padding // 6)
    tokens = len(clean._CODE_TOKEN.findall(line))
    by_regex_only = (len(clean._CODE_CHARS.findall(line)) > 0.02 * len(line) + 1
                     or (tokens >= clean.CODE_TOKEN_MIN and tokens * clean.CODE_TOKEN_SPACING >= len(line)))
    assert clean.looks_like_code(line) is by_regex_only


# The shortcuts below skip a regex or a Unicode step where it cannot change the answer; each test
# holds the shortcut to the plain definition on text built to hit both sides of the shortcut.
SHORTCUT_TEXT = st.lists(st.one_of(
    st.sampled_from(["Photo", "IMAGE", "credit", "Getty Images", "(photo by x)", "In this file photo", "ıstock",
                     "crédit", "1999", "2019-11-18", "x2019", "2019x", "_2019", "٢٠١٩", "http://a", "www.b",
                     " | ", " » ", "•", "İstanbul", "straße", "K", "_", "don't", " ", ".", "\u00a0"]),
    st.text(max_size=8)), max_size=30).map("".join)


@given(SHORTCUT_TEXT)
def test_the_caption_word_search_never_changes_the_answer(line):
    assert clean.is_caption(line) is (len(line) < 300 and bool(clean._CAPTION.match(line)))


@given(SHORTCUT_TEXT)
def test_the_year_pattern_is_a_four_digit_number_standing_alone(line):
    import re

    assert clean._YEAR.findall(line) == re.findall(r"\b\d{4}\b", line)


@given(SHORTCUT_TEXT)
def test_the_link_mark_search_never_changes_the_answer(line):
    assert clean.is_linkish(line) is (40 * len(clean._LINKISH.findall(line)) > len(line))


def test_word_counting_stops_once_an_article_is_long_enough():
    assert clean.count_words(["one two three", "four five"], up_to=100) == 5
    assert clean.count_words(["one two three", "four five"], up_to=2) == 3
    assert clean.count_words([], up_to=2) == 0


@given(st.lists(st.sampled_from(["a", "B", ")", "Z", "z", "É", "é", " ", "(", "x", "Q"]), max_size=30).map("".join))
def test_the_glued_item_pattern_counts_lower_then_capital(line):
    import re

    assert len(clean._GLUED_ITEM.findall(line)) == len(re.findall(r"[a-z\)][A-Z]", line))
