"""Reads for the tutor. Every selector takes the owner."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User
from eduplatform.ai import AIUnavailable
from eduplatform.embeddings import get_embedder
from materials.models import Chunk, Material
from materials.search.evidence import Sentence
from materials.search.language import question_language
from materials.search.ranking import chunk_cosines, query_weights
from materials.search.selectors import search
from materials.study.links import source_label, source_url
from tutor.models import Conversation, Message


def conversation_list(*, owner: User, material: Material | None = None) -> QuerySet[Conversation]:
    conversations = Conversation.objects.filter(owner=owner).select_related("material")
    if material is not None:
        conversations = conversations.filter(material=material)
    return conversations


def message_get(*, owner: User, pk: int | str) -> Message:
    """One of the owner's messages; another student's raises Message.DoesNotExist."""
    return Message.objects.select_related("conversation").get(pk=pk, conversation__owner=owner)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the evidence that it is relevant to the question."""

    chunk: Chunk
    score: float  # rank-based (fusion and sentence evidence): not a relevance measure
    cosine: float | None  # similarity of the question's and the chunk's vectors
    coverage: float  # share of the question's term weight (idf in the searched scope) in the chunk
    sentences: tuple[Sentence, ...] = ()  # the chunk's sentences, scored against the query
    # multilingual similarity, for a passage in another language than the question's
    cross_cosine: float | None = None

    @property
    def is_relevant(self) -> bool:
        if self.coverage >= settings.TUTOR_MIN_COVERAGE:
            return True
        if self.cross_cosine is not None and self.cross_cosine >= settings.TUTOR_MIN_CROSS_COSINE:
            return True
        return self.cosine is not None and self.cosine >= settings.TUTOR_MIN_COSINE


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]
    # The embedding endpoint failed, so only full text was searched.
    degraded: bool = False
    vector: list[float] | None = None  # the question's embedding, made once
    cross_vector: list[float] | None = None  # its multilingual one, when made

    @property
    def relevant(self) -> list[Passage]:
        return [p for p in self.passages if p.is_relevant]


def passage_retrieve(
    *,
    owner: User,
    query: str,
    material: Material | None = None,
    k: int = 5,
    evidence_query: str | None = None,
) -> Retrieval:
    """The owner's best passages for a query, each with its relevance evidence.

    Search always returns k rows, however unrelated; whether a passage is
    relevant is judged on `evidence_query` (the question itself, when `query`
    was widened with the conversation): enough of its term weight in the
    passage (TUTOR_MIN_COVERAGE) or a vector similarity above
    TUTOR_MIN_COSINE, both calibrated by `make eval`. The question is embedded
    once. A dead embedding endpoint degrades to full text only.
    """
    query = query.strip()
    evidence_query = (evidence_query or query).strip()
    results = search(owner=owner, query=query, material=material, k=k)
    ids = [hit.chunk.pk for hit in results.hits]
    weights = results.ranking.weights
    if evidence_query != query:
        weights = query_weights(owner=owner, query=evidence_query, material=material)
    degraded = results.degraded
    vector = results.ranking.vector if evidence_query == query else None
    cosines: dict[int, float] = {}
    # The offline MiniLM scores any two Russian texts alike (0.35-0.41 for
    # off-topic questions in `make eval`), so its similarity is evidence only
    # for English questions; the hosted model is multilingual.
    meaningful = settings.OPENAI_API_KEY or question_language(evidence_query) == "en"
    if ids and not degraded and meaningful:
        try:
            if vector is None:
                vector = get_embedder().embed([evidence_query])[0]
            cosines = chunk_cosines(owner=owner, chunk_ids=ids, vector=vector)
        except AIUnavailable:
            degraded = True
    passages = [
        Passage(
            chunk=hit.chunk,
            score=hit.score,
            cosine=cosines.get(hit.chunk.pk),
            coverage=hit.coverage(weights),
            sentences=hit.sentences,
            cross_cosine=results.ranking.cross_cosines.get(hit.chunk.pk),
        )
        for hit in results.hits
    ]
    return Retrieval(
        passages=passages,
        degraded=degraded,
        vector=vector,
        cross_vector=results.ranking.cross_vector,
    )


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
                    url=source_url(
                        material, page=page, start_seconds=seconds, quote=cited.get("quote", "")
                    )
                    if material
                    else "",
                    label=source_label(material=material, page=page, start_seconds=seconds)
                    if material
                    else "",
                    quote=cited.get("quote", ""),
                )
            )
        message.links = links
    return messages
