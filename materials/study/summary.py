"""A summary that reads as one: each top-level section's most central sentences, in order.

A string of the document's best sentences, taken from anywhere, does not
follow from one sentence to the next. Here the document is first cut where
its author cut it (the outline's top level, or numbered headings), or, with
neither, where its topic changes (TextTiling over the passages' vectors);
each section then gives its most central sentences, in document order, under
its name. The summary's length follows the document's, and is shared out
between the sections by their size. Every sentence keeps its passage, so it
links to its page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from materials.study.types import MaterialText, NotePoint, Section, Source
from materials.text.references import opens_on_reference, without_connective
from materials.text.words import clip

# Sentences per passage of the document, and the bounds.
SENTENCES_PER_PASSAGE = 0.2
MIN_SENTENCES, MAX_SENTENCES = 4, 30
MAX_SENTENCE_WORDS = 40
# Topic segmentation: passages on each side of a gap, and the shortest section.
TILING_WINDOW = 2
MIN_SEGMENT = 3
MAX_SEGMENTS = 10


class ScoredSentence(Protocol):
    chunk: int
    order: int
    text: str
    stems: set[str]
    score: float


def pick(
    candidates: Sequence[ScoredSentence], count: int, *, redundancy: float = 0.5
) -> list[ScoredSentence]:
    """The best sentences, skipping any that repeats one already picked (MMR-like), in order."""
    picked: list[ScoredSentence] = []
    for sentence in sorted(candidates, key=lambda s: -s.score):
        if len(picked) >= count:
            break
        if any(
            len(sentence.stems & p.stems) / max(1, len(sentence.stems | p.stems)) > redundancy
            for p in picked
        ):
            continue
        picked.append(sentence)
    return sorted(picked, key=lambda s: (s.chunk, s.order))


def top_level_spans(material: MaterialText) -> list[tuple[str, int, int]]:
    """(heading, first passage, stop) for the outline's top level (its second, under one root)."""
    outline = material.outline
    if len(outline) < 2:
        return []
    levels = sorted({level for level, _, _ in outline})
    top = [e for e in outline if e[0] == levels[0]]
    if len(top) < 2 and len(levels) > 1:
        # One root ("User's guide") over the real chapters.
        top = [e for e in outline if e[0] == levels[1]]
    spans = material.spans_of(top)
    return spans if len(spans) >= 2 else []


def topic_spans(embeddings: np.ndarray | None, count: int) -> list[tuple[int, int]]:
    """(first, stop) passages of each topic: TextTiling's depth scores on the vectors.

    At each gap between passages, the similarity of the windows on either
    side; a topic ends at the gaps that dip deepest below their neighbours.
    """
    if embeddings is None or count < 2 * MIN_SEGMENT or len(embeddings) != count:
        return [(0, count)]
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = embeddings / np.where(norms == 0, 1, norms)
    gaps = []
    for gap in range(1, count):
        left = unit[max(0, gap - TILING_WINDOW) : gap].mean(axis=0)
        right = unit[gap : gap + TILING_WINDOW].mean(axis=0)
        denominator = float(np.linalg.norm(left) * np.linalg.norm(right)) or 1.0
        gaps.append(float(left @ right) / denominator)
    depths = []
    for index, value in enumerate(gaps):
        left_peak = max(gaps[: index + 1])
        right_peak = max(gaps[index:])
        depths.append((left_peak - value) + (right_peak - value))
    wanted = max(2, min(MAX_SEGMENTS, round(math.sqrt(count) / 1.5)))
    # Hearst's cutoff, a little stricter: only dips well below the usual.
    cutoff = float(np.mean(depths) + np.std(depths) / 2)
    cuts: list[int] = []
    for index in sorted(range(len(depths)), key=lambda i: -depths[i]):
        cut = index + 1
        if depths[index] <= cutoff or len(cuts) >= wanted - 1:
            break
        if cut < MIN_SEGMENT or count - cut < MIN_SEGMENT:
            continue
        if any(abs(cut - other) < MIN_SEGMENT for other in cuts):
            continue
        cuts.append(cut)
    bounds = [0, *sorted(cuts), count]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def _budget(sizes: list[int], total: int) -> list[int]:
    """Sentences per section, in proportion to its passages (largest remainder)."""
    whole = sum(sizes) or 1
    shares = [total * size / whole for size in sizes]
    counts = [math.floor(share) for share in shares]
    for index in sorted(range(len(sizes)), key=lambda i: -(shares[i] - counts[i])):
        if sum(counts) >= total:
            break
        counts[index] += 1
    return counts


def readable(sentence: str, language: str) -> str | None:
    """The sentence as a summary may say it: standing alone, not too long."""
    text = without_connective(sentence)
    if opens_on_reference(text, language, strict=False) or len(text.split()) > MAX_SENTENCE_WORDS:
        return None
    return text


def summary_sections(
    material: MaterialText,
    sentences: Sequence[ScoredSentence],
    *,
    language: str,
    name_segment: Callable[[int, int], str],
) -> list[Section]:
    """The summary, section by section, each sentence a point anchored to its passage.

    `name_segment(first, stop)` names a topic found without an outline.
    """
    sources: list[Source] = material.sources
    count = len(sources)
    if not count:
        return []
    spans = top_level_spans(material)
    if not spans:
        spans = [
            (name_segment(first, stop), first, stop)
            for first, stop in topic_spans(material.embeddings, count)
        ]
    total = max(MIN_SENTENCES, min(MAX_SENTENCES, round(count * SENTENCES_PER_PASSAGE)))
    by_chunk: dict[int, list[ScoredSentence]] = {}
    for sentence in sentences:
        by_chunk.setdefault(sentence.chunk, []).append(sentence)
    sections = []
    budgets = _budget([stop - first for _, first, stop in spans], total)
    for (heading, first, stop), budget in zip(spans, budgets, strict=True):
        if budget <= 0:
            continue
        candidates = readable_candidates(by_chunk, sources, first, stop, language)
        picked = pick(candidates, budget, redundancy=0.35)
        if picked:
            sections.append(section_of(heading, picked, sources, first, language))
    return sections


def readable_candidates(
    by_chunk: dict[int, list], sources: list[Source], first: int, stop: int, language: str
) -> list:
    """The sentences of passages first..stop that read alone (see `readable`)."""
    every = [s for i in range(first, stop) for s in by_chunk.get(i, [])]
    candidates = [s for s in every if readable(s.text, language) is not None]
    if not candidates and sources[first].start_seconds is not None:
        # Auto-captions have no sentences, only windows of words: take them as they are.
        return every
    return candidates


def section_of(
    heading: str, picked: Sequence, sources: list[Source], first: int, language: str
) -> Section:
    """A section of picked sentences, each a point anchored to its own passage."""
    return Section(
        heading=clip(heading, 300),
        points=[
            NotePoint(text=readable(s.text, language) or s.text, source=sources[s.chunk])
            for s in picked
        ],
        source=sources[first],
    )


def summary_text(sections: list[Section]) -> str:
    """The summary as plain text: each section's name on a line, then its sentences."""
    blocks = []
    for section in sections:
        body = " ".join(point.text for point in section.points)
        heading = section.heading.strip()
        blocks.append(f"{heading}\n{body}" if heading else body)
    return "\n\n".join(blocks)
