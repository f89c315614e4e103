"""Each course student keeps their own schedule on the teacher's shared cards."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from courses.models import CourseMaterial
from courses.services import course_create, course_join, invite_create, unit_create
from materials.models import (
    CardState,
    Flashcard,
    NoteSection,
    QuizAttempt,
    QuizQuestion,
    ReviewLog,
)
from materials.study.selectors import due_today, flashcard_due_list, new_cards_started_today
from materials.study.services import flashcard_review, flashcard_update
from tests.support.clients import token_client
from tests.support.factories import UserFactory
from tests.support.reviews import many_cards

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared():
    teacher = UserFactory()
    material = many_cards(teacher, 5, title="Cells")
    course = course_create(owner=teacher, title="Biology")
    unit = unit_create(course=course, title="Cells")
    CourseMaterial.objects.create(unit=unit, material=material)
    students = [UserFactory(), UserFactory()]
    for student in students:
        course_join(user=student, code=invite_create(course=course, by=teacher).code)
    return teacher, material, students


def test_a_students_review_moves_only_their_state(shared):
    teacher, material, (anna, boris) = shared
    card = material.flashcards.order_by("position").first()
    teacher_due = card.due
    seen = flashcard_review(card=card, rating=3, user=anna)

    card.refresh_from_db()
    assert card.due == teacher_due and card.last_review is None  # the teacher's schedule
    state = CardState.objects.get(user=anna, card=card)
    assert state.last_review is not None and seen.due == state.due
    assert not CardState.objects.filter(user=boris).exists()
    assert ReviewLog.objects.get(card=card).user == anna
    assert new_cards_started_today(owner=anna) == 1
    assert new_cards_started_today(owner=teacher) == 0


def test_a_teachers_edit_reaches_students_without_resetting_them(shared):
    teacher, material, (anna, _) = shared
    card = material.flashcards.order_by("position").first()
    flashcard_review(card=card, rating=4, user=anna)
    before = CardState.objects.get(user=anna, card=card)
    flashcard_update(card=card, front="What is a cell?", back="The unit of life.")
    after = CardState.objects.get(user=anna, card=card)
    assert (after.due, after.stability) == (before.due, before.stability)
    assert Flashcard.objects.get(pk=card.pk).front == "What is a cell?"


def test_students_review_shared_cards_over_the_api_and_a_stranger_gets_404(shared):
    _, material, (anna, _) = shared
    card = material.flashcards.order_by("position").first()
    answer = token_client(anna).post(
        f"/api/flashcards/{card.pk}/review/", {"rating": 3}, format="json"
    )
    assert answer.status_code == 200
    assert CardState.objects.filter(user=anna, card=card).count() == 1
    stranger = token_client(UserFactory())
    answer = stranger.post(f"/api/flashcards/{card.pk}/review/", {"rating": 3}, format="json")
    assert answer.status_code == 404
    assert not CardState.objects.exclude(user=anna).exists()


def test_the_data_migration_keeps_every_owners_schedule(user):
    material = many_cards(user, 12)
    now = timezone.now()
    for number, card in enumerate(material.flashcards.order_by("position")[:6]):
        flashcard_review(card=card, rating=1 + number % 4, now=now - timedelta(days=3))
    Flashcard.objects.filter(pk=material.flashcards.last().pk).update(mistake_at=now)
    queue_before = [(c.pk, c.due) for c in flashcard_due_list(owner=user, now=now)]
    CardState.objects.all().delete()
    ReviewLog.objects.update(user=None)

    migration = importlib.import_module("materials.migrations.0017_card_state")
    migration.owners_state_to_card_state(apps, None)

    for card in Flashcard.objects.filter(material=material):
        state = CardState.objects.get(user=user, card=card)
        fields = ("state", "step", "stability", "difficulty", "due", "last_review", "mistake_at")
        assert [getattr(state, f) for f in fields] == [getattr(card, f) for f in fields]
    assert not ReviewLog.objects.filter(user__isnull=True).exists()
    assert [(c.pk, c.due) for c in flashcard_due_list(owner=user, now=now)] == queue_before


def test_due_today_mixes_own_and_course_cards_under_one_new_card_limit(shared):
    _, material, (anna, boris) = shared
    own = many_cards(anna, 18, title="My notes")
    queue = list(flashcard_due_list(owner=anna))
    assert len(queue) == 20  # one day's new cards, taken from both
    assert {card.material_id for card in queue} == {material.pk, own.pk}
    assert due_today(owner=anna).new_waiting == 3

    for card in queue[:20]:
        flashcard_review(card=card, rating=3, user=anna, now=timezone.now() - timedelta(days=9))
    # Started on earlier days: today's places are intact, and each card is due again.
    due = due_today(owner=anna)
    assert (due.reviews, due.new) == (20, 3)
    # The classmate's queue is untouched: all five shared cards are new to them.
    assert due_today(owner=boris).new == 5


def test_a_student_started_today_counts_against_their_one_daily_limit(shared):
    _, material, (anna, _) = shared
    many_cards(anna, 30, title="My notes")
    for card in material.flashcards.all():
        flashcard_review(card=card, rating=3, user=anna)
    assert due_today(owner=anna).new_left == 15


def test_a_student_asking_for_a_classmates_attempt_or_card_state_gets_404(shared):
    teacher, material, (anna, boris) = shared
    card = material.flashcards.order_by("position").first()
    flashcard_review(card=card, rating=2, user=anna)
    attempt = QuizAttempt.objects.create(owner=anna, material=material, score=1, total=2)
    assert token_client(anna).get(f"/api/quiz/attempts/{attempt.pk}/").status_code == 200
    for other in (boris, teacher):
        assert token_client(other).get(f"/api/quiz/attempts/{attempt.pk}/").status_code == 404
        web = Client()
        web.force_login(other)
        assert web.get(f"/materials/quiz/attempts/{attempt.pk}/").status_code == 404
        # Anna's schedule is hers: the card is still new to the others.
        assert card.pk in {c.pk for c in flashcard_due_list(owner=other)}
        assert not CardState.objects.filter(user=other, card=card).exists()
    assert due_today(owner=boris).reviews == 0


def test_a_student_takes_the_shared_quiz_read_only_and_keeps_the_attempt(shared):
    teacher, material, (anna, boris) = shared
    QuizQuestion.objects.create(
        owner=teacher,
        material=material,
        position=0,
        question="What is the unit of life?",
        choices=["The cell", "The atom"],
        answer_index=0,
        generator="test",
    )
    web = Client()
    web.force_login(anna)
    page = web.get(f"/materials/{material.pk}/quiz/")
    assert page.status_code == 200
    assert f"/materials/{material.pk}/delete/" not in page.content.decode()
    question = material.quiz_questions.get()
    web.post(f"/materials/{material.pk}/quiz/", {f"q{question.pk}": "1"})
    attempt = QuizAttempt.objects.get(owner=anna)
    assert (attempt.score, attempt.total) == (0, 1)
    # The missed question, drawn from no card, makes a card that is anna's alone.
    assert Flashcard.objects.get(owner=anna).material_id == material.pk
    assert not Flashcard.objects.filter(owner=boris).exists()
    assert not QuizAttempt.objects.filter(owner__in=[teacher, boris]).exists()


def test_a_student_reads_the_shared_notes_without_owner_actions(shared):
    teacher, material, (anna, _) = shared
    NoteSection.objects.create(
        material=material, position=0, heading="Cells", points=[{"text": "A cell."}], generator="t"
    )
    web = Client()
    web.force_login(anna)
    page = web.get(f"/materials/{material.pk}/notes/")
    assert page.status_code == 200 and "A cell." in page.content.decode()
    assert "/export/" not in page.content.decode()
    assert f"/materials/{material.pk}/delete/" not in page.content.decode()
    web.force_login(UserFactory())
    assert web.get(f"/materials/{material.pk}/notes/").status_code == 404


def test_a_student_sees_the_shared_flashcards_without_owner_actions(shared):
    teacher, material, (anna, _) = shared
    card = material.flashcards.order_by("position").first()
    web = Client()
    web.force_login(anna)
    page = web.get(f"/materials/{material.pk}/flashcards/")
    body = page.content.decode()
    assert page.status_code == 200 and card.front in body
    for owner_only in ("/edit/", "/delete/", "/suspend/", "/export/markdown/", "/flashcards/add/"):
        assert owner_only not in body
    # The cards' downloads are the student's too, as they study them.
    assert f"/materials/{material.pk}/export/csv/" in body
    web.force_login(teacher)
    assert (
        f"/flashcards/{card.pk}/edit/"
        in web.get(f"/materials/{material.pk}/flashcards/").content.decode()
    )
