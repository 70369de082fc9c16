"""`python -m pipeline sample`: a deterministic generator of realistic raw news articles.

Used by the benchmarks and the scale tests. Articles are built from sentence templates filled
with invented names, places and numbers, then wrapped in the noise a scraper picks up: the
headline repeated with other quote marks, share widgets, menus, comment forms, bylines,
captions, separators and mojibake. Exact and near duplicates (one sentence changed, a paragraph
added, other boilerplate around them) are mixed in at known rates, and `truth.jsonl` records
which file is a copy of which, so dedup can be scored.

Everything comes from `random.Random(seed)`: the same arguments give the same bytes.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

FIRST = ("Amara", "Bruno", "Chen", "Dalia", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jonas", "Kira",
         "Lucas", "Mirela", "Nadia", "Omar", "Petra", "Quentin", "Rosa", "Samir", "Tomas", "Ulla",
         "Vera", "Wendell", "Ximena", "Yusuf", "Zofia")
LAST = ("Abara", "Brandt", "Castell", "Duarte", "Ekwueme", "Falk", "Grieve", "Haddad", "Iversen",
        "Jovic", "Kowal", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Pereira", "Quist", "Rahman",
        "Sorensen", "Tanaka", "Uribe", "Varga", "Whitlock", "Yilmaz", "Zeller")
PLACES = ("Port Alden", "Kessbridge", "Marlow Bay", "Eastvale", "Nordholm", "Santa Lucerna",
          "Bramwick", "Orrin Falls", "Veldt", "Caldera Springs", "Havnby", "Westmarch")
ORGS = ("the Ministry of Transport", "the city council", "the regional water authority",
        "the national statistics office", "the teachers' union", "the harbour authority",
        "the health ministry", "the energy regulator", "the central bank", "the farmers' association")
TOPICS = ("flood barrier", "rail line", "school reform", "housing plan", "water tariff", "bridge repair",
          "hospital budget", "wind farm", "bus network", "tax rebate", "port expansion", "power grid")
VERBS = ("said", "told reporters", "added", "warned", "explained", "insisted", "noted")
SENTENCES = (
    "{org_cap} said on {day} that the {topic} in {place} would cost about {n} million euros.",
    "The {topic} has divided residents of {place} for more than {k} years.",
    "Critics say the plan ignores the needs of smaller towns such as {place2}.",
    "\u201cWe cannot wait any longer,\u201d {person} {verb}, adding that the work should start in {month}.",
    "According to {org}, about {n} households would be affected by the {topic}.",
    "{person}, who has led the opposition to the project, called the decision \u201ca mistake\u201d.",
    "The vote in {place} passed by {k} votes to {k2}, after a debate that lasted late into the night.",
    "Officials expect the first phase of the {topic} to be finished by {month} next year.",
    "Local businesses in {place} fear that the works will keep customers away for months.",
    "{org_cap} will publish a full report on the {topic} before the end of {month}.",
    "In a statement, {org} said it had \u201clistened carefully\u201d to the concerns of residents.",
    "The cost of the {topic} has risen by {k} per cent since it was first proposed.",
    "Neighbouring {place2} rejected a similar {topic} in a referendum {k} years ago.",
    "\u201cThis is the most important decision for {place} in a generation,\u201d {person} {verb}.",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January", "March", "May", "June", "September", "November")
WIDGETS = ("Share on Facebook", "Share on Twitter", "Share this article", "__________ Join us on WhatsApp __________",
           "Advertisement", "Click here to subscribe to our newsletter", "Read more:", "Follow us on Instagram")
MENUS = ("Home | News | Politics | Business | Sport | Culture | Opinion",
         "Home > News > Regional", "Menu  Search  Subscribe  Sign in")
FOOTERS = ("Leave a Reply", "Your email address will not be published. Required fields are marked *",
           "\u00a9 2024 The Regional Courier. All rights reserved.", "Privacy Policy | Terms of Use | Contact",
           "We use cookies to improve your experience. Accept")
SEPARATORS = ("* * *", "=" * 30, "-" * 40)


@dataclass(frozen=True)
class SampleSpec:
    """How many articles and how many of them are exact / near copies of earlier ones."""

    n: int
    seed: int = 0
    exact_rate: float = 0.02
    near_rate: float = 0.03
    files_per_folder: int = 1000
    jsonl_every: int = 0  # >0: every jsonl_every-th group of articles goes to a JSONL file instead


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _sentence(rng: random.Random, place: str, topic: str, people: list[str]) -> str:
    org = rng.choice(ORGS)
    return rng.choice(SENTENCES).format(
        org=org, org_cap=org[0].upper() + org[1:], day=rng.choice(DAYS), topic=topic, place=place,
        place2=rng.choice(PLACES), n=rng.randint(2, 900), k=rng.randint(2, 40), k2=rng.randint(1, 20),
        month=rng.choice(MONTHS), person=rng.choice(people), verb=rng.choice(VERBS))


def article_parts(rng: random.Random) -> tuple[str, list[str]]:
    """A headline and 4-9 paragraphs of 2-4 sentences about one invented local story."""
    place, topic = rng.choice(PLACES), rng.choice(TOPICS)
    people = [_person(rng) for _ in range(3)]
    title = f"{place} {rng.choice(('approves', 'rejects', 'delays', 'debates'))} \u2018{topic}\u2019 plan"
    paragraphs = [" ".join(_sentence(rng, place, topic, people) for _ in range(rng.randint(2, 4)))
                  for _ in range(rng.randint(4, 9))]
    return title, paragraphs


def noisy_text(rng: random.Random, title: str, paragraphs: list[str]) -> str:
    """The article as a naive scraper dumps it: menus, repeated headline, widgets, footers."""
    lines = [title]
    if rng.random() < 0.7:
        lines.append(rng.choice(MENUS))
    lines.append(title.replace("\u2018", "'").replace("\u2019", "'"))
    if rng.random() < 0.6:
        lines.append(f"By {_person(rng)}")
    for i, paragraph in enumerate(paragraphs):
        lines.append(paragraph)
        roll = rng.random()
        if roll < 0.15:
            lines.append(rng.choice(WIDGETS))
        elif roll < 0.22:
            lines.append(title.upper() if rng.random() < 0.5 else title)
        elif roll < 0.27:
            lines.append(f"Photo: {_person(rng)}/Regional Courier")
        elif roll < 0.30:
            lines.append(rng.choice(SEPARATORS))
    if rng.random() < 0.1:  # mojibake: UTF-8 read as cp1252 somewhere upstream
        lines = [_as_cp1252_mojibake(line) for line in lines]
    lines += rng.sample(FOOTERS, rng.randint(1, 3))
    return "\n\n".join(lines) + "\n"


def _as_cp1252_mojibake(text: str) -> str:
    """`text` encoded as UTF-8 and wrongly decoded as Windows-1252, the commonest mojibake.

    Bytes cp1252 leaves undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d) become the C1 control
    character of the same number, as sloppy decoders do, so the damage stays repairable.
    """
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8"))


def near_copy(rng: random.Random, title: str, paragraphs: list[str]) -> list[str]:
    """The same story edited: one sentence changed and a paragraph added or removed."""
    edited = list(paragraphs)
    i = rng.randrange(len(edited))
    sentences = edited[i].split(". ")
    sentences[rng.randrange(len(sentences))] = "Officials declined to comment on the details"
    edited[i] = ". ".join(sentences)
    if rng.random() < 0.5 and len(edited) > 4:
        del edited[rng.randrange(len(edited))]
    else:
        edited.append(f"The story was updated with comments from {_person(rng)}.")
    return edited


def generate(spec: SampleSpec, out_dir: Path) -> dict:
    """Write `spec.n` raw articles under `out_dir` plus `truth.jsonl`; return counts.

    Files are `<folder>/<index>_<16 hex>.txt` in folders of `files_per_folder` (or, with
    `jsonl_every`, some folders are one JSONL file instead). `truth.jsonl` sits beside the
    articles folder (`out_dir/../<name>.truth.jsonl`) so the pipeline does not ingest it.
    """
    rng = random.Random(spec.seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stories: list[tuple[str, list[str]]] = []
    truth, counts = [], {"articles": 0, "exact": 0, "near": 0}
    group: list[tuple[str, str]] = []
    group_index = 0

    def flush() -> None:
        nonlocal group, group_index
        if not group:
            return
        if spec.jsonl_every and group_index % spec.jsonl_every == spec.jsonl_every - 1:
            lines = [json.dumps({"id": name, "text": text}, ensure_ascii=False) for name, text in group]
            data = ("\n".join(lines) + "\n").encode("utf-8")
            (out_dir / f"batch-{group_index:05d}.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            folder = out_dir / f"{group_index:05d}"
            folder.mkdir(exist_ok=True)
            for name, text in group:
                (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        group, group_index = [], group_index + 1

    for index in range(spec.n):
        name = f"{index:08d}_{rng.getrandbits(64):016x}"
        roll = rng.random()
        if stories and roll < spec.exact_rate:
            source = rng.randrange(len(stories))
            title, paragraphs = stories[source]
            truth.append({"file": name, "copy_of": source, "kind": "exact"})
            counts["exact"] += 1
        elif stories and roll < spec.exact_rate + spec.near_rate:
            source = rng.randrange(len(stories))
            title, paragraphs = stories[source][0], near_copy(rng, *stories[source])
            truth.append({"file": name, "copy_of": source, "kind": "near"})
            counts["near"] += 1
        else:
            title, paragraphs = article_parts(rng)
            stories.append((title, paragraphs))
            truth.append({"file": name, "story": len(stories) - 1, "kind": "original"})
        group.append((name, noisy_text(rng, title, paragraphs)))
        counts["articles"] += 1
        if len(group) == spec.files_per_folder:
            flush()
    flush()
    truth_path = out_dir.parent / f"{out_dir.name}.truth.jsonl"
    truth_path.write_text("".join(json.dumps(t) + "\n" for t in truth), encoding="utf-8")
    return counts
