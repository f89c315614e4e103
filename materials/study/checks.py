"""Quality gates for generated items: grounded in their passage, and not repeated."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from materials.study.text import content_stems, normalize

T = TypeVar("T")

# Share of the answer's content words that must occur in the passage when the
# answer is not found there verbatim (paraphrases from a hosted model).
SUPPORT_SHARE = 0.75
DUPLICATE_SIMILARITY = 0.8


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
    items: Iterable[T], key: Callable[[T], str], *, threshold: float = DUPLICATE_SIMILARITY
) -> tuple[list[T], int]:
    """Items whose key is not nearly the same as an earlier kept one; and how many went."""
    kept: list[T] = []
    kept_stems: list[set[str]] = []
    kept_norms: set[str] = set()
    dropped = 0
    for item in items:
        text = key(item)
        norm = normalize(text)
        stems = content_stems(text)
        duplicate = norm in kept_norms or any(
            stems and other and len(stems & other) / len(stems | other) >= threshold
            for other in kept_stems
        )
        if duplicate:
            dropped += 1
            continue
        kept.append(item)
        kept_stems.append(stems)
        kept_norms.add(norm)
    return kept, dropped
