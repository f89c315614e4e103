"""Reads for the tutor. Every selector takes the owner."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from accounts.models import User
from materials.index import crosslingual
from materials.links import source_label, source_url
from materials.models import Chunk, Material
from materials.search.ranking import query_weights
from materials.search.selectors import search
from materials.selectors import material_list_visible
from materials.text.language import question_language
from materials.text.sentences import Sentence
from tutor import relevance
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
class RetrievedPassage:
    """A passage search ranked for the question, with the evidence that it answers it."""

    chunk: Chunk
    coverage: float  # share of the question's term weight (idf in the searched scope) in the chunk
    sentences: tuple[Sentence, ...] = ()  # the chunk's sentences, scored against the query
    sentence: Sentence | None = None  # the best sentence, the one the search shows and opens
    # multilingual similarity of the question and the chunk's nearest part
    meaning: float | None = None
    pair: str = "en"  # question language → passage language (relevance.pair)
    probability: float = 0.0  # calibrated chance that it answers the question

    @property
    def is_relevant(self) -> bool:
        return relevance.is_relevant(self.pair, self.probability)


@dataclass(frozen=True)
class Retrieval:
    passages: list[RetrievedPassage]
    # The embedding endpoint failed, so only full text was searched.
    degraded: bool = False
    cross_vector: list[float] | None = None  # the question's multilingual vector
    # The query's lexemes and their idf, by language (ranking.TextRankings.weights).
    weights: dict[str, dict[str, float]] = field(default_factory=dict)

    # The search query was the question widened by the previous one (a follow-up).
    widened: bool = False

    @property
    def relevant(self) -> list[RetrievedPassage]:
        """The passages that answer, best first; none unless the best one does.

        "Not found" is decided on the search's top hit alone, the one a
        student sees first: a lower passage can add to its answer, never
        stand in for it. For a follow-up, searched with the previous question
        too, the best hit is the one most likely to answer the question itself.
        """
        passages = self.passages
        if self.widened:
            passages = sorted(passages, key=lambda p: -p.probability)
        if not passages or not passages[0].is_relevant:
            return []
        return [p for p in passages if p.is_relevant]


def passage_retrieve(
    *,
    owner: User,
    query: str,
    material: Material | None = None,
    k: int = 5,
    evidence_query: str | None = None,
) -> Retrieval:
    """The owner's best passages for a query, as search ranks them, each with its relevance.

    The passages, their best sentences and pages are exactly those of
    `materials.search.search` for the query (the Search tab's). Search always
    returns k rows, however unrelated; whether each answers is judged on
    `evidence_query` (the question itself, when `query` was widened with the
    conversation) by relevance.probability: the share of its term weight
    in the passage and the multilingual similarity of the two, calibrated per
    language pair by `make eval`'s tune half.
    """
    query = query.strip()
    evidence_query = (evidence_query or query).strip()
    results = search(owner=owner, query=query, material=material, k=k)
    weights = results.ranking.weights
    if evidence_query != query:
        weights = query_weights(owner=owner, query=evidence_query, material=material)
    cross_vector = results.ranking.cross_vector if evidence_query == query else None
    ids = [hit.chunk.pk for hit in results.hits]
    meanings: dict[int, float] = {}
    if ids:
        if cross_vector is None:
            cross_vector = crosslingual.embed([evidence_query])[0]
        meanings = crosslingual.chunk_similarities(
            owner_ids=sorted({hit.chunk.owner_id for hit in results.hits}),
            chunk_ids=ids,
            vector=cross_vector,
        )
    language = question_language(evidence_query)
    passages = []
    for hit in results.hits:
        pair = relevance.pair(language, hit.chunk.language)
        coverage = hit.coverage(weights)
        meaning = meanings.get(hit.chunk.pk)
        passages.append(
            RetrievedPassage(
                chunk=hit.chunk,
                coverage=coverage,
                sentences=hit.sentences,
                sentence=hit.sentence,
                meaning=meaning,
                pair=pair,
                probability=relevance.probability(pair, coverage, meaning or 0.0),
            )
        )
    return Retrieval(
        passages=passages,
        degraded=results.degraded,
        cross_vector=cross_vector,
        weights=weights,
        widened=evidence_query != query,
    )


@dataclass(frozen=True)
class CitationLink:
    number: int
    url: str
    label: str
    quote: str


def message_list(*, owner: User, conversation: Conversation) -> list[Message]:
    """The conversation's messages, each with `.links`: its citations as links.

    Citations are re-resolved against the materials the owner may read at
    read time, so a citation of a deleted or hidden material, or of a course
    the student has left, shows its quote without a link.
    """
    messages = list(Message.objects.filter(conversation=conversation).order_by("created_at", "pk"))
    ids = {c.get("material") for m in messages for c in m.citations}
    visible = material_list_visible(user=owner).filter(pk__in=ids)
    materials = {m.pk: m for m in visible}
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
        # The page reads them off the row; they are no column of it.
        message.links = links  # type: ignore[attr-defined]
    return messages
