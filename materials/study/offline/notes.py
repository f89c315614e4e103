"""Notes made offline: sections, each with the key points of its passages.

Sections come from the PDF outline, or from numbered headings found in the
text, or (failing both) runs of consecutive passages named by their key term.
"""

from __future__ import annotations

import math
import re

from materials.study.offline.reading import Candidate
from materials.study.summary import pick, readable_candidates, section_of
from materials.study.types import MaterialText, Section, Source
from materials.text.splitter import split_sentences
from materials.text.words import clip, normalize

_NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,2}\.?|[IVX]{1,4}\.)\s+\S.{2,80}$")


def note_sections(
    material: MaterialText,
    all_sentences: list[Candidate],
    terms: list[str],
    chunk_norms: list[str],
    language: str,
) -> list[Section]:
    sources = material.sources
    spans = _outline_spans(material) or _heading_spans(sources)
    if not spans:
        spans = _even_spans(sources, terms, chunk_norms)
    by_chunk: dict[int, list[Candidate]] = {}
    for sentence in all_sentences:
        by_chunk.setdefault(sentence.chunk, []).append(sentence)
    sections = []
    for heading, first, stop in spans:
        # A key point is read alone too: not "They are the usual way …".
        candidates = readable_candidates(by_chunk, sources, first, stop, language)
        points_wanted = max(2, min(5, (stop - first + 1) // 2 + 1))
        picked = pick(candidates, points_wanted)
        if picked:
            sections.append(section_of(heading, picked, sources, first, language))
    return sections


def _outline_spans(material: MaterialText) -> list[tuple[str, int, int]]:
    """(heading, first chunk, stop chunk) from the PDF outline's top levels."""
    outline = material.outline
    if len(outline) < 2:
        return []
    levels = sorted({level for level, _, _ in outline})
    chosen = [e for e in outline if e[0] <= levels[min(1, len(levels) - 1)]]
    if len(chosen) > 40:
        chosen = [e for e in outline if e[0] == levels[0]]
    return material.spans_of(chosen)


def _heading_spans(sources: list[Source]) -> list[tuple[str, int, int]]:
    """Numbered headings ("2.1 Linear maps") standing alone as a paragraph."""
    starts: list[tuple[str, int]] = []
    for index, source in enumerate(sources):
        for paragraph in source.text.split("\n\n"):
            line = " ".join(paragraph.split())
            if (
                len(line.split()) <= 10
                and _NUMBERED_HEADING.match(line)
                and not line.endswith((".", ",", ";", ":"))
                and sum(ch.isalpha() for ch in line) >= 4
            ):
                if not starts or starts[-1][1] != index:
                    starts.append((line, index))
                break
    if len(starts) < 2:
        return []
    if starts[0][1] > 0:
        starts.insert(0, (starts[0][0], 0))
        starts.pop(1)
    bounds = [first for _, first in starts] + [len(sources)]
    return [(title, bounds[i], bounds[i + 1]) for i, (title, _) in enumerate(starts)]


def _even_spans(
    sources: list[Source], terms: list[str], chunk_norms: list[str]
) -> list[tuple[str, int, int]]:
    """Runs of consecutive passages, each named by its most frequent key term."""
    count = len(sources)
    parts = max(1, min(12, math.ceil(count / 6)))
    size = math.ceil(count / parts)
    spans = []
    used: set[str] = set()
    for first in range(0, count, size):
        stop = min(count, first + size)
        text = " ".join(chunk_norms[first:stop])
        ranked = sorted(
            (t for t in terms if normalize(t) not in used),
            key=lambda t: -text.count(normalize(t)),
        )
        heading = ranked[0] if ranked and normalize(ranked[0]) in text else ""
        if not heading:
            opening = sources[first].text
            heading = clip(split_sentences(opening)[0], 80) if opening else "…"
        used.add(normalize(heading))
        spans.append((heading[:1].upper() + heading[1:], first, stop))
    return spans
