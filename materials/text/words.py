"""Words and their stems, the one stemmer of the app: no Django, no I/O."""

from __future__ import annotations

import re
import unicodedata

# A stem is a word's first letters: crude, but the same for English and
# Russian, and enough to match inflected forms.
STEM_LETTERS = 6
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Case-, accent-of-ё- and spacing-insensitive form used for comparisons."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return " ".join(_WORD.findall(text))


def words(text: str) -> list[str]:
    return normalize(text).split()


def stem(word: str, letters: int = STEM_LETTERS) -> str:
    """A crude stem (a prefix): enough to match inflected Russian and English forms."""
    return word[:letters]


def content_stems(text: str) -> set[str]:
    return {stem(w) for w in words(text) if len(w) > 2 or w.isdigit()}


def whole_word(term: str) -> re.Pattern[str]:
    """The term where it stands as a word of its own, in any case ("factor", not "factors")."""
    return re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)


def clip(text: str, limit: int) -> str:
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"
