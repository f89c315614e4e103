"""A course studied by two students, for the teacher's progress view.

Two units: "Cells" (due yesterday, four shared cards and a hidden one) and
"Genes" (no due date, two cards and a quiz with a hidden question). Anna and
Boris study them through the real services; Carl studied too before the
teacher removed him, Anna has a private card on the shared material, and the
teacher reviews their own card: none of that may count.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone

from courses.models import CourseMaterial, Membership
from courses.services import (
    course_create,
    course_join,
    invite_create,
    member_remove,
    member_set_role,
    unit_create,
)
from materials.models import Flashcard, QuizQuestion
from materials.study.services import flashcard_create, flashcard_review, quiz_attempt_create
from tests.support.factories import UserFactory
from tests.support.reviews import many_cards

AGAIN, EASY = 1, 4


def _question(teacher, material, position: int, choices: list[str], answer: int, **extra):
    return QuizQuestion.objects.create(
        owner=teacher,
        material=material,
        position=position,
        question=f"Question {position} about genes?",
        choices=choices,
        answer_index=answer,
        generator="test",
        **extra,
    )


def progress_course() -> SimpleNamespace:
    """The course of the progress tests, studied through the real services."""
    teacher, co_teacher, outsider = UserFactory(), UserFactory(), UserFactory()
    anna = UserFactory(first_name="Анна", last_name="Петрова")
    boris, carl = UserFactory(), UserFactory()
    today = timezone.localdate()
    course = course_create(owner=teacher, title="Biology")
    cells_unit = unit_create(course=course, title="Cells", due_date=today - timedelta(days=1))
    genes_unit = unit_create(course=course, title="Genes")
    cells = many_cards(teacher, 4, title="Cells")
    hidden = flashcard_create(owner=teacher, material=cells, front="Hidden card", back="x")
    Flashcard.objects.filter(pk=hidden.pk).update(is_hidden=True)
    genes = many_cards(teacher, 2, title="Genes")
    CourseMaterial.objects.create(unit=cells_unit, material=cells)
    CourseMaterial.objects.create(unit=genes_unit, material=genes)
    code = invite_create(course=course, by=teacher).code
    for user in (co_teacher, anna, boris, carl):
        course_join(user=user, code=code)
    member_set_role(
        membership=Membership.objects.get(course=course, user=co_teacher),
        role=Membership.Role.TEACHER,
        by=teacher,
    )
    card = list(cells.flashcards.filter(is_hidden=False).order_by("position"))
    now = timezone.now()

    def review(user, index: int, rating: int, minutes_ago: float) -> None:
        when = now - timedelta(minutes=minutes_ago)
        flashcard_review(card=card[index], rating=rating, user=user, now=when)

    for index in (0, 1, 2):
        review(anna, index, EASY, 50)
    review(anna, 3, AGAIN, 50)
    review(anna, 3, AGAIN, 40)
    review(boris, 0, AGAIN, 50)
    review(boris, 0, EASY, 30)
    review(boris, 1, AGAIN, 40 * 24 * 60)  # outside the 30 days of retention
    review(boris, 1, EASY, 30)
    review(boris, 2, EASY, 30)
    review(boris, 3, AGAIN, 50)
    review(boris, 3, EASY, 30)
    review(carl, 1, AGAIN, 50)
    review(teacher, 2, AGAIN, 50)
    private = flashcard_create(owner=anna, material=cells, front="Anna's private card", back="x")
    flashcard_review(card=private, rating=AGAIN, user=anna, now=now - timedelta(minutes=45))

    lure = _question(teacher, genes, 0, ["Right", "Lure", "Other"], 0)
    second = _question(teacher, genes, 1, ["x", "y"], 1)
    hidden_question = _question(teacher, genes, 2, ["a", "b"], 0, is_hidden=True)
    quiz = [lure, second, hidden_question]

    def attempt(user, answers: dict) -> None:
        quiz_attempt_create(owner=user, material=genes, questions=quiz, answers=answers)

    attempt(anna, {lure.pk: 1, second.pk: 1, hidden_question.pk: 1})
    attempt(boris, {lure.pk: 1, second.pk: 0})
    attempt(boris, {lure.pk: 2})
    attempt(carl, {lure.pk: 2, second.pk: 0})
    member_remove(membership=Membership.objects.get(course=course, user=carl), by=teacher)
    return SimpleNamespace(
        teacher=teacher,
        co_teacher=co_teacher,
        outsider=outsider,
        anna=anna,
        boris=boris,
        carl=carl,
        course=course,
        cards=card,
        lure=lure,
        second=second,
    )
