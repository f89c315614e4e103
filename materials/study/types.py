"""What a generator hands back: plain data, anchored to the passages it came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Source:
    """A passage of the material (one chunk) and where it sits in the source."""

    position: int
    text: str
    page: int | None = None
    page_end: int | None = None
    start_seconds: float | None = None
    # [[word index, page or second], ...] where each page or caption begins (Chunk.anchors)
    anchors: tuple = ()


@dataclass
class NotePoint:
    text: str
    source: Source
    # The source's own sentence it rests on, when the text is a rewording of it:
    # where the link opens and what it highlights.
    quote: str = ""


@dataclass
class Section:
    heading: str
    points: list[NotePoint]
    source: Source | None = None


@dataclass
class Card:
    front: str
    back: str
    kind: str  # "cloze", "term" or "qa"
    source: Source
    # What must be found in the passage for the card to be kept.
    answer: str = ""


@dataclass
class Question:
    question: str
    choices: list[str]
    answer_index: int
    explanation: str
    source: Source

    @property
    def answer(self) -> str:
        return self.choices[self.answer_index]


@dataclass
class StudyContent:
    summary: str
    sections: list[Section]
    cards: list[Card]
    questions: list[Question]
    generator: str
    tokens_used: int = 0
    stats: dict[str, float] = field(default_factory=dict)
    # The summary section by section, each sentence anchored to its passage.
    summary_sections: list[Section] = field(default_factory=list)


@dataclass(frozen=True)
class MaterialText:
    """Everything a generator reads: the material's passages with their vectors."""

    material_id: int
    title: str
    language: str
    kind: str
    sources: list[Source]
    embeddings: np.ndarray | None = None  # (n, d): each passage's vector
    outline: list[tuple[int, str, int]] = field(default_factory=list)  # (level, title, page)

    def spans_of(self, headings: list[tuple[int, str, int]]) -> list[tuple[str, int, int]]:
        """(heading, first passage, stop) for these outline entries, in order.

        Several headings that open in the same passage keep the last (the
        deepest, most specific); the first span starts at the first passage.
        """
        starts: list[tuple[str, int]] = []
        for _, title, page in headings:
            first = next(
                (i for i, s in enumerate(self.sources) if (s.page_end or s.page or 0) >= page),
                None,
            )
            if first is None:
                continue
            if starts and starts[-1][1] == first:
                starts[-1] = (title, first)
            else:
                starts.append((title, first))
        if not starts:
            return []
        starts[0] = (starts[0][0], 0)
        bounds = [first for _, first in starts] + [len(self.sources)]
        return [(title, bounds[i], bounds[i + 1]) for i, (title, _) in enumerate(starts)]


class Generator(Protocol):
    name: str

    # `beat` is called between steps: the run's sign of life, which raises
    # (Superseded) when a newer run has taken the material over.
    def generate(
        self, material: MaterialText, beat: Callable[[], None] | None = None
    ) -> StudyContent: ...
