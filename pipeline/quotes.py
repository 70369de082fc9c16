"""Direct quotations in an article body, with who said them.

`find_quotes(body, names)` finds every quotation between curly, straight, guillemet or German
quote marks, including quotations that run over several paragraphs (news style leaves the
closing mark off a continued paragraph and opens the next with a quote mark), marks partial
quotations (inside a sentence), drops scare quotes (MIN_QUOTE_WORDS), and attributes a speaker
from the sentence around the quotation: "…,” X said", "said X", "X told Reuters", "according to
X", "X added: “…", and their es/fr/de/pt/it forms (speech verbs in
`schemas/lexicons/speech_verbs.txt`). A continuation paragraph inherits the previous speaker;
an unattributed quotation keeps speaker None. Speakers are resolved to the fullest form of the
name in the article ("Austin" -> "Lloyd Austin") using `names`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# A quotation needs this many words; shorter quoted phrases are scare quotes or titles.
MIN_QUOTE_WORDS = 5
_PAIRS = {"\u201c": "\u201d", '"': '"', "\u00ab": "\u00bb", "\u201e": "\u201c", "\u2039": "\u203a"}
_OPENER = re.compile("[" + "".join(_PAIRS) + "]")
_WORD = re.compile(r"\w+")
_NAME = r"(?:(?:the|la|le|el|der|die|il|o|a)\s+)?(?:[A-ZÀ-Ý][\w'’.-]*(?:\s+(?:al-|de\s+|van\s+|von\s+|da\s+|del\s+|di\s+)?[A-ZÀ-Ý][\w'’.-]*)*)"
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-ZÀ-Ý“\"«])")


@dataclass(frozen=True)
class Quote:
    index: int
    text: str
    speaker: str | None
    start: int
    end: int
    partial: bool


def load_speech_verbs(lexicon_dir: Path) -> tuple[str, ...]:
    """Speech verbs of all languages from `speech_verbs.txt` (one per line, `# comments`)."""
    path = Path(lexicon_dir) / "speech_verbs.txt"
    verbs = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return tuple(sorted({v for v in verbs if v}, key=lambda v: (-len(v), v)))


def quote_spans(body: str) -> list[tuple[int, int]]:
    """(start, end) of the text inside each pair of quote marks, continued quotations included.

    A quotation opened in a paragraph and not closed before the paragraph ends continues when
    the next paragraph opens with a quote mark; otherwise it is dropped (a stray mark)."""
    spans = []
    position = 0
    while (opening := _OPENER.search(body, position)) is not None:
        i = opening.start()
        closer = _PAIRS[body[i]]
        if body[i] == '"' and i > 0 and body[i - 1].isalnum():
            position = i + 1  # inches, or a closing straight quote: not an opening
            continue
        start = cursor = i + 1
        span = None
        while True:
            close = body.find(closer, cursor)
            paragraph = body.find("\n\n", cursor)
            if close != -1 and (paragraph == -1 or close < paragraph):
                span = (start, close)
                break
            if paragraph != -1 and paragraph + 2 < len(body) and body[paragraph + 2] in _PAIRS:
                cursor = paragraph + 3  # the quotation continues in the next paragraph
                continue
            break
        if span:
            spans.append(span)
            position = span[1] + 1
        else:
            position = start
    return spans


def _sentence_bounds(body: str, start: int, end: int) -> tuple[int, int]:
    paragraph_start = body.rfind("\n\n", 0, start)
    paragraph_start = 0 if paragraph_start < 0 else paragraph_start + 2
    paragraph_end = body.find("\n\n", end)
    paragraph_end = len(body) if paragraph_end < 0 else paragraph_end
    return paragraph_start, paragraph_end


class Attributor:
    """Finds the speaker of a quotation in the text before and after it."""

    def __init__(self, verbs: tuple[str, ...], outlets=None):
        verb = "|".join(re.escape(v) for v in verbs)
        self.outlets = outlets
        # "…,” the Pentagon said" / "…,” Mohammed Mohi told Reuters" (the name closest to the verb)
        self.after_name_verb = re.compile(
            rf"^[\s,.—–-]*(?:[^.!?“\"«]*?\b[a-zà-ÿ][\w'’-]*\s+)?(?P<name>{_NAME})\s+(?:{verb})\b")
        # "…,” said Lloyd Austin"
        self.after_verb_name = re.compile(rf"^[\s,.—–-]*(?:{verb})\s+(?:[^\W\d][\w'’ ]{{0,40}},\s+)?(?P<name>{_NAME})")
        # "Austin, who …, added: “…" / "the US State Department said it would attend talks “…"
        self.before = re.compile(rf"(?P<name>{_NAME})(?:,[^,“\"«]{{0,120}},)?\s+(?:(?:has|had|also)\s+)?(?:{verb})\b[^“\"«]*$")
        self.according = re.compile(rf"(?i:according to|según|selon|laut|segundo|secondo)\s+(?P<name>{_NAME})")

    def speaker(self, before: str, after: str, partial: bool) -> str | None:
        """The speaker from the text before and after a quotation in its paragraph."""
        candidates = []
        after_sentence = after[:200]
        for pattern in (self.after_verb_name, self.after_name_verb):
            match = pattern.match(after_sentence)
            if match and not self._is_outlet(match["name"]):
                candidates.append(match["name"])
                break
        before_sentence = _SENTENCE_END.split(before)[-1]
        match = self.before.search(before_sentence)
        if match and not self._is_outlet(match["name"]):
            # a partial quotation continues a clause of reported speech: its subject speaks
            candidates.insert(0 if partial or not candidates else len(candidates), match["name"])
        if not candidates:
            match = self.according.search(before_sentence) or self.according.search(after_sentence)
            if match:
                candidates.append(match["name"])
        return _tidy(candidates[0]) if candidates else None

    def _is_outlet(self, name: str) -> bool:
        return bool(self.outlets and self.outlets.is_outlet(name))


def _tidy(name: str) -> str:
    return " ".join(name.strip(" ,.’'").split())


def resolve(speaker: str | None, names: list[str]) -> str | None:
    """The speaker as the article's fullest name for them: a known name the attribution ends
    with drops titles ("Defense Secretary Lloyd Austin" -> "Lloyd Austin"), and a surname grows
    to the full name ("Austin" -> "Lloyd Austin")."""
    if not speaker:
        return speaker
    bare = re.sub(r"^(?:the|la|le|el|der|die|il|o|a)\s+", "", speaker, flags=re.I)
    inside = [n for n in names if n != bare and bare.endswith(" " + n)]
    if inside:
        return max(inside, key=len)
    longer = [n for n in names if len(n) > len(bare) and n.endswith(" " + bare)]
    return max(longer, key=len) if longer else speaker


def find_quotes(body: str, attributor: Attributor, names: list[str] = ()) -> list[Quote]:
    """Every direct quotation of `body` with its speaker, offsets into `body` and partial flag."""
    quotes: list[Quote] = []
    previous_speaker, previous_paragraph_end = None, -1
    for start, end in quote_spans(body):
        text = body[start:end]
        if len(_WORD.findall(text)) < MIN_QUOTE_WORDS:
            continue
        paragraph_start, paragraph_end = _sentence_bounds(body, start, end)
        before = body[paragraph_start:start - 1]
        after = body[end + 1:paragraph_end]
        partial = bool(before.strip()) and not before.rstrip().endswith((":", ".", "?", "!")) \
            and not text[:1].isupper()
        speaker = attributor.speaker(before, after, partial)
        continues = not before.strip() and speaker is None and previous_speaker is not None \
            and body.rfind("\n\n", 0, start) <= previous_paragraph_end + 2
        if continues:
            speaker = previous_speaker
        speaker = resolve(speaker, list(names))
        lead = len(text) - len(text.lstrip())
        trimmed = text.strip()
        quotes.append(Quote(len(quotes), trimmed, speaker, start + lead, start + lead + len(trimmed), partial))
        previous_speaker, previous_paragraph_end = speaker, paragraph_end
    return quotes
