"""Writes for the tutor: conversations and the turns of a conversation."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from datetime import UTC, datetime

from django.conf import settings

from accounts.models import User
from eduplatform import quota
from materials.models import Chunk, Flashcard, Material
from materials.selectors import material_list_visible
from materials.study.services import mistake_from_citation
from tutor import answers
from tutor.answers import Answer, extractive_answer, model_answer_stream, nothing_found
from tutor.models import Conversation, Message
from tutor.selectors import Retrieval, passage_retrieve

# Answers written without a hosted model: they cost an offline answer, not an AI call.
OFFLINE_GENERATORS = frozenset(
    {answers.EXTRACTIVE, answers.EXTRACTIVE_FALLBACK, answers.NOTHING_FOUND}
)


def conversation_create(*, owner: User, material: Material | None = None) -> Conversation:
    """A new conversation; the material, when given, must be one the owner may read."""
    visible = material_list_visible(user=owner)
    if material is not None and not visible.filter(pk=material.pk).exists():
        raise Material.DoesNotExist
    return Conversation.objects.create(owner=owner, material=material)


def retrieval_query(question: str, earlier_questions: list[str]) -> str:
    """The question, widened by the previous question for follow-ups.

    "and what about its inverse?" means little alone; with the previous
    question ("how does solve work?") the vector half embeds both together
    and the term ranking weighs the words of both. Whether the answer is
    relevant is still judged on the question alone.
    """
    if not earlier_questions:
        return question
    return f"{question} {earlier_questions[-1]}"


def _history(conversation: Conversation) -> list[Message]:
    recent = conversation.messages.order_by("-created_at", "-pk")[: settings.TUTOR_HISTORY_TURNS]
    return list(reversed(recent))


def message_ask_stream(
    *, conversation: Conversation, content: str, stream: bool = True
) -> Iterator[str | Message]:
    """Reserve what the question may cost, then answer it: see _answer_stream.

    Whether a hosted model writes the answer is known only after retrieval
    (with nothing relevant, or the embedding endpoint down, the answer is
    offline), yet a refused question must be refused before anything is
    stored or streamed. So both costs it may have are reserved here: with a
    key, one AI call of the day (QuotaExceeded over DAILY_AI_CALL_LIMIT), and
    always one offline answer (RateExceeded or QuotaExceeded over
    TUTOR_OFFLINE_PER_MINUTE or _PER_DAY); the stored answer's generator then
    says which one it cost, and the other is given back. Before either, one
    of the owner's TUTOR_STREAMS_PER_USER slots is taken (SlotsTaken when
    none is free), held while the answer is written: each holds a web thread.
    """
    asked_at = datetime.now(UTC)
    slot = quota.slot_take(conversation.owner, quota.STREAM)
    try:
        reserved = _question_reserve(conversation.owner, asked_at)
    except quota.QuotaExceeded:
        slot.release()
        raise
    pieces = _answer_stream(
        conversation=conversation,
        content=content,
        stream=stream,
        budget_spent=bool(settings.OPENAI_API_KEY) and quota.AI not in reserved,
    )
    return _holding(slot, _question_settle(conversation.owner, reserved, asked_at, pieces))


def _holding(slot: quota.Slot, pieces: Iterator[str | Message]) -> Iterator[str | Message]:
    """Pass the answer on, holding one of the owner's slots until it ends.

    The slot goes back when the answer is done or fails, and also when the
    caller drops it unread: a client gone before the stream's first byte
    never starts the generator, so its `finally` would never run.
    """

    def held() -> Iterator[str | Message]:
        try:
            yield from pieces
        finally:
            slot.release()

    answer = held()
    weakref.finalize(answer, slot.release)
    return answer


def _question_reserve(owner: User, at: datetime) -> list[str]:
    """Reserve an offline answer and, with a key, an AI call of the owner's and the
    site's budgets; all or none (QuotaExceeded).

    The site's budget spent (SiteBudgetSpent) refuses no one: the question is
    then answered without the hosted model, and costs an offline answer only.
    """
    kinds = [quota.AI, quota.OFFLINE] if settings.OPENAI_API_KEY else [quota.OFFLINE]
    reserved: list[str] = []
    try:
        for kind in kinds:
            try:
                quota.reserve(owner, kind, at=at, site=kind == quota.AI)
            except quota.SiteBudgetSpent:
                continue
            reserved.append(kind)
    except quota.QuotaExceeded:
        for kind in reserved:
            quota.refund(owner, kind, at=at, site=kind == quota.AI)
        raise
    return reserved


def _question_settle(
    owner: User, reserved: list[str], at: datetime, pieces: Iterator[str | Message]
) -> Iterator[str | Message]:
    """Pass the answer on, giving back the reservation its stored message did not cost.

    An answer that never arrives (an error, the client gone) gives nothing
    back: the model may have been called.
    """
    for piece in pieces:
        if isinstance(piece, Message):
            spent = quota.OFFLINE if piece.generator in OFFLINE_GENERATORS else quota.AI
            for kind in reserved:
                if kind != spent:
                    quota.refund(owner, kind, at=at, site=kind == quota.AI)
        yield piece


def _answer_stream(
    *, conversation: Conversation, content: str, stream: bool, budget_spent: bool = False
) -> Iterator[str | Message]:
    """Store the question, then yield the answer's text as it is written and
    finally the stored assistant Message.

    With a key the model writes (streamed); without one, when it cannot be
    reached, or when the site's AI calls of the day are spent
    (`budget_spent`), the answer is extractive; when nothing relevant is
    retrieved, the tutor says so instead of answering from nothing.
    """
    content = content.strip()
    history = _history(conversation)
    Message.objects.create(conversation=conversation, role=Message.Role.USER, content=content)
    if not conversation.title:
        conversation.title = content[:200]
    conversation.save(update_fields=["title", "updated_at"])

    earlier = [m.content for m in history if m.role == Message.Role.USER]
    retrieval: Retrieval = passage_retrieve(
        owner=conversation.owner,
        query=retrieval_query(content, earlier),
        evidence_query=content,
        material=conversation.material,
        k=settings.TUTOR_PASSAGES,
    )
    relevant = retrieval.relevant
    answer: Answer | None = None
    if not relevant:
        answer = nothing_found(content)
    elif settings.OPENAI_API_KEY and not retrieval.degraded and not budget_spent:
        # The model sees every retrieved passage: those found through the
        # earlier turns carry what a follow-up question refers to.
        turns = [(m.role, m.content) for m in history]
        pieces = model_answer_stream(
            content, turns, retrieval.passages, stream=stream, weights=retrieval.weights
        )
        for piece in pieces:
            if isinstance(piece, Answer):
                answer = piece
            else:
                yield piece
    else:
        answer = extractive_answer(
            content,
            relevant,
            fallback=retrieval.degraded,
            budget_spent=budget_spent,
            weights=retrieval.weights,
        )
    assert answer is not None
    message = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        content=answer.content,
        citations=answer.citations,
        generator=answer.generator,
    )
    conversation.save(update_fields=["updated_at"])
    yield message


def message_ask(*, conversation: Conversation, content: str) -> Message:
    """Ask and wait for the whole answer (the API's way)."""
    message = None
    for piece in message_ask_stream(conversation=conversation, content=content, stream=False):
        if isinstance(piece, Message):
            message = piece
    assert message is not None
    return message


def message_missed(*, message: Message) -> Flashcard | None:
    """The student did not get this answer: its first cited sentence comes back tomorrow.

    The card drawn from that sentence is brought back, or one is made with the
    student's question on the front; None when the answer cites nothing the
    student still has.
    """
    if message.role != Message.Role.ASSISTANT:
        return None
    owner = message.conversation.owner
    asked = (
        message.conversation.messages.filter(
            role=Message.Role.USER, created_at__lte=message.created_at
        )
        .exclude(pk=message.pk)
        .order_by("-created_at", "-pk")
        .values_list("content", flat=True)
        .first()
    )
    for cited in message.citations:
        # A course's shared material too: the card comes back for this student only.
        material = material_list_visible(user=owner).filter(pk=cited.get("material")).first()
        if material is None or not cited.get("quote"):
            continue
        chunk = Chunk.objects.filter(pk=cited.get("chunk"), material=material).first()
        return mistake_from_citation(
            owner=owner,
            material=material,
            quote=cited["quote"],
            page=cited.get("page"),
            start_seconds=cited.get("start_seconds"),
            passage=chunk.text if chunk else "",
            question=asked or "",
        )
    return None
