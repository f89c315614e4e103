"""The language of a text or a question: which stemming and which model apply.

Pure functions on the alphabet and common words, shared by the pipeline
(a material's language, chosen once) and search (each question's).
"""

from __future__ import annotations

import re

FTS_CONFIG = {"ru": "russian", "en": "english"}
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_LATIN_WORD = re.compile(r"[a-z]+")
_ENGLISH_WORDS = frozenset(
    "the of and to in is that for it as with was on be are by this from or an"
    " which not have at can but if has were their will".split()
)


def fts_config(language: str) -> str:
    """The PostgreSQL text search configuration for a detected language."""
    return FTS_CONFIG.get(language, "simple")


def search_language(language: str) -> str:
    """ "ru", "en" or "simple": the key under which search keeps a language's query lexemes."""
    return language if language in FTS_CONFIG else "simple"


def detect_language(text: str) -> str:
    """ "ru", "en" or "simple" from the share of Cyrillic and Latin letters.

    Latin text counts as English only when common English words are frequent,
    so German or French falls back to "simple" instead of English stemming.
    """
    if len(text) > 30_000:
        middle = len(text) // 2
        sample = text[:10_000] + " " + text[middle : middle + 10_000] + " " + text[-10_000:]
    else:
        sample = text
    cyrillic = len(_CYRILLIC.findall(sample))
    latin = len(_LATIN.findall(sample))
    letters = cyrillic + latin
    if letters < 20:
        return "simple"
    if cyrillic / letters >= 0.6:
        return "ru"
    if latin / letters >= 0.6:
        words = _LATIN_WORD.findall(sample.lower())
        if words and sum(word in _ENGLISH_WORDS for word in words) / len(words) >= 0.05:
            return "en"
    return "simple"


def question_language(text: str) -> str:
    """ "ru", "en" or "" for a short question or query, by its alphabet.

    `detect_language` needs common words that a question of five words
    seldom has; the product's two languages differ by alphabet anyway.
    """
    cyrillic, latin = len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))
    if cyrillic + latin < 3:
        return ""
    if cyrillic >= latin:
        return "ru"
    return "en"
