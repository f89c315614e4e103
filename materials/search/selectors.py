"""Search as the student sees it: ranked passages, each with the sentence and page to open."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from django.utils.translation import gettext as _

from accounts.models import User
from materials.index import crosslingual
from materials.models import Chunk, Material
from materials.search.evidence import best_sentence, coverage, score_sentences
from materials.search.ranking import Ranking, chunk_ranking, chunks_by_id
from materials.text.language import search_language
from materials.text.sentences import Sentence

# Passages of the first stage that the second stage reads: 20 ranked the tune
# half as 30 did, 15 lost an English hit@5 (bench/eval_tune).
CANDIDATES = 20
# How much the first stage's fused rank counts beside the best sentence's
# evidence (0..1.35): enough to order passages whose sentences tie, and to
# keep the vectors' say for paraphrases that share no word.
FUSION_WEIGHT = 1.0
# A table of contents names every section, so it matches many questions, yet
# the page it opens answers none: a passage that reads as one (CONTENTS_LEADERS
# or more dot leaders, "Title . . . . 12") ranks at this share of its score.
CONTENTS_SHARE = 0.5
CONTENTS_LEADERS = 3
_DOT_LEADER = re.compile(r"(?:\.\s?){5,}")


def reads_as_contents(text: str) -> bool:
    """Whether a passage is (part of) a table of contents: several dot leaders."""
    return len(_DOT_LEADER.findall(text)) >= CONTENTS_LEADERS


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # the fused rank and the sentence evidence together
    sentence: Sentence | None  # the sentence that matched best
    sentences: tuple[Sentence, ...] = ()  # all of the chunk's sentences, scored

    @property
    def page(self) -> int | None:
        """The page of the best-matching sentence: the one its link opens."""
        return self.sentence.page if self.sentence else self.chunk.page_start

    @property
    def start_seconds(self) -> float | None:
        return self.sentence.start_seconds if self.sentence else self.chunk.start_seconds

    @property
    def quote(self) -> str:
        return self.sentence.text if self.sentence else ""

    def coverage(self, weights: dict[str, dict[str, float]]) -> float:
        """The share of a query's term weight (idf over the searched scope) in the passage."""
        return coverage(self.sentences, weights.get(search_language(self.chunk.language), {}))


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    ranking: Ranking  # the first stage, with the query's vector and lexeme weights

    @property
    def degraded(self) -> bool:
        return self.ranking.degraded

    @property
    def notice(self) -> str:
        """What the student is told when the search could not use its vectors; else empty."""
        if not self.degraded:
            return ""
        return _(
            "Search by meaning is unavailable right now, so these results match your words only."
        )


def candidates(
    *,
    owner: User,
    query: str,
    material: Material | None = None,
    depth: int = CANDIDATES,
    mode: str = "hybrid",
) -> tuple[list[Hit], Ranking]:
    """The first stage's `depth` passages, each with its best sentence and score, best first."""
    ranking = chunk_ranking(owner=owner, query=query, material=material, depth=depth, mode=mode)
    by_id = chunks_by_id(owner=owner, chunk_ids=ranking.ids)
    scored = score_sentences(by_id.values(), ranking.weights)
    top = ranking.scores[0][1] if ranking.scores else 1.0
    hits = []
    for chunk_id, fused in ranking.scores:
        if chunk_id not in by_id:
            continue
        chunk = by_id[chunk_id]
        found = scored.get(chunk_id, [])
        sentence = best_sentence(found)
        evidence = sentence.score if sentence else 0.0
        score = FUSION_WEIGHT * fused / top + evidence
        if reads_as_contents(chunk.text):
            score *= CONTENTS_SHARE
        hits.append(Hit(chunk, round(score, 5), sentence, tuple(found)))
    hits.sort(key=lambda hit: -hit.score)
    return hits, ranking


def search(
    *,
    owner: User,
    query: str,
    material: Material | None = None,
    k: int = 5,
    mode: str = "hybrid",
) -> Results:
    """The owner's best k passages for a query, ordered by evidence.

    The first stage (ranking.chunk_ranking) fuses vectors, full text and term
    coverage into CANDIDATES passages; the second (evidence.score_sentences)
    scores their sentences against the query's rare terms. A passage ranks by
    its fused rank and its best sentence, and that sentence's page is the one
    shown and linked.
    """
    hits, ranking = candidates(
        owner=owner, query=query, material=material, depth=max(CANDIDATES, k), mode=mode
    )
    hits = hits[:k]
    if ranking.cross_anchors:
        hits = [
            _across_languages(hit, ranking, read=index < CROSS_READ)
            for index, hit in enumerate(hits)
        ]
    return Results(hits=hits, ranking=ranking)


# Passages found across languages whose sentences on the chosen page are read
# by the multilingual model to pick the quote (about 10 ms each).
CROSS_READ = 2


def _across_languages(hit: Hit, ranking: Ranking, *, read: bool) -> Hit:
    """A passage found by its meaning in another language opens its page nearest the question.

    The multilingual vectors are per page of a passage (crosslingual), so the
    page is known. The quoted sentence is the one on that page that shares
    terms (names, commands) with the question, or, for the first CROSS_READ
    such passages, the one nearest it in meaning.
    """
    anchors = ranking.cross_anchors
    if hit.chunk.pk not in anchors or (hit.sentence is not None and hit.sentence.score > 0):
        return hit
    anchor = anchors[hit.chunk.pk]
    on_page = [s for s in hit.sentences if any(p.anchor == anchor for p in s.pieces)]
    if read and on_page and ranking.cross_vector is not None:
        found = crosslingual.similarities(ranking.cross_vector, [s.text for s in on_page])
        for sentence, similarity in zip(on_page, found, strict=True):
            sentence.score += similarity
    best = best_sentence(on_page)
    if best is None:
        return hit
    best.anchor = anchor
    return replace(hit, sentence=best)
