"""A passage's sentences, each cut into pieces that lie on one page or start at one second.

A passage runs over page breaks (and over caption snippets); its first page
is often not where a sentence is. Here each passage is cut into sentences,
each sentence into pieces at page (or caption) starts, and each piece keeps
its lexemes as PostgreSQL stems them for full-text search: ingest stores
them with the passage (sentence_index), and search scores them
(materials.search.evidence) without cutting or stemming again.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from materials.models import Chunk
from materials.text.language import fts_config
from materials.text.splitter import SENTENCE_END
from materials.text.words import stem

# A sentence ends where the splitter's boundary says, at a paragraph break,
# or before a capital after a colon or semicolon (a list's items). Not pysbd:
# this runs on every hit of a search and must take milliseconds.
_SENTENCE_BREAK = re.compile(SENTENCE_END.pattern + r"|\n\s*\n|(?<=[:;])\s+(?=[A-ZА-ЯЁ])")
_WORD = re.compile(r"\S+")
_LONG_WORD = re.compile(r"\w{3,}")
# Lists, tables and code come out of PDFs as very long "sentences": they are
# cut into windows of this many words, so that one does not win by length.
MAX_SENTENCE_WORDS = 40


@dataclass(frozen=True)
class Piece:
    """A part of a sentence that lies on one page or starts at one second."""

    start: int
    end: int
    anchor: float | None  # page (PDF) or start second (video)
    # Its lexemes as PostgreSQL stems them, when stored at ingest (else found per search).
    lexemes: frozenset[str] | None = None


@dataclass
class Sentence:
    chunk: Chunk
    index: int  # position among the chunk's sentences
    start: int  # character offsets in chunk.text
    end: int
    pieces: list[Piece]
    score: float = 0.0
    anchor: float | None = None  # the page or second its link opens
    lexemes: frozenset[str] = frozenset()  # as PostgreSQL stems the chunk's language

    @property
    def text(self) -> str:
        return " ".join(self.chunk.text[self.start : self.end].split())

    @property
    def page(self) -> int | None:
        if self.chunk.page_start is None or self.anchor is None:
            return self.chunk.page_start
        return int(self.anchor)

    @property
    def start_seconds(self) -> float | None:
        if self.chunk.page_start is not None:
            return None
        return self.anchor if self.anchor is not None else self.chunk.start_seconds


# A sentence quoted whole may run this long; a longer one (a list or a table
# read as one sentence) is quoted from its window to the nearest clause end.
QUOTE_MAX_WORDS = 90
_CLAUSE_END = re.compile(r"[,;:)]\s")


def whole_sentence(sentence: Sentence) -> str:
    """The sentence's text from its true start to its true end, for quoting.

    Search scores long sentences in windows of MAX_SENTENCE_WORDS words, which
    can end mid-sentence; a quote must not ("…the second character"). A
    sentence longer than QUOTE_MAX_WORDS is quoted from its window's start to
    the nearest clause end after it, marked as cut with an ellipsis.
    """
    text = sentence.chunk.text
    start, end = 0, len(text)
    for match in _SENTENCE_BREAK.finditer(text):
        if match.end() <= sentence.start:
            start = match.end()
        elif match.start() >= sentence.end:
            end = match.start()
            break
    words = text[start:end].split()
    if len(words) <= QUOTE_MAX_WORDS:
        return " ".join(words)
    clause = _CLAUSE_END.search(text, sentence.end, end)
    stop = clause.start() + 1 if clause else sentence.end
    quoted = " ".join(text[sentence.start : stop].split())
    return ("…" if sentence.start > start else "") + quoted + "…"


def _default_anchor(chunk: Chunk) -> float | None:
    return chunk.page_start if chunk.page_start is not None else chunk.start_seconds


def _spans(text: str, starts: list[int], ends: list[int]) -> list[tuple[int, int]]:
    """[start, end) of each sentence, long ones cut into windows of words.

    `starts` and `ends` are the text's word offsets; a word that runs past a
    break (a closing quote after the full stop) stays in the sentence it
    started in.
    """
    spans = []
    first = 0
    for match in [*_SENTENCE_BREAK.finditer(text), None]:
        stop = bisect.bisect_left(starts, match.start()) if match else len(starts)
        for low in range(first, stop, MAX_SENTENCE_WORDS):
            high = min(low + MAX_SENTENCE_WORDS, stop)
            spans.append((starts[low], ends[high - 1]))
        first = max(first, stop)
    return spans


def sentences(chunk: Chunk) -> list[Sentence]:
    """The chunk's sentences, each cut into pieces at page (or caption) starts.

    Read from what ingest stored (Chunk.sentences, with each piece's
    lexemes) when it is there; cut here otherwise.
    """
    if not chunk.sentences:
        return _cut(chunk)
    found = []
    for index, (start, end, cuts) in enumerate(chunk.sentences):
        pieces = [Piece(low, high, anchor, frozenset(words)) for low, high, anchor, words in cuts]
        found.append(Sentence(chunk, index, start, end, pieces, anchor=pieces[0].anchor))
    return found


def _cut(chunk: Chunk) -> list[Sentence]:
    text = chunk.text
    words = [match.span() for match in _WORD.finditer(text)]
    starts = [start for start, _ in words]
    ends = [end for _, end in words]
    # Character offsets where each page or caption begins, and its value.
    offsets = [starts[w] if w < len(starts) else len(text) for w, _ in chunk.anchors or []]
    values = [value for _, value in chunk.anchors or []]
    default = _default_anchor(chunk)
    found = []
    for index, (start, end) in enumerate(_spans(text, starts, ends)):
        inside = offsets[bisect.bisect_right(offsets, start) : bisect.bisect_left(offsets, end)]
        cuts = [start, *inside, end]
        pieces = []
        for low, high in zip(cuts, cuts[1:], strict=False):
            position = bisect.bisect_right(offsets, low) - 1
            anchor = values[position] if position >= 0 else default
            pieces.append(Piece(low, high, anchor))
        found.append(Sentence(chunk, index, start, end, pieces, anchor=pieces[0].anchor))
    return found


def sentence_index(chunks: Sequence[Chunk]) -> list[list[Any]]:
    """What Chunk.sentences stores for each chunk: its sentences, pieces and their lexemes.

    [[sentence start, end, [[piece start, end, anchor, [lexeme, ...]], ...]], ...]
    """
    cut = [_cut(chunk) for chunk in chunks]
    pieces = [(sentence, piece) for found in cut for sentence in found for piece in sentence.pieces]
    lexemes = iter(
        lexemes_of(
            [s.chunk.text[p.start : p.end] for s, p in pieces],
            [s.chunk.language for s, _ in pieces],
        )
    )
    return [
        [
            [s.start, s.end, [[p.start, p.end, p.anchor, sorted(next(lexemes))] for p in s.pieces]]
            for s in found
        ]
        for found in cut
    ]


def sentence_fill(
    *, batch: int = 500, on_progress: Callable[[int], None] = lambda done: None
) -> int:
    """Store the sentences of chunks that have none (stored before ingest kept them)."""
    done = 0
    while True:
        chunks = list(
            Chunk.objects.filter(sentences__isnull=True)
            .defer("embedding", "search_vector")
            .order_by("pk")[:batch]
        )
        if not chunks:
            return done
        for chunk, found in zip(chunks, sentence_index(chunks), strict=True):
            chunk.sentences = found
        Chunk.objects.bulk_update(chunks, ["sentences"])
        done += len(chunks)
        on_progress(done)


_LEXEMES_SQL = """
SELECT u.n, tsvector_to_array(to_tsvector(u.config::regconfig, u.t))
FROM unnest(%(texts)s::text[], %(configs)s::text[]) WITH ORDINALITY AS u(t, config, n)
"""


def lexemes_of(texts: Sequence[str], languages: Sequence[str]) -> list[set[str]]:
    """PostgreSQL's lexemes of each text, stemmed as the chunk's search_vector is."""
    if not texts:
        return []
    configs = [f"pg_catalog.{fts_config(language)}" for language in languages]
    with connection.cursor() as cursor:
        cursor.execute(_LEXEMES_SQL, {"texts": list(texts), "configs": configs})
        by_position = {row[0]: set(row[1]) for row in cursor.fetchall()}
    return [by_position.get(n, set()) for n in range(1, len(texts) + 1)]


def _stems(text: str) -> set[str]:
    # Five letters, not the stemmer's six: enough to tell which sentence of a
    # passage a generated text was drawn from, and where cards and citations
    # have always been placed.
    return {stem(word.casefold(), 5) for word in _LONG_WORD.findall(text)}


def sentence_for_text(chunk: Chunk, text: str) -> Sentence | None:
    """The chunk's sentence that shares most word stems with a text written from it.

    For items written from a passage (a model's answer, a card, a quiz
    question): the quote and the page are those of the sentence it was drawn
    from; within a sentence that crosses a page, the piece sharing most stems.
    """
    found = sentences(chunk)
    if not found:
        return None
    stems = _stems(text)

    def shared(sentence: Sentence) -> tuple[int, int]:
        return (len(stems & _stems(sentence.text)), -sentence.index)

    best = max(found, key=shared)
    best.anchor = max(
        best.pieces,
        key=lambda p: (len(stems & _stems(chunk.text[p.start : p.end])), p.end - p.start),
    ).anchor
    return best
