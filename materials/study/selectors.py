"""Reads on study content. Every selector takes the owner."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from materials.models import (
    Flashcard,
    Material,
    NoteSection,
    QuizAttempt,
    QuizQuestion,
    StudySet,
)


def study_set_get(*, owner: User, material: Material) -> StudySet | None:
    if material.owner_id != owner.pk:
        return None
    return StudySet.objects.filter(material=material).first()


def note_section_list(*, owner: User, material: Material) -> QuerySet[NoteSection]:
    return NoteSection.objects.filter(
        material=material, material__owner=owner, material__is_hidden=False
    ).order_by("position")


def flashcard_list(
    *, owner: User, material: Material | None = None, include_suspended: bool = True
) -> QuerySet[Flashcard]:
    cards = Flashcard.objects.filter(owner=owner, is_hidden=False, material__is_hidden=False)
    if material is not None:
        cards = cards.filter(material=material)
    if not include_suspended:
        cards = cards.filter(is_suspended=False)
    return cards.select_related("material").order_by("material", "position", "id")


def flashcard_due_list(
    *, owner: User, now: datetime | None = None, material: Material | None = None
) -> QuerySet[Flashcard]:
    """Cards due by the end of today, across all the owner's materials, oldest first."""
    now = now or timezone.now()
    end_of_day = timezone.localtime(now).replace(hour=23, minute=59, second=59, microsecond=0)
    return (
        flashcard_list(owner=owner, material=material, include_suspended=False)
        .filter(due__lte=end_of_day)
        .order_by("due", "id")
    )


def quiz_question_list(*, owner: User, material: Material | None = None) -> QuerySet[QuizQuestion]:
    questions = QuizQuestion.objects.filter(
        owner=owner, is_hidden=False, is_retired=False, material__is_hidden=False
    )
    if material is not None:
        questions = questions.filter(material=material)
    return questions.order_by("material", "position")


def quiz_attempt_list(*, owner: User, material: Material | None = None) -> QuerySet[QuizAttempt]:
    attempts = QuizAttempt.objects.filter(owner=owner, material__is_hidden=False)
    if material is not None:
        attempts = attempts.filter(material=material)
    return attempts.select_related("material").order_by("-created_at", "-id")
