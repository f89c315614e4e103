"""A course student's private edits of shared cards, their reports, and what the queue skips.

A student may hide a shared card for themselves or keep their own wording of
it: only they ever see it, the teacher's later fixes still reach the sides
they left alone, and their schedule is never reset. A report of a shared card
or question goes to the course's teachers. Exam pacing and the mistakes loop
skip what is hidden from the student.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from courses.models import CourseMaterial
from courses.services import course_create, course_join, invite_create, member_remove, unit_create
from materials.models import CardState, ContentReport, Flashcard, PrivateEdit, QuizQuestion
from materials.study.selectors import due_today, flashcard_due_list, mistake_list
from materials.study.services import (
    content_report_create,
    flashcard_create,
    flashcard_review,
    flashcard_update,
    mistake_from_question,
    private_edit_save,
)
from materials.study.store import study_content_store
from materials.study.types import StudyContent
from tests.support.clients import signed_in, token_client
from tests.support.factories import UserFactory
from tests.support.reviews import many_cards

pytestmark = pytest.mark.django_db


def _join(course, user):
    return course_join(user=user, code=invite_create(course=course, by=course.owner).code)


@pytest.fixture
def shared():
    """A teacher's 3 cards in a course with two students, Anna and Boris."""
    teacher = UserFactory()
    material = many_cards(teacher, 3, title="Cells")
    course = course_create(owner=teacher, title="Biology")
    CourseMaterial.objects.create(unit=unit_create(course=course, title="Cells"), material=material)
    anna, boris = UserFactory(), UserFactory()
    _join(course, anna)
    _join(course, boris)
    cards = list(material.flashcards.order_by("position"))
    return teacher, course, material, anna, boris, cards


def _listed(user, material) -> dict[int, dict]:
    rows = token_client(user).get(f"/api/materials/{material.pk}/flashcards/").json()["results"]
    return {row["id"]: row for row in rows}


# --- 1. hiding a shared card for oneself -------------------------------------------------


def test_a_hidden_card_leaves_the_students_queue_and_counts_only(shared):
    teacher, _, material, anna, boris, cards = shared
    assert due_today(owner=anna).total == 3
    response = signed_in(anna).post(
        f"/materials/flashcards/{cards[0].pk}/private/", {"hidden": "1"}
    )
    assert response.status_code == 302

    assert due_today(owner=anna).total == 2
    assert cards[0].pk not in [c.pk for c in flashcard_due_list(owner=anna)]
    assert due_today(owner=boris).total == 3 and due_today(owner=teacher).total == 3
    # Still on the student's flashcards page, marked for them alone.
    assert _listed(anna, material)[cards[0].pk]["hidden_for_me"] is True
    assert not [row for row in _listed(boris, material).values() if row["hidden_for_me"]]
    assert (
        "data-hidden-for-me"
        in signed_in(anna).get(f"/materials/{material.pk}/flashcards/").content.decode()
    )
    for user in (teacher, boris):
        page = signed_in(user).get(f"/materials/{material.pk}/flashcards/").content.decode()
        assert "data-hidden-for-me" not in page

    signed_in(anna).post(f"/materials/flashcards/{cards[0].pk}/private/", {"hidden": "0"})
    assert due_today(owner=anna).total == 3
    assert not PrivateEdit.objects.exists()  # nothing private left, no row kept


def test_hiding_keeps_the_schedule_and_showing_again_brings_it_back(shared):
    _, _, material, anna, _, cards = shared
    flashcard_review(card=cards[0], rating=3, user=anna)
    before = CardState.objects.get(user=anna, card=cards[0])
    private_edit_save(user=anna, card=cards[0], is_hidden=True)
    later = timezone.now() + timedelta(days=60)
    assert cards[0].pk not in [c.pk for c in flashcard_due_list(owner=anna, now=later)]
    private_edit_save(user=anna, card=cards[0], is_hidden=False)
    after = CardState.objects.get(user=anna, card=cards[0])
    assert (after.due, after.stability, after.last_review) == (
        before.due,
        before.stability,
        before.last_review,
    )
    assert cards[0].pk in [c.pk for c in flashcard_due_list(owner=anna, now=later)]


def test_the_review_page_offers_hide_for_me_on_shared_cards_only(shared):
    teacher, _, material, anna, _, _ = shared
    page = signed_in(anna).get(f"/materials/review/?material={material.pk}").content.decode()
    assert "data-hide-for-me" in page
    own = signed_in(teacher).get(f"/materials/review/?material={material.pk}").content.decode()
    assert "data-hide-for-me" not in own


# --- 1. a private wording -----------------------------------------------------------------


def test_a_teachers_later_edit_reaches_the_sides_the_student_left_alone(shared):
    teacher, _, material, anna, boris, cards = shared
    flashcard_review(card=cards[0], rating=4, user=anna)
    before = CardState.objects.get(user=anna, card=cards[0])
    signed_in(anna).post(
        f"/materials/flashcards/{cards[0].pk}/private/",
        {"front": "Anna's own question", "back": ""},
    )

    flashcard_update(card=cards[0], front="Teacher's fixed question", back="Teacher's fixed answer")

    mine = _listed(anna, material)[cards[0].pk]
    assert (mine["front"], mine["back"], mine["private_text"]) == (
        "Anna's own question",
        "Teacher's fixed answer",
        True,
    )
    after = CardState.objects.get(user=anna, card=cards[0])
    assert (after.due, after.stability, after.difficulty) == (
        before.due,
        before.stability,
        before.difficulty,
    )
    theirs = _listed(boris, material)[cards[0].pk]
    assert (theirs["front"], theirs["private_text"]) == ("Teacher's fixed question", False)
    for user in (teacher, boris):
        page = signed_in(user).get(f"/materials/{material.pk}/flashcards/").content.decode()
        assert "Anna's own question" not in page and "data-private-text" not in page
    progress = signed_in(teacher).get(f"/courses/{_course_of(material).pk}/progress/")
    assert "Anna's own question" not in progress.content.decode()


def _course_of(material):
    return CourseMaterial.objects.get(material=material).unit.course


def test_regenerating_the_material_keeps_a_card_a_student_edited_privately(shared):
    _, _, material, anna, _, cards = shared
    Flashcard.objects.filter(pk__in=[c.pk for c in cards]).update(origin="generated")
    private_edit_save(user=anna, card=cards[0], front="Mine")
    empty = StudyContent(summary="", sections=[], cards=[], questions=[], generator="offline")
    study_content_store(material=material, content=empty)
    assert list(material.flashcards.values_list("pk", flat=True)) == [cards[0].pk]
    assert PrivateEdit.objects.get(user=anna).front == "Mine"


def test_the_review_shows_the_students_wording_and_the_rating_answer_too(shared):
    _, _, material, anna, _, cards = shared
    private_edit_save(user=anna, card=cards[0], back="My answer")
    page = signed_in(anna).get(f"/materials/review/?material={material.pk}").content.decode()
    assert "My answer" in page
    answer = token_client(anna).post(f"/api/flashcards/{cards[0].pk}/review/", {"rating": 3})
    assert answer.status_code == 200
    assert (answer.json()["back"], answer.json()["private_text"]) == ("My answer", True)


def test_the_private_edit_api_reads_changes_and_drops_the_students_edit(shared):
    _, _, material, anna, boris, cards = shared
    api = token_client(anna)
    url = f"/api/flashcards/{cards[1].pk}/private/"
    assert api.get(url).json() == {"hidden": False, "front": "", "back": ""}
    changed = api.patch(url, {"hidden": True, "back": "Mine"}, format="json")
    assert changed.status_code == 200
    assert changed.json() == {"hidden": True, "front": "", "back": "Mine"}
    assert token_client(boris).get(url).json() == {"hidden": False, "front": "", "back": ""}
    too_long = api.patch(url, {"front": "x" * 2001}, format="json")
    assert too_long.status_code == 400
    assert api.delete(url).status_code == 204
    assert not PrivateEdit.objects.filter(user=anna).exists()


def test_the_private_edit_is_404_for_own_cards_outsiders_and_removed_students(shared):
    teacher, course, material, anna, boris, cards = shared
    own = flashcard_create(owner=anna, material=material, front="Mine", back="Mine")
    assert token_client(anna).get(f"/api/flashcards/{own.pk}/private/").status_code == 404
    assert token_client(teacher).get(f"/api/flashcards/{cards[0].pk}/private/").status_code == 404
    assert (
        signed_in(anna)
        .post(f"/materials/flashcards/{own.pk}/private/", {"hidden": "1"})
        .status_code
        == 404
    )
    member_remove(membership=course.memberships.get(user=boris), by=teacher)
    for user in (UserFactory(), boris):
        url = f"/api/flashcards/{cards[0].pk}/private/"
        assert token_client(user).get(url).status_code == 404
        assert token_client(user).patch(url, {"hidden": True}, format="json").status_code == 404
        page = signed_in(user).post(
            f"/materials/flashcards/{cards[0].pk}/private/", {"hidden": "1"}
        )
        assert page.status_code == 404
    assert not PrivateEdit.objects.exists()


def test_a_student_of_another_course_gets_404_on_the_private_edit(shared):
    _, _, _, _, _, cards = shared
    other_teacher, other_student = UserFactory(), UserFactory()
    other = course_create(owner=other_teacher, title="Chemistry")
    CourseMaterial.objects.create(
        unit=unit_create(course=other, title="Atoms"), material=many_cards(other_teacher, 1)
    )
    _join(other, other_student)
    url = f"/api/flashcards/{cards[0].pk}/private/"
    assert token_client(other_student).get(url).status_code == 404
    assert token_client(other_student).delete(url).status_code == 404
    page = signed_in(other_student).post(
        f"/materials/flashcards/{cards[0].pk}/private/", {"reset": "1"}
    )
    assert page.status_code == 404


def test_the_schema_documents_the_private_edit_and_the_course_reports():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    text = schema.content.decode()
    assert "/api/flashcards/{id}/private/" in text
    assert "/api/courses/{id}/reports/" in text
    assert "hidden_for_me" in text


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ["Hide for me", "My wording"]), ("ru", ["Скрыть для себя", "Моя формулировка"])],
)
def test_the_private_edit_buttons_speak_russian_and_english(shared, language, words):
    _, _, material, anna, _, _ = shared
    page = signed_in(anna, language).get(f"/materials/{material.pk}/flashcards/").content.decode()
    for word in words:
        assert word in page


# --- 2. reports go to the course's teachers ---------------------------------------------


def test_a_students_report_of_a_shared_card_reaches_the_courses_teachers(shared):
    teacher, course, material, anna, _, cards = shared
    response = signed_in(anna).post(
        f"/materials/flashcards/{cards[0].pk}/report/", {"reason": "Wrong date"}
    )
    assert response.status_code == 302
    api = token_client(anna).post(f"/api/flashcards/{cards[1].pk}/report/", {"reason": "Typo"})
    assert api.status_code == 201

    page = signed_in(teacher).get(f"/courses/{course.pk}/reports/").content.decode()
    assert "Wrong date" in page and "Typo" in page and "Question 0" in page
    assert anna.email not in page  # the reporter is not named
    listed = token_client(teacher).get(f"/api/courses/{course.pk}/reports/").json()
    assert {(row["kind"], row["card"], row["reason"]) for row in listed} == {
        ("card", cards[0].pk, "Wrong date"),
        ("card", cards[1].pk, "Typo"),
    }
    assert (
        f"/courses/{course.pk}/reports/"
        in signed_in(teacher).get(f"/courses/{course.pk}/").content.decode()
    )


def test_a_students_report_of_the_shared_material_reaches_its_teachers(shared):
    teacher, course, material, anna, _, _ = shared
    page = signed_in(anna).get(f"/materials/{material.pk}/").content.decode()
    assert f"/materials/{material.pk}/report/" in page
    signed_in(anna).post(f"/materials/{material.pk}/report/", {"reason": "Page 3 is blank"})
    token_client(anna).post(
        f"/api/materials/{material.pk}/report/", {"reason": "Blurry"}, format="json"
    )
    rows = token_client(teacher).get(f"/api/courses/{course.pk}/reports/").json()
    assert sorted((row["kind"], row["material"], row["reason"]) for row in rows) == [
        ("material", material.pk, "Blurry"),
        ("material", material.pk, "Page 3 is blank"),
    ]
    assert (
        "Page 3 is blank"
        in signed_in(teacher).get(f"/courses/{course.pk}/reports/").content.decode()
    )


def test_a_teacher_sees_question_reports_and_resolves_them(shared):
    teacher, course, material, anna, _, _ = shared
    question = QuizQuestion.objects.create(
        owner=teacher,
        material=material,
        position=0,
        question="Which organelle?",
        choices=["Mitochondria", "Nucleus"],
        answer_index=0,
        generator="test",
    )
    token_client(anna).post(f"/api/quiz/questions/{question.pk}/report/", {"reason": "Two answers"})
    report = ContentReport.objects.get(question=question)
    rows = token_client(teacher).get(f"/api/courses/{course.pk}/reports/").json()
    assert [(row["kind"], row["text"]) for row in rows] == [("question", "Which organelle?")]

    resolved = token_client(teacher).post(f"/api/courses/{course.pk}/reports/{report.pk}/resolve/")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    report.refresh_from_db()
    assert report.status == ContentReport.Status.RESOLVED
    other = ContentReport.objects.create(reporter=anna, question=question, reason="Again")
    page = signed_in(teacher).post(f"/courses/reports/{other.pk}/resolve/", {"course": course.pk})
    assert page.status_code == 302
    other.refresh_from_db()
    assert other.status == ContentReport.Status.RESOLVED


def test_reports_reach_only_the_courses_teachers_and_only_its_members_reports(shared):
    teacher, course, material, anna, boris, cards = shared
    # A student's report of their own private card is theirs, not the teacher's.
    private = flashcard_create(owner=anna, material=material, front="Mine", back="Mine")
    content_report_create(reporter=anna, flashcard=private, reason="QzxPrivateReport")
    # A report from someone of another course that shares the same material.
    other = course_create(owner=teacher, title="Another class")
    CourseMaterial.objects.create(unit=unit_create(course=other, title="U"), material=material)
    stranger = UserFactory()
    _join(other, stranger)
    content_report_create(reporter=stranger, flashcard=cards[0], reason="QzxOtherClass")
    content_report_create(reporter=anna, flashcard=cards[0], reason="QzxThisClass")

    reasons = [
        row["reason"]
        for row in token_client(teacher).get(f"/api/courses/{course.pk}/reports/").json()
    ]
    assert reasons == ["QzxThisClass"]
    others = [
        row["reason"]
        for row in token_client(teacher).get(f"/api/courses/{other.pk}/reports/").json()
    ]
    assert others == ["QzxOtherClass"]
    report = ContentReport.objects.get(reason="QzxThisClass")
    for user in (anna, boris, UserFactory(), stranger):
        assert signed_in(user).get(f"/courses/{course.pk}/reports/").status_code == 404
        assert token_client(user).get(f"/api/courses/{course.pk}/reports/").status_code == 404
        url = f"/api/courses/{course.pk}/reports/{report.pk}/resolve/"
        assert token_client(user).post(url).status_code == 404
        assert signed_in(user).post(f"/courses/reports/{report.pk}/resolve/").status_code == 404
    # A report of the other class, asked for through this course: 404.
    foreign = ContentReport.objects.get(reason="QzxOtherClass")
    url = f"/api/courses/{course.pk}/reports/{foreign.pk}/resolve/"
    assert token_client(teacher).post(url).status_code == 404
    report.refresh_from_db()
    assert report.status == ContentReport.Status.OPEN


def test_an_outsider_cannot_report_a_courses_card(shared):
    _, _, _, _, _, cards = shared
    outsider = UserFactory()
    assert token_client(outsider).post(f"/api/flashcards/{cards[0].pk}/report/").status_code == 404
    assert (
        signed_in(outsider).post(f"/materials/flashcards/{cards[0].pk}/report/").status_code == 404
    )
    assert not ContentReport.objects.exists()


# --- 3. exam plans and the mistakes loop skip what is hidden from the student -----------


def _tomorrow_at_nine() -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time(9)))


def test_exam_plans_leave_out_cards_hidden_by_the_teacher_a_moderator_or_the_student(shared):
    teacher, course, material, anna, boris, cards = shared
    extra = many_cards(teacher, 2, title="Hidden material")
    extra.is_hidden = True
    extra.save(update_fields=["is_hidden"])
    CourseMaterial.objects.create(unit=course.units.get(), material=extra)
    course.exam_date = _tomorrow_at_nine().date() + timedelta(days=20)
    course.save(update_fields=["exam_date"])
    now = _tomorrow_at_nine()
    assert due_today(owner=anna, now=now).exams[0].unlearned == 3

    flashcard_update(card=cards[0], is_suspended=True)  # the teacher hides it from the class
    Flashcard.objects.filter(pk=cards[1].pk).update(is_hidden=True)  # a moderator hides it
    extra_card = many_cards(teacher, 1, title="x").flashcards.get()
    Flashcard.objects.filter(pk=extra_card.pk).update(material=material, position=9)
    private_edit_save(user=anna, card=extra_card, is_hidden=True)  # the student hides it

    plan = due_today(owner=anna, now=now).exams[0]
    assert plan.unlearned == 1  # cards[2] alone
    assert [c.pk for c in flashcard_due_list(owner=anna, now=now)] == [cards[2].pk]
    assert due_today(owner=boris, now=now).exams[0].unlearned == 2  # cards[2] and extra_card


def test_the_mistakes_loop_skips_cards_suspended_or_hidden_for_the_student(shared):
    teacher, _, material, anna, _, cards = shared
    questions = [
        QuizQuestion.objects.create(
            owner=teacher,
            material=material,
            position=number,
            question=f"Asked {number}?",
            choices=[f"Answer {number}", "Other"],
            answer_index=0,
            generator="test",
        )
        for number in range(2)
    ]
    flashcard_update(card=cards[0], is_suspended=True)
    private_edit_save(user=anna, card=cards[1], is_hidden=True)

    brought = [mistake_from_question(owner=anna, question=q) for q in questions]

    # Neither hidden card came back: the student got cards of their own instead.
    assert [card.owner_id for card in brought] == [anna.pk, anna.pk]
    assert not CardState.objects.filter(card__in=cards[:2], mistake_at__isnull=False).exists()
    assert {c.pk for c in mistake_list(owner=anna)} == {card.pk for card in brought}
    # A teacher's own suspended card does not come back for them either.
    assert mistake_from_question(owner=teacher, question=questions[0]).pk != cards[0].pk
