"""Second stage of search: the sentence of a passage that answers, and its own page.

A passage runs over page breaks (and over caption snippets); its first page
is often not where the answer is. Here each candidate passage is cut into
sentences, each sentence into pieces that lie on one page (or start at one
second), and every sentence is scored by the share of the query's term
weight (the idf of its lexemes, stemmed by PostgreSQL as the full-text
search stems them) that it holds, plus a part of what its neighbours add.
The best sentence decides the passage's evidence score, its quote and the
page the link opens: the page of the piece that holds most of the matched
weight.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import connection

from materials.models import Chunk
from materials.text.language import fts_config, search_language

# A sentence ends at terminal punctuation (and closing quotes) followed by
# what can start a sentence, or at a paragraph break. Regular expressions,
# not pysbd: this runs on ~20 passages per search and must take milliseconds.
_SENTENCE_BREAK = re.compile(
    r"(?<=[.!?…])[\"'»”’)\]]*\s+(?=[\"'«“‘(\[]?[A-ZА-ЯЁ0-9])|\n\s*\n|(?<=[:;])\s+(?=[A-ZА-ЯЁ])"
)
_WORD = re.compile(r"\S+")
# Lists, tables and code come out of PDFs as very long "sentences": they are
# cut into windows of this many words, so that one does not win by length.
MAX_SENTENCE_WORDS = 40
# What a sentence's neighbours add counts this much (an answer often names
# its subject in the sentence before).
NEIGHBOUR_SHARE = 0.35


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


def sentence_index(chunks: Sequence[Chunk]) -> list[list]:
    """What Chunk.sentences stores for each chunk: its sentences, pieces and their lexemes.

    [[sentence start, end, [[piece start, end, anchor, [lexeme, ...]], ...]], ...]
    """
    cut = [_cut(chunk) for chunk in chunks]
    pieces = [(sentence, piece) for found in cut for sentence in found for piece in sentence.pieces]
    lexemes = iter(
        _lexemes(
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


def _lexemes(texts: Sequence[str], languages: Sequence[str]) -> list[set[str]]:
    """PostgreSQL's lexemes of each text, stemmed as the chunk's search_vector is."""
    if not texts:
        return []
    configs = [f"pg_catalog.{fts_config(language)}" for language in languages]
    with connection.cursor() as cursor:
        cursor.execute(_LEXEMES_SQL, {"texts": list(texts), "configs": configs})
        by_position = {row[0]: set(row[1]) for row in cursor.fetchall()}
    return [by_position.get(n, set()) for n in range(1, len(texts) + 1)]


def _matched(item: tuple[Piece, frozenset[str]], query: dict[str, float]) -> tuple[float, int]:
    piece, found = item
    return (sum(query[t] for t in found & query.keys()), piece.end - piece.start)


def score_sentences(
    chunks: Iterable[Chunk], weights: dict[str, dict[str, float]]
) -> dict[int, list[Sentence]]:
    """Every sentence of the chunks, scored against the query's lexeme weights.

    A sentence scores the share of the query's weight it holds, plus
    NEIGHBOUR_SHARE of what the sentences before and after add; its anchor is
    the piece holding most of the matched weight (the longest piece when
    nothing matched).
    """
    chunks = list(chunks)
    by_chunk = {chunk.pk: sentences(chunk) for chunk in chunks}
    pieces = [
        (sentence, piece)
        for chunk in chunks
        for sentence in by_chunk[chunk.pk]
        for piece in sentence.pieces
    ]
    # Stemmed here only for chunks stored before ingest kept their lexemes.
    unknown = [(s, p) for s, p in pieces if p.lexemes is None]
    stemmed = iter(
        _lexemes(
            [s.chunk.text[p.start : p.end] for s, p in unknown],
            [s.chunk.language for s, _ in unknown],
        )
    )
    piece_terms: dict[tuple[int, int], list[tuple[Piece, frozenset[str]]]] = {}
    for sentence, piece in pieces:
        found = piece.lexemes if piece.lexemes is not None else frozenset(next(stemmed))
        piece_terms.setdefault((sentence.chunk.pk, sentence.index), []).append((piece, found))
    for chunk in chunks:
        query = weights.get(search_language(chunk.language), {})
        total = sum(query.values())
        found_by_sentence = []
        for sentence in by_chunk[chunk.pk]:
            parts = piece_terms.get((chunk.pk, sentence.index), [])
            sentence.lexemes = frozenset().union(*(found for _, found in parts))
            found_by_sentence.append(sentence.lexemes & query.keys())
            if len(parts) > 1:
                sentence.anchor = max(parts, key=lambda item, q=query: _matched(item, q))[0].anchor
        if not total:
            continue
        for position, sentence in enumerate(by_chunk[chunk.pk]):
            own = found_by_sentence[position]
            around = set(own)
            for neighbour in (position - 1, position + 1):
                if 0 <= neighbour < len(found_by_sentence):
                    around |= found_by_sentence[neighbour]
            share = sum(query[t] for t in own) / total
            extra = sum(query[t] for t in around - own) / total
            sentence.score = share + NEIGHBOUR_SHARE * extra
    return by_chunk


def coverage(found: Iterable[Sentence], weights: dict[str, float]) -> float:
    """The share of the query's term weight that the sentences hold together."""
    total = sum(weights.values())
    if not total:
        return 0.0
    lexemes = frozenset().union(*(sentence.lexemes for sentence in found))
    return sum(weights[t] for t in lexemes & weights.keys()) / total


def best_sentence(scored: list[Sentence]) -> Sentence | None:
    """The highest-scoring sentence; the earliest among equals."""
    if not scored:
        return None
    return max(scored, key=lambda sentence: (sentence.score, -sentence.index))


def _stems(text: str) -> set[str]:
    # A five-letter prefix: a crude stem for English and Russian alike, enough
    # to tell which sentence of a passage a generated text was drawn from.
    return {word.casefold()[:5] for word in re.findall(r"\w{3,}", text)}


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
