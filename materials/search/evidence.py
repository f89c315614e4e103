"""Second stage of search: the sentence of a passage that answers, and its own page.

Every sentence of a candidate passage (materials.text.sentences) is scored
by the share of the query's term weight (the idf of its lexemes, stemmed by
PostgreSQL as the full-text search stems them) that it holds, plus a part of
what its neighbours add. The best sentence decides the passage's evidence
score, its quote and the page the link opens: the page of the piece that
holds most of the matched weight.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from materials.models import Chunk
from materials.text.language import search_language
from materials.text.sentences import Piece, Sentence, lexemes_of, sentences

# What a sentence's neighbours add counts this much (an answer often names
# its subject in the sentence before).
NEIGHBOUR_SHARE = 0.35


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
        lexemes_of(
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
                sentence.anchor = max(parts, key=partial(_matched, query=query))[0].anchor
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
