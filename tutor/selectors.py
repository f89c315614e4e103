"""Reads for the tutor. Every selector takes the owner."""

from __future__ import annotations

import html
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from eduplatform.embeddings import current_model_name, get_embedder
from materials.errors import ProcessingError
from materials.models import Chunk, Material
from materials.selectors import (
    HEADLINE_START,
    HEADLINE_STOP,
    RRF_K,
    chunk_headlines,
    chunk_search,
)
from tutor.models import Conversation, Message


def conversation_list(*, owner: User, material: Material | None = None) -> QuerySet[Conversation]:
    conversations = Conversation.objects.filter(owner=owner).select_related("material")
    if material is not None:
        conversations = conversations.filter(material=material)
    return conversations


def conversation_get(*, owner: User, pk: int | str) -> Conversation:
    """The owner's conversation with its messages, or Conversation.DoesNotExist."""
    return (
        conversation_list(owner=owner)
        .prefetch_related(
            Prefetch("messages", queryset=Message.objects.order_by("created_at", "pk"))
        )
        .get(pk=pk)
    )


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


# Full text for questions: websearch_to_tsquery wants every term in one chunk,
# which a natural question ("Кто перевёл руководство на русский язык?") almost
# never satisfies. Here each of the question's lexemes (stemmed by the chunk's
# own language) weighs its inverse document frequency within the searched
# chunks, and a chunk scores the share of the question's weight it contains:
# rare terms decide, words found everywhere barely count, and a word found
# nowhere ("sourdough") weighs like the rarest word, so an unrelated question
# scores low while a one-page material still scores its own words fully.
_TERM_COVERAGE_SQL = """
WITH scoped AS (
    SELECT c.id, c.search_vector,
           CASE WHEN c.language IN ('ru', 'en') THEN c.language ELSE 'simple' END AS lang
    FROM materials_chunk c JOIN materials_material m ON m.id = c.material_id
    WHERE {scope}
),
terms AS (
    SELECT DISTINCT l.lang, t.lexeme
    FROM (VALUES ('ru', 'pg_catalog.russian'), ('en', 'pg_catalog.english'),
                 ('simple', 'pg_catalog.simple')) AS l(lang, config)
    CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector(l.config::regconfig, %(q)s)))
        AS t(lexeme)
),
total AS (SELECT count(*)::float AS n FROM scoped),
weights AS (
    SELECT t.lang, t.lexeme, count(s.id) AS df,
           ln((max(total.n) + 1) / (greatest(count(s.id), 1) + 0.5)) AS idf
    FROM terms t CROSS JOIN total
    LEFT JOIN scoped s ON s.lang = t.lang
        AND s.search_vector @@ quote_literal(t.lexeme)::tsquery
    GROUP BY t.lang, t.lexeme
),
query_weight AS (SELECT lang, sum(idf) AS weight FROM weights GROUP BY lang)
SELECT s.id, sum(w.idf) / max(q.weight) AS coverage
FROM scoped s
JOIN weights w ON w.lang = s.lang AND w.df > 0
    AND s.search_vector @@ quote_literal(w.lexeme)::tsquery
JOIN query_weight q ON q.lang = s.lang
GROUP BY s.id
ORDER BY coverage DESC, s.id
LIMIT %(depth)s
"""


def term_coverage(
    *,
    owner: User,
    query: str,
    material: Material | None = None,
    chunk_ids: list[int] | None = None,
    depth: int = 20,
) -> list[tuple[int, float]]:
    """(chunk id, coverage) of the owner's chunks best covering the query's terms."""
    scope = "c.owner_id = %(owner)s AND NOT m.is_hidden"
    params: dict = {"owner": owner.pk, "q": query, "depth": depth}
    if material is not None:
        scope += " AND c.material_id = %(material)s"
        params["material"] = material.pk
    if chunk_ids is not None:
        scope += " AND c.id = ANY(%(ids)s)"
        params["ids"] = chunk_ids
    with connection.cursor() as cursor:
        # Only constant SQL is formatted in; every value is a bound parameter.
        cursor.execute(_TERM_COVERAGE_SQL.format(scope=scope), params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


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


def passage_search(
    *, owner: User, query: str, material: Material | None = None, k: int = 5
) -> tuple[list[tuple[int, float]], bool]:
    """(chunk id, fused score) of the owner's best chunks: vectors and term
    coverage fused by reciprocal rank; True when vectors were unavailable."""
    query = query.strip()
    if not query:
        return [], False
    depth = max(20, k * 4)
    degraded = False
    try:
        vector_ids = [
            hit.chunk.pk
            for hit in chunk_search(
                owner=owner, query=query, material=material, k=depth, mode="vector"
            )
        ]
    except ProcessingError:
        degraded, vector_ids = True, []
    text_ids = [
        chunk_id
        for chunk_id, _ in term_coverage(owner=owner, query=query, material=material, depth=depth)
    ]
    scores: dict[int, float] = {}
    for weight, ranked in ((_vector_weight(query), vector_ids), (1.0, text_ids)):
        for rank, chunk_id in enumerate(ranked, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (RRF_K + rank)
    best = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))[:k]
    return [(chunk_id, round(scores[chunk_id], 5)) for chunk_id in best], degraded


def _vector_weight(query: str) -> float:
    """How much the vector ranking counts against the term ranking.

    The hosted embedding model is multilingual: equal weight. The offline
    MiniLM is English-only, so for other languages its ranking is a weak
    tie-breaker; even in English, `make eval` found term coverage the more
    precise half on questions worded like the material (MRR 0.92 alone vs
    0.85 at equal weight), so vectors count half.
    """
    from tutor.answers import question_language

    if settings.OPENAI_API_KEY:
        return 1.0
    return 0.5 if question_language(query) == "en" else 0.15


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
    ranked, degraded = passage_search(owner=owner, query=query, material=material, k=k)
    ids = [chunk_id for chunk_id, _ in ranked]
    coverage = dict(
        term_coverage(owner=owner, query=evidence_query, chunk_ids=ids, depth=len(ids) or 1)
    )
    cosines: dict[int, float] = {}
    # The offline MiniLM scores any two Russian texts alike (0.35-0.41 for
    # off-topic questions in `make eval`), so its similarity is evidence only
    # for English questions; the hosted model is multilingual.
    from tutor.answers import question_language

    meaningful = settings.OPENAI_API_KEY or question_language(evidence_query) == "en"
    if ids and not degraded and meaningful:
        try:
            vector = get_embedder().embed([evidence_query])[0]
            cosines = _cosines(owner=owner, chunk_ids=ids, vector=vector)
        except ProcessingError:
            degraded = True
    chunks = Chunk.objects.filter(owner=owner, pk__in=ids).select_related("material")
    by_id = {chunk.pk: chunk for chunk in chunks}
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
        return source_link(
            self.material, page=self.chunk.page_start, start_seconds=self.chunk.start_seconds
        )

    @property
    def source_label(self) -> str:
        return source_label(
            self.material, page=self.chunk.page_start, start_seconds=self.chunk.start_seconds
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
    ranked, _degraded = passage_search(owner=owner, query=query, material=material, k=k)
    ids = [chunk_id for chunk_id, _ in ranked]
    chunks = Chunk.objects.filter(owner=owner, pk__in=ids).select_related("material")
    by_id = {chunk.pk: chunk for chunk in chunks}
    snippets = chunk_headlines(owner=owner, query=query, chunk_ids=ids)
    return [
        SearchResult(
            chunk=by_id[chunk_id],
            score=score,
            snippet=_highlighted(snippets.get(chunk_id, by_id[chunk_id].text[:300])),
        )
        for chunk_id, score in ranked
        if chunk_id in by_id
    ]


@dataclass(frozen=True)
class CitationLink:
    number: int
    url: str
    label: str
    quote: str


def source_link(material: Material, *, page: int | None, start_seconds: float | None) -> str:
    """Where a citation opens: the stored PDF at its page, or the video at its second."""
    from django.urls import reverse

    from materials.pipeline.youtube import watch_url

    if material.kind == Material.Kind.YOUTUBE:
        return watch_url(material.video_id, start_seconds)
    url = reverse("materials:file", args=[material.pk])
    return f"{url}#page={page}" if page else url


def source_label(material: Material, *, page: int | None, start_seconds: float | None) -> str:
    from django.utils.translation import gettext as _

    if page is not None:
        return _("%(title)s, p. %(page)s") % {"title": material.title, "page": page}
    if start_seconds is not None:
        minutes, seconds = divmod(int(start_seconds), 60)
        return f"{material.title}, {minutes}:{seconds:02d}"
    return material.title


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
                    url=source_link(material, page=page, start_seconds=seconds) if material else "",
                    label=source_label(material, page=page, start_seconds=seconds)
                    if material
                    else "",
                    quote=cited.get("quote", ""),
                )
            )
        message.links = links
    return messages
