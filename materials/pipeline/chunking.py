"""Splitting source text into passages of about 150-300 words.

Pure functions: no Django, no I/O. A passage is the unit that is embedded,
searched and cited, so it must end on a sentence (or paragraph) boundary and
remember where it came from: a page range for PDFs, seconds for videos.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from materials.text.splitter import sentence_ends

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_TOKEN = re.compile(r"\S+")
# The sentence splitter (pysbd) is slow, so it only ever sees a window just
# before a cut, never a whole book.
_WINDOW_WORDS = 80


@dataclass(frozen=True)
class Segment:
    """A unit of source text: a PDF page, or a transcript snippet with its seconds."""

    text: str
    page: int | None = None
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class PassageDraft:
    """A passage as cut, anchored to its pages or seconds: a Chunk once stored."""

    position: int
    text: str
    page_start: int | None
    page_end: int | None
    start_seconds: float | None
    end_seconds: float | None
    # (word index in `text`, page or start second) where each source segment
    # begins inside the passage: a quoted sentence is cited at its own page/second.
    anchors: tuple[tuple[int, float], ...] = ()


class _Document:
    """All segments as one text, with word offsets and paragraph starts."""

    def __init__(self, segments: list[Segment]) -> None:
        parts: list[str] = []
        self.segment_starts: list[int] = []
        self.segments: list[Segment] = []
        offset = 0
        for segment in segments:
            if not segment.text.strip():
                continue
            # A segment boundary is a soft break: a sentence or paragraph may
            # run across pages or across caption snippets.
            self.segments.append(segment)
            self.segment_starts.append(offset)
            parts.append(segment.text)
            offset += len(segment.text) + 1
        self.text = " ".join(parts)
        self.text_flat = self.text.replace("\n", " ")
        tokens = [match.span() for match in _TOKEN.finditer(self.text)]
        self.starts = [start for start, _ in tokens]
        self.ends = [end for _, end in tokens]
        breaks = [match.end() for match in _PARAGRAPH_BREAK.finditer(self.text)]
        # Word indexes where a paragraph begins (0 always does).
        self.paragraph_starts = sorted({0, *(bisect.bisect_left(self.starts, b) for b in breaks)})
        first_words = {bisect.bisect_left(self.starts, start) for start in self.segment_starts}
        self.segment_first_words = sorted(first_words)

    def __len__(self) -> int:
        return len(self.starts)

    def segment_of(self, offset: int) -> int:
        return bisect.bisect_right(self.segment_starts, offset) - 1

    def sentence_cut(self, low: int, high: int, language: str) -> int | None:
        """The last word index in (low, high] where a sentence starts, if any."""
        window_start = max(low, high - _WINDOW_WORDS)
        while True:
            # A few words past `high` let the segmenter judge the boundary at `high`.
            last = min(high + 5, len(self)) - 1
            begin = self.starts[window_start]
            window = self.text_flat[begin : self.ends[last]]
            cuts = [
                bisect.bisect_left(self.starts, begin + end)
                for end in sentence_ends(window, language)
            ]
            cuts = [cut for cut in cuts if low < cut <= high]
            if cuts:
                return cuts[-1]
            if window_start == low:
                return None
            window_start = low

    def hard_cut(self, low: int, high: int, floor: int) -> int:
        """Cut at `high`, or at the last segment boundary in [floor, high]."""
        index = bisect.bisect_right(self.segment_first_words, high) - 1
        if index >= 0 and max(floor, low + 1) <= self.segment_first_words[index] <= high:
            return self.segment_first_words[index]
        return high

    def passage_text(self, first: int, stop: int) -> str:
        raw = self.text[self.starts[first] : self.ends[stop - 1]]
        paragraphs = (" ".join(part.split()) for part in _PARAGRAPH_BREAK.split(raw))
        return "\n\n".join(part for part in paragraphs if part)


def _spans(document: _Document, language: str, min_words: int, max_words: int) -> list[list[int]]:
    """[first, stop) word ranges, one per passage."""
    spans: list[list[int]] = []
    paragraph_bounds = [*document.paragraph_starts, len(document)]
    passage_start = 0
    for paragraph, paragraph_stop in zip(paragraph_bounds, paragraph_bounds[1:], strict=False):
        position = paragraph
        while position < paragraph_stop:
            room = max_words - (position - passage_start)
            if paragraph_stop - position <= room:
                position = paragraph_stop
                # Paragraph ends are the preferred place to stop once big enough.
                if position - passage_start >= min_words:
                    spans.append([passage_start, position])
                    passage_start = position
                continue
            limit = position + room
            cut = document.sentence_cut(position, limit, language)
            if cut is None and position > passage_start:
                # The next sentence does not fit: stop before this paragraph part.
                spans.append([passage_start, position])
                passage_start = position
                continue
            if cut is None:
                # A sentence longer than max_words: split on words.
                cut = document.hard_cut(position, limit, passage_start + min_words)
            spans.append([passage_start, cut])
            passage_start = position = cut
    if passage_start < len(document):
        spans.append([passage_start, len(document)])
    if len(spans) >= 2:
        last_words = spans[-1][1] - spans[-1][0]
        merged_words = spans[-1][1] - spans[-2][0]
        if last_words < min_words / 3 and merged_words <= max_words * 1.2:
            tail = spans.pop()
            spans[-1][1] = tail[1]
    return spans


def split_passages(
    segments: Iterable[Segment], *, language: str, min_words: int = 150, max_words: int = 300
) -> list[PassageDraft]:
    """Passages of about min_words-max_words words on sentence/paragraph boundaries.

    A passage ends at a paragraph break once it has min_words, otherwise at
    the last sentence end that keeps it within max_words; a sentence longer
    than max_words is cut on words (at a caption boundary when there is one).
    Each passage carries the pages it spans, or the seconds from the start of
    its first segment to the end of its last one.
    """
    if min_words < 1 or max_words < min_words:
        raise ValueError("need 1 <= min_words <= max_words")
    document = _Document(list(segments))
    if not len(document):
        return []
    passages = []
    for position, (first, stop) in enumerate(_spans(document, language, min_words, max_words)):
        first_segment = document.segment_of(document.starts[first])
        last_segment = document.segment_of(document.ends[stop - 1] - 1)
        head = document.segments[first_segment]
        tail = document.segments[last_segment]
        end = tail.end
        if end is None and last_segment + 1 < len(document.segments):
            end = document.segments[last_segment + 1].start
        if end is None:
            end = tail.start
        passages.append(
            PassageDraft(
                position=position,
                text=document.passage_text(first, stop),
                page_start=head.page,
                page_end=tail.page,
                start_seconds=head.start,
                end_seconds=end,
                anchors=_anchors(document, first, stop, first_segment, last_segment),
            )
        )
    return passages


def _anchors(
    document: _Document, first: int, stop: int, first_segment: int, last_segment: int
) -> tuple[tuple[int, float], ...]:
    """Where each segment of the passage starts, counted in the passage's words.

    passage_text only rejoins the same whitespace-separated words, so word
    indexes stay valid in the stored text.
    """
    anchors = []
    for index in range(first_segment, last_segment + 1):
        segment = document.segments[index]
        value = segment.page if segment.page is not None else segment.start
        if value is None:
            continue
        word = bisect.bisect_left(document.starts, document.segment_starts[index])
        anchors.append((max(word, first) - first, value))
    return tuple(anchors)
