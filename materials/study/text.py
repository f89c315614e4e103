"""Small text helpers shared by the generators and the checks: no Django, no I/O."""

from __future__ import annotations

import re
import unicodedata

# A sentence ends at terminal punctuation followed by space and a capital,
# a digit or an opening quote; abbreviations slip through rarely and only cost
# a weaker candidate sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”’)\]]*\s+(?=[\"'«“‘(\[]?[A-ZА-ЯЁÄÖÜ0-9])")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_SPACES = re.compile(r"\s+")


def sentences(text: str) -> list[str]:
    """The sentences of a passage, single-spaced."""
    out = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = _SPACES.sub(" ", paragraph).strip()
        if flat:
            out.extend(part.strip() for part in _SENTENCE_END.split(flat) if part.strip())
    return out


def normalize(text: str) -> str:
    """Case-, accent-of-ё- and spacing-insensitive form used for comparisons."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return " ".join(_WORD.findall(text))


def words(text: str) -> list[str]:
    return normalize(text).split()


def stem(word: str) -> str:
    """A crude stem (a prefix): enough to match inflected Russian and English forms."""
    return word[:6] if len(word) > 6 else word


def content_stems(text: str) -> set[str]:
    return {stem(w) for w in words(text) if len(w) > 2 or w.isdigit()}


def clip(text: str, limit: int) -> str:
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"
