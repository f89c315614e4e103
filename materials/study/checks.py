"""Quality gates for generated items: grounded in their passage, and not repeated."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from materials.text.references import opens_on_reference
from materials.text.words import content_stems, normalize

T = TypeVar("T")

# Share of the answer's content words that must occur in the passage when the
# answer is not found there verbatim (paraphrases from a hosted model).
SUPPORT_SHARE = 0.75
DUPLICATE_SIMILARITY = 0.8
SAME_ANSWER_SIMILARITY = 0.5


def is_grounded(answer: str, passage: str) -> bool:
    """Whether the answer appears in (or is carried by the words of) its passage."""
    answer_norm = normalize(answer)
    if not answer_norm:
        return False
    passage_norm = normalize(passage)
    if f" {answer_norm} " in f" {passage_norm} ":
        return True
    wanted = content_stems(answer)
    if not wanted:
        return False
    found = content_stems(passage)
    return len(wanted & found) / len(wanted) >= SUPPORT_SHARE


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' content stems."""
    left, right = content_stems(a), content_stems(b)
    if not left or not right:
        return 1.0 if normalize(a) == normalize(b) else 0.0
    return len(left & right) / len(left | right)


def drop_near_duplicates(
    items: Iterable[T],
    key: Callable[[T], str],
    *,
    answer: Callable[[T], str] | None = None,
    threshold: float = DUPLICATE_SIMILARITY,
    same_answer_threshold: float = SAME_ANSWER_SIMILARITY,
) -> tuple[list[T], int]:
    """Items not nearly the same as an earlier kept one; and how many went.

    Two items are the same when their keys share most content words, or when
    they have the same answer and their keys share a good part of them
    ("What pigment absorbs light?" / "Which pigment absorbs light?").
    """
    kept: list[tuple[str, set[str], str]] = []
    out: list[T] = []
    dropped = 0
    for item in items:
        text = key(item)
        norm = normalize(text)
        stems = content_stems(text)
        answer_norm = normalize(answer(item)) if answer else ""
        duplicate = False
        for other_norm, other_stems, other_answer in kept:
            overlap = (
                len(stems & other_stems) / len(stems | other_stems)
                if stems and other_stems
                else 0.0
            )
            limit = (
                same_answer_threshold if answer_norm and answer_norm == other_answer else threshold
            )
            if norm == other_norm or overlap >= limit:
                duplicate = True
                break
        if duplicate:
            dropped += 1
            continue
        out.append(item)
        kept.append((norm, stems, answer_norm))
    return out, dropped


def first_of_each(items: list[T], key: Callable[[T], str]) -> tuple[list[T], int]:
    """The first item of each key, and how many later ones were dropped."""
    seen: set[str] = set()
    kept = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            kept.append(item)
    return kept, len(items) - len(kept)


_CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")


def _without_stem(question: str) -> str:
    """A question without the offline generator's fixed wording ("Fill in the blank: ")."""
    from materials.study.offline import STEMS

    for stems in STEMS.values():
        prefix = stems["cloze"].split("{sentence}")[0]
        if prefix and question.startswith(prefix):
            return question[len(prefix) :]
    return question


def is_self_contained(text: str) -> bool:
    """Whether a card's front or a question reads alone, not opening on "this" or "это".

    The language is read off the text itself, so a hosted model's items in
    either language are checked the same way.
    """
    text = _without_stem(text)
    language = "ru" if any(ch in _CYRILLIC for ch in text.casefold()) else "en"
    return not opens_on_reference(text, language)
