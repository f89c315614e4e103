"""The one sentence splitter: where a sentence ends, for every part that cuts text.

One boundary (SENTENCE_END) serves three cuts: passages end at pysbd's
sentence ends where it knows the language (sentence_ends, with the boundary
as its fallback); search cuts a passage into sentences with the boundary,
paragraph breaks and a capital after a colon (materials.text.sentences);
the study generators split a passage's text into sentences
(split_sentences). Pure functions: no Django, no I/O.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# A sentence ends at terminal punctuation (and closing quotes or brackets)
# followed by space and what can start a sentence: an opening quote, a
# capital or a digit. Abbreviations slip through rarely and cost little.
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”’)\]]*\s+(?=[\"'«“‘(\[]?[A-ZА-ЯЁ0-9])")
_PARAGRAPH = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"\s+")
_TERMINAL = re.compile(r"[.!?…。]")
_PYSBD_LANGUAGES = {"en", "ru"}
# pysbd reads roughly 100k characters a second: longer texts take the boundary.
_PYSBD_MAX_CHARS = 20_000


@lru_cache(maxsize=4)
def _segmenter(language: str) -> Any:
    import pysbd

    return pysbd.Segmenter(language=language, clean=False)


def sentence_ends(text: str, language: str) -> list[int]:
    """Offsets in `text` where a sentence ends, the end of text excluded."""
    if not _TERMINAL.search(text):
        return []
    if language in _PYSBD_LANGUAGES and len(text) <= _PYSBD_MAX_CHARS:
        ends = []
        cursor = 0
        for sentence in _segmenter(language).segment(text):
            piece = sentence.strip()
            if not piece:
                continue
            found = text.find(piece, cursor)
            if found < 0:
                continue
            cursor = found + len(piece)
            ends.append(cursor)
        # pysbd's Russian rules split after "т. е." and "т.е."; a real
        # sentence never goes on in lower case, so such breaks are dropped.
        return [
            end for end in ends if (following := text[end:].lstrip()) and not following[0].islower()
        ]
    return [match.start() for match in SENTENCE_END.finditer(text)]


def split_sentences(text: str) -> list[str]:
    """The sentences of a passage, single-spaced."""
    out: list[str] = []
    for paragraph in _PARAGRAPH.split(text):
        flat = _SPACES.sub(" ", paragraph).strip()
        if flat:
            out.extend(part.strip() for part in SENTENCE_END.split(flat) if part.strip())
    return out
