"""Reads for the tutor. Every selector takes the owner."""

from __future__ import annotations

import html
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from eduplatform.embeddings import current_model_name, get_embedder
from materials.errors import ProcessingError
from materials.models import Chunk, Material
from materials.pipeline.chunking import question_language
from materials.selectors import (
    HEADLINE_START,
    HEADLINE_STOP,
    chunk_headlines,
    chunk_ranking,
    chunk_search,
    chunks_by_id,
    term_coverage,
)
from materials.study.links import source_label, source_url
from tutor.models import Conversation, Message


def conversation_list(*, owner: User, material: Material | None = None) -> QuerySet[Conversation]:
    conversations = Conversation.objects.filter(owner=owner).select_related("material")
    if material is not None:
        conversations = conversations.filter(material=material)
    return conversations


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the evidence that it is relevant to the question."""

    chunk: Chunk
    score: float  # reciprocal-rank fusion score: rank-based, not a relevance measure
    cosine: float | None  # similarity of the question's and the chunk's vectors
    coverage: float  # share of the question's term weight (idf) found in the chunk

    @property
    def is_relevant(self) -> bool:
        if self.coverage >= settings.TUTOR_MIN_COVERAGE:
            return True
        return self.cosine is not None and self.cosine >= settings.TUTOR_MIN_COSINE


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]
    # The embedding endpoint failed, so only full text was searched.
    degraded: bool = False

    @property
    def relevant(self) -> list[Passage]:
        return [p for p in self.passages if p.is_relevant]


def _cosines(*, owner: User, chunk_ids: list[int], vector: list[float]) -> dict[int, float]:
    if not chunk_ids:
        return {}
    sql = (
        "SELECT c.id, 1 - (c.embedding <=> %(vector)s::vector) FROM materials_chunk c"
        " WHERE c.owner_id = %(owner)s AND c.id = ANY(%(ids)s) AND c.embedding_model = %(model)s"
    )
    params = {"vector": str(vector), "owner": owner.pk, "ids": chunk_ids}
    params["model"] = current_model_name()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: float(row[1]) for row in cursor.fetchall()}


def passage_retrieve(
    *,
    owner: User,
    query: str,
    material: Material | None = None,
    k: int = 5,
    evidence_query: str | None = None,
) -> Retrieval:
    """The owner's best passages for a query, each with its relevance evidence.

    Reciprocal-rank fusion always returns k rows, however unrelated; whether
    a passage is relevant is judged on `evidence_query` (the question itself,
    when `query` was widened with the conversation): enough of its term
    weight in the passage (TUTOR_MIN_COVERAGE) or a vector similarity above
    TUTOR_MIN_COSINE, both calibrated by `make eval`. A dead embedding
    endpoint degrades to full text only.
    """
    evidence_query = (evidence_query or query).strip()
    ranking = chunk_ranking(owner=owner, query=query, material=material, k=k)
    ranked, degraded, ids = ranking.scores, ranking.degraded, ranking.ids
    coverage = dict(
        term_coverage(owner=owner, query=evidence_query, chunk_ids=ids, depth=len(ids) or 1)
    )
    cosines: dict[int, float] = {}
    # The offline MiniLM scores any two Russian texts alike (0.35-0.41 for
    # off-topic questions in `make eval`), so its similarity is evidence only
    # for English questions; the hosted model is multilingual.
    meaningful = settings.OPENAI_API_KEY or question_language(evidence_query) == "en"
    if ids and not degraded and meaningful:
        try:
            vector = get_embedder().embed([evidence_query])[0]
            cosines = _cosines(owner=owner, chunk_ids=ids, vector=vector)
        except ProcessingError:
            degraded = True
    by_id = chunks_by_id(owner=owner, chunk_ids=ids)
    passages = [
        Passage(
            chunk=by_id[chunk_id],
            score=score,
            cosine=cosines.get(chunk_id),
            coverage=coverage.get(chunk_id, 0.0),
        )
        for chunk_id, score in ranked
        if chunk_id in by_id
    ]
    return Retrieval(passages=passages, degraded=degraded)


@dataclass(frozen=True)
class SearchResult:
    chunk: Chunk
    score: float
    snippet: SafeString

    @property
    def material(self) -> Material:
        return self.chunk.material

    @property
    def source_url(self) -> str:
        return source_url(
            self.material, page=self.chunk.page_start, start_seconds=self.chunk.start_seconds
        )

    @property
    def source_label(self) -> str:
        return source_label(
            material=self.material,
            page=self.chunk.page_start,
            start_seconds=self.chunk.start_seconds,
        )


def _highlighted(snippet: str) -> SafeString:
    escaped = html.escape(snippet)
    return mark_safe(  # noqa: S308 (escaped above; only our own <mark> tags are added)
        escaped.replace(HEADLINE_START, "<mark>").replace(HEADLINE_STOP, "</mark>")
    )


def search_results(
    *, owner: User, query: str, material: Material | None = None, k: int = 10
) -> list[SearchResult]:
    """Hybrid search results with highlighted snippets, for the search box."""
    hits = chunk_search(owner=owner, query=query, material=material, k=k)
    snippets = chunk_headlines(owner=owner, query=query, chunk_ids=[h.chunk.pk for h in hits])
    return [
        SearchResult(
            chunk=hit.chunk,
            score=hit.score,
            snippet=_highlighted(snippets.get(hit.chunk.pk, hit.chunk.text[:300])),
        )
        for hit in hits
    ]


@dataclass(frozen=True)
class CitationLink:
    number: int
    url: str
    label: str
    quote: str


def message_list(*, owner: User, conversation: Conversation) -> list[Message]:
    """The conversation's messages, each with `.links`: its citations as links.

    Citations are re-resolved against the owner's materials at read time, so
    a citation of a deleted or hidden material shows its quote without a link.
    """
    messages = list(Message.objects.filter(conversation=conversation).order_by("created_at", "pk"))
    ids = {c.get("material") for m in messages for c in m.citations}
    materials = {m.pk: m for m in Material.objects.filter(owner=owner, is_hidden=False, pk__in=ids)}
    for message in messages:
        links = []
        for number, cited in enumerate(message.citations, start=1):
            material = materials.get(cited.get("material"))
            page, seconds = cited.get("page"), cited.get("start_seconds")
            links.append(
                CitationLink(
                    number=number,
                    url=source_url(material, page=page, start_seconds=seconds) if material else "",
                    label=source_label(material=material, page=page, start_seconds=seconds)
                    if material
                    else "",
                    quote=cited.get("quote", ""),
                )
            )
        message.links = links
    return messages
