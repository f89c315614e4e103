"""Every pattern that reads uploaded or fetched text runs in linear time.

Python's `re` backtracks: a pattern whose quantifiers overlap (`\\s*/?\\s*`,
`[^}]*` tried again from every `{`, a lazy term before `\\s+`) can take
minutes on a crafted text of 100,000 characters, and a worker or a web
process is stuck with it. The text comes from an upload (PDF text, OCR,
slides, subtitles), from YouTube, from a hosted model's answer or from the
student (a question, a search). Each pattern is run here the way its module
runs it, on inputs built to make it backtrack, and must finish within a
bound of CPU time that a linear scan meets with room to spare.
"""

from __future__ import annotations

import re
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from types import FrameType

import pytest

from materials import selectors
from materials.pipeline import chunking, ocr, pdf, pdf_child, textcheck, youtube
from materials.search import ranking
from materials.study import hosted
from materials.study.offline import cards, notes, reading
from materials.text import language, references, sentences, splitter, words
from tutor import answers, prompts
from tutor.templatetags import tutor as tutor_tags

SIZE = 100_000
LIMIT = 0.2  # seconds of CPU for SIZE characters
GIVE_UP = 3.0  # a run this long is stopped: the old patterns took minutes

# (name, pattern, how its module calls it)
PATTERNS: list[tuple[str, re.Pattern[str], str]] = [
    ("words._WORD", words._WORD, "findall"),
    ("words._SPACES", words._SPACES, "sub"),
    ("words.whole_word", words.whole_word("factor"), "search sub"),
    ("splitter.SENTENCE_END", splitter.SENTENCE_END, "finditer split"),
    ("splitter._PARAGRAPH", splitter._PARAGRAPH, "split"),
    ("splitter._SPACES", splitter._SPACES, "sub"),
    ("splitter._TERMINAL", splitter._TERMINAL, "search"),
    ("language._CYRILLIC", language._CYRILLIC, "findall"),
    ("language._LATIN", language._LATIN, "findall"),
    ("language._LATIN_WORD", language._LATIN_WORD, "findall"),
    ("references._DUMMY_IT", references._DUMMY_IT, "match"),
    ("references._DUMMY_IT_AFTER", references._DUMMY_IT_AFTER, "match"),
    ("references._LEADING_CONNECTIVE", references._LEADING_CONNECTIVE, "sub"),
    ("references._CROSS_REFERENCE", references._CROSS_REFERENCE, "search"),
    ("references._QUESTION_OPENING", references._QUESTION_OPENING, "sub"),
    ("sentences._SENTENCE_BREAK", sentences._SENTENCE_BREAK, "finditer split"),
    ("sentences._WORD", sentences._WORD, "finditer"),
    ("sentences._CLAUSE_END", sentences._CLAUSE_END, "finditer"),
    ("sentences._LONG_WORD", sentences._LONG_WORD, "findall"),
    ("ocr._CJK_GAP", ocr._CJK_GAP, "sub"),
    ("pdf_child._LINE_BREAK", pdf_child._LINE_BREAK, "finditer"),
    ("textcheck._GENUINE_ACCENT", textcheck._GENUINE_ACCENT, "findall"),
    ("textcheck._LEGACY_LETTER", textcheck._LEGACY_LETTER, "findall"),
    ("textcheck._EVIDENCE", textcheck._EVIDENCE, "finditer"),
    ("textcheck._TOKEN", textcheck._TOKEN, "finditer"),
    ("textcheck._BLOCK", textcheck._BLOCK, "finditer"),
    ("textcheck._LETTER", textcheck._LETTER, "findall"),
    ("textcheck._CYRILLIC_LETTER", textcheck._CYRILLIC_LETTER, "findall"),
    ("textcheck._FOREIGN", textcheck._FOREIGN, "sub"),
    ("textcheck._DAMAGE", textcheck._DAMAGE, "search"),
    ("textcheck._LOST_CHAR", textcheck._LOST_CHAR, "search"),
    ("textcheck._WORD", textcheck._WORD, "findall"),
    ("textcheck._VOWEL", textcheck._VOWEL, "sub"),
    ("textcheck._CONSONANT_RUN", textcheck._CONSONANT_RUN, "findall"),
    ("chunking._PARAGRAPH_BREAK", chunking._PARAGRAPH_BREAK, "finditer split"),
    ("chunking._TOKEN", chunking._TOKEN, "finditer"),
    ("youtube._VIDEO_ID", youtube._VIDEO_ID, "fullmatch"),
    ("youtube._ASS_TAGS", youtube._ASS_TAGS, "sub"),
    ("youtube._HTML_TAGS", youtube._HTML_TAGS, "sub"),
    ("youtube._CUE_ONLY", youtube._CUE_ONLY, "fullmatch"),
    ("youtube._HTML_TITLE", youtube._HTML_TITLE, "search"),
    ("youtube._HTML_LENGTH", youtube._HTML_LENGTH, "search"),
    ("youtube._SRT_TIMING", youtube._SRT_TIMING, "search"),
    ("pdf._BREAK_HYPHEN", pdf._BREAK_HYPHEN, "sub"),
    ("pdf._INVISIBLE", pdf._INVISIBLE, "sub"),
    ("pdf._SPACES", pdf._SPACES, "sub"),
    ("pdf._DIGITS", pdf._DIGITS, "sub"),
    ("pdf._EDGE_NUMBER", pdf._EDGE_NUMBER, "search"),
    ("pdf._PAGE_NUMBER", pdf._PAGE_NUMBER, "match"),
    ("pdf._HYPHENATED", pdf._HYPHENATED, "findall"),
    ("pdf._WORD", pdf._WORD, "findall"),
    ("pdf._LINE_END_HYPHEN", pdf._LINE_END_HYPHEN, "search"),
    ("ranking._QUESTION_WORDS", ranking._QUESTION_WORDS, "sub"),
    ("selectors._WORD", selectors._WORD, "finditer"),
    ("hosted._DELIMITER", hosted._DELIMITER, "sub"),
    ("cards._BLANK_IN_TOKEN", cards._BLANK_IN_TOKEN, "search"),
    ("cards._CODE_LIKE", cards._CODE_LIKE, "search"),
    *(
        (f"cards._DEFINITION_PATTERNS[{lang}][{n}]", pattern, "match")
        for lang, patterns in cards._DEFINITION_PATTERNS.items()
        for n, pattern in enumerate(patterns)
    ),
    ("cards._after_a_letter", cards._after_a_letter("factor"), "findall"),
    ("notes._NUMBERED_HEADING", notes._NUMBERED_HEADING, "match"),
    ("reading._TERMINAL", reading._TERMINAL, "search"),
    ("reading._RUSSIAN_ADJECTIVE", reading._RUSSIAN_ADJECTIVE, "search"),
    ("reading._RUSSIAN_VERB", reading._RUSSIAN_VERB, "search"),
    ("reading._HEADING_START", reading._HEADING_START, "match"),
    ("reading._CAPS_RUN", reading._CAPS_RUN, "search"),
    ("reading._GLUED", reading._GLUED, "search"),
    ("reading.CYRILLIC", reading.CYRILLIC, "findall"),
    ("reading._LATIN", reading._LATIN, "findall"),
    ("tutor_tags._MARK", tutor_tags._MARK, "sub"),
    ("prompts._WORDS", prompts._WORDS, "findall"),
    ("prompts._DELIMITER", prompts._DELIMITER, "sub"),
    ("answers._CITATION_MARK", answers._CITATION_MARK, "sub"),
    ("answers._NUMBER", answers._NUMBER, "findall"),
    ("answers._SPACE_BEFORE_PUNCTUATION", answers._SPACE_BEFORE_PUNCTUATION, "sub"),
    ("answers._SPACE_RUN", answers._SPACE_RUN, "sub"),
]

# (once at the start, repeated to SIZE): runs of one kind of character, and the
# openings of what the patterns look for left unfinished, again and again.
PUMPS = [
    *(("", char) for char in "aAя1 \n\t.-<[{♪\x80中"),
    *(("", pair) for pair in ("a-", "a ", "A ", ". ", ".\n", "\n ", " \n", "a\n", "я_", "a.")),
    *(("", piece) for piece in ("{\\", "<title>", "<title", "<passage ", "< / passage")),
    *(("", piece) for piece in ("(cid:1", "[1,", "[#1; ", "1.1.\n", "0:00:01,0", "AAA ")),
    *(("", piece) for piece in ("section ", "see ", "is a ", "\x80 ", "中 ", "\xad ")),
    # One opening, then a long run that it cannot use.
    *(("<", run) for run in (" ", "\n")),
    *(("a", run) for run in (" ", "\n", "\t")),
    *((opening, run) for opening in ("it is ", "what is ", "A is a ", "X — ") for run in " \n"),
    *((opening, "a") for opening in ("<passage ", "{\\", "<title>", "(cid:")),
]


def _texts() -> Iterator[tuple[str, str]]:
    for prefix, pump in PUMPS:
        body = pump * ((SIZE - len(prefix)) // len(pump))
        for ending in ("", "\x00"):
            yield f"{prefix!r} + {pump!r}… + {ending!r}", prefix + body + ending


class _TooSlow(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _TooSlow


def _cpu_seconds(call: Callable[[], object]) -> float:
    """CPU seconds of one call (CPU, not wall: the machine may be shared), at most GIVE_UP."""
    previous = signal.signal(signal.SIGVTALRM, _stop)
    signal.setitimer(signal.ITIMER_VIRTUAL, GIVE_UP)
    start = time.process_time()
    try:
        call()
    except _TooSlow:
        return float("inf")
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)
    return time.process_time() - start


def _best_of_three(call: Callable[[], object]) -> float:
    seconds = _cpu_seconds(call)
    if LIMIT < seconds < GIVE_UP:
        # A slow first run may be the machine: the best of three counts.
        seconds = min(seconds, _cpu_seconds(call), _cpu_seconds(call))
    return seconds


def _calling(pattern: re.Pattern[str], method: str, text: str) -> Callable[[], object]:
    if method == "sub":
        return lambda: pattern.sub("", text)
    if method == "finditer":
        return lambda: deque(pattern.finditer(text), maxlen=0)
    return lambda: getattr(pattern, method)(text)


@pytest.mark.parametrize(("name", "pattern", "methods"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_pattern_reads_100k_characters_in_linear_time(
    name: str, pattern: re.Pattern[str], methods: str
) -> None:
    slow = []
    for method in methods.split():
        for label, text in _texts():
            seconds = _best_of_three(_calling(pattern, method, text))
            if seconds > LIMIT:
                slow.append(f"{method} on {label}: {seconds:.2f} s")
    assert not slow, f"{name} is slow:\n" + "\n".join(slow)


def test_a_page_of_one_long_paragraph_is_cleaned_in_linear_time() -> None:
    """Joining a paragraph's lines looks for a broken word at its end, not through all of it."""
    lines = ["lorem ipsum dolor sit amet consectetur adipi-", "scing elit sed do eiusmod"] * 1400
    page = pdf.PageText(number=1, text="\n".join(lines))
    assert len(page.text) > SIZE
    cleaned: list[pdf.PageText] = []
    seconds = _best_of_three(lambda: cleaned.extend(pdf.clean_pages([page])))
    assert seconds < 2 * LIMIT
    assert cleaned[0].text.startswith("lorem ipsum dolor sit amet consectetur adipiscing elit sed")
