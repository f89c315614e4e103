"""Writes on study content: reviews (FSRS), the student's own cards, quiz attempts, reports."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler
from fsrs import State as FsrsState

from accounts.models import User
from materials.models import (
    ContentReport,
    Flashcard,
    Material,
    QuizAttempt,
    QuizQuestion,
    ReviewLog,
)

# One scheduler for everyone, FSRS-6 default parameters; fuzzing spreads
# cards made together over neighbouring days.
SCHEDULER = Scheduler()


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _to_fsrs(card: Flashcard) -> FsrsCard:
    return FsrsCard(
        card_id=card.pk,
        state=FsrsState(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=_utc(card.due),
        last_review=_utc(card.last_review),
    )


@transaction.atomic
def flashcard_review(
    *,
    card: Flashcard,
    rating: int,
    now: datetime | None = None,
    duration_ms: int | None = None,
    scheduler: Scheduler = SCHEDULER,
) -> Flashcard:
    """Rate a card 1-4 (Again, Hard, Good, Easy); FSRS decides when it is due next."""
    if rating not in (1, 2, 3, 4):
        raise ValidationError({"rating": _("The rating must be 1, 2, 3 or 4.")})
    card = Flashcard.objects.select_for_update().get(pk=card.pk)
    moment = _utc(now or timezone.now())
    reviewed, _log = scheduler.review_card(
        _to_fsrs(card), Rating(rating), review_datetime=moment, review_duration=duration_ms
    )
    card.state = int(reviewed.state)
    card.step = reviewed.step
    card.stability = reviewed.stability
    card.difficulty = reviewed.difficulty
    card.due = reviewed.due
    card.last_review = reviewed.last_review
    card.save(
        update_fields=[
            "state", "step", "stability", "difficulty", "due", "last_review", "updated_at"
        ]
    )  # fmt: skip
    ReviewLog.objects.create(
        card=card,
        rating=rating,
        reviewed_at=moment,
        review_duration_ms=duration_ms,
        due_after=card.due,
    )
    return card


def _clean_side(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: _("This side of the card cannot be empty.")})
    if len(value) > 2000:
        raise ValidationError({field: _("Keep each side under 2000 characters.")})
    return value


def flashcard_create(
    *,
    owner: User,
    material: Material,
    front: str,
    back: str,
    origin: str = Flashcard.Origin.USER,
    source: QuizQuestion | None = None,
) -> Flashcard:
    """A card the student made (by hand, or from a quiz mistake); it survives regeneration."""
    last = material.flashcards.order_by("-position").values_list("position", flat=True).first()
    return Flashcard.objects.create(
        owner=owner,
        material=material,
        front=_clean_side(front, "front"),
        back=_clean_side(back, "back"),
        kind=Flashcard.Kind.QA,
        origin=origin,
        position=(last or 0) + 1,
        page=source.page if source else None,
        page_end=source.page_end if source else None,
        start_seconds=source.start_seconds if source else None,
        passage=source.passage if source else "",
        due=timezone.now(),
    )


def flashcard_update(
    *,
    card: Flashcard,
    front: str | None = None,
    back: str | None = None,
    is_suspended: bool | None = None,
) -> Flashcard:
    """Edit or (un)suspend a card; an edited generated card becomes the student's own.

    Its wording is theirs from then on, so regenerating the material keeps it.
    """
    fields = ["updated_at"]
    if front is not None and front.strip() != card.front:
        card.front = _clean_side(front, "front")
        fields.append("front")
    if back is not None and back.strip() != card.back:
        card.back = _clean_side(back, "back")
        fields.append("back")
    if ("front" in fields or "back" in fields) and card.origin == Flashcard.Origin.GENERATED:
        card.origin = Flashcard.Origin.USER
        fields.append("origin")
    if is_suspended is not None:
        card.is_suspended = is_suspended
        fields.append("is_suspended")
    card.save(update_fields=fields)
    return card


def flashcard_delete(*, card: Flashcard) -> None:
    card.delete()


def flashcard_from_question(*, owner: User, question: QuizQuestion) -> Flashcard:
    """Turn a quiz question (usually a missed one) into a card; twice gives the same card."""
    front = question.question
    back = question.answer
    existing = Flashcard.objects.filter(
        owner=owner, material_id=question.material_id, front=front, back=back
    ).first()
    if existing is not None:
        return existing
    return flashcard_create(
        owner=owner,
        material=question.material,
        front=front,
        back=back,
        origin=Flashcard.Origin.QUIZ,
        source=question,
    )


def quiz_attempt_create(
    *, owner: User, material: Material, questions: list[QuizQuestion], answers: dict
) -> QuizAttempt:
    """Score answers ({question id: choice index}); unanswered questions count as wrong.

    The results keep each question's text, choices and explanation, so an
    attempt still reads right after the quiz is regenerated.
    """
    results = []
    score = 0
    for question in questions:
        raw = answers.get(str(question.pk), answers.get(question.pk))
        try:
            chosen = int(raw) if raw is not None and raw != "" else None
        except (TypeError, ValueError):
            chosen = None
        if chosen is not None and not 0 <= chosen < len(question.choices):
            chosen = None
        correct = chosen == question.answer_index
        score += correct
        results.append(
            {
                "question": question.pk,
                "text": question.question,
                "choices": question.choices,
                "chosen": chosen,
                "answer_index": question.answer_index,
                "correct": correct,
                "explanation": question.explanation,
                "source": {"page": question.page, "start_seconds": question.start_seconds},
            }
        )
    return QuizAttempt.objects.create(
        owner=owner, material=material, score=score, total=len(questions), results=results
    )


def content_report_create(
    *,
    reporter: User,
    reason: str,
    flashcard: Flashcard | None = None,
    question: QuizQuestion | None = None,
    material: Material | None = None,
) -> ContentReport:
    reason = (reason or "").strip()[:2000] or _("No reason given.")
    return ContentReport.objects.create(
        reporter=reporter, flashcard=flashcard, question=question, material=material, reason=reason
    )
