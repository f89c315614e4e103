"""The owner's quiz question editor: a fix reaches every student, their history stays.

Only the material's owner edits or hides its questions, as with its cards: a
course's co-teacher who does not own the material, a student, a removed
student and an outsider all get 404. An edit never rewrites attempts, and a
course's "most picked wrong choice" reads each pick by the text the student
saw, so reordering or rewording the choices cannot move an old pick.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from courses.models import CourseMaterial
from courses.progress import course_progress
from courses.services import (
    course_create,
    course_join,
    invite_create,
    member_remove,
    member_set_role,
    unit_create,
)
from materials.models import CardState, QuizAttempt, QuizQuestion
from materials.study.questions import question_update
from materials.study.services import (
    content_report_create,
    flashcard_review,
    quiz_attempt_create,
)
from materials.study.store import study_content_store
from materials.study.types import StudyContent
from tests.support.clients import signed_in, token_client
from tests.support.factories import UserFactory
from tests.support.reviews import many_cards

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A teacher's material (a card and a question) in a course: two students, a
    co-teacher, a removed student and an outsider."""
    teacher = UserFactory()
    material = many_cards(teacher, 1, title="Cells")
    course = course_create(owner=teacher, title="Biology")
    CourseMaterial.objects.create(unit=unit_create(course=course, title="Cells"), material=material)
    question = QuizQuestion.objects.create(
        owner=teacher,
        material=material,
        position=0,
        question="What stores energy?",
        choices=["ATP", "DNA", "RNA"],
        answer_index=0,
        explanation="ATP is the cell's currency.",
        generator="offline",
        page=1,
    )
    users = {name: UserFactory() for name in ("anna", "boris", "coteacher", "removed", "outsider")}
    for name in ("anna", "boris", "coteacher", "removed"):
        course_join(user=users[name], code=invite_create(course=course, by=teacher).code)
    member_set_role(
        membership=course.memberships.get(user=users["coteacher"]), role="teacher", by=teacher
    )
    member_remove(membership=course.memberships.get(user=users["removed"]), by=teacher)
    return {"teacher": teacher, "material": material, "course": course, "q": question, **users}


def _form(text: str, choices: list[str], correct: int | None, explanation: str = "") -> dict:
    data = {"question": text, "explanation": explanation}
    data.update({f"choice-{i}": choice for i, choice in enumerate(choices)})
    if correct is not None:
        data["correct"] = str(correct)
    return data


def test_the_owners_edit_reaches_every_student_without_resetting_schedules(world):
    anna, material, q = world["anna"], world["material"], world["q"]
    card = material.flashcards.get()
    flashcard_review(card=card, rating=3, user=anna)
    before = CardState.objects.get(user=anna, card=card)

    response = signed_in(world["teacher"]).post(
        f"/materials/questions/{q.pk}/edit/",
        _form("Which molecule stores energy?", ["DNA", "ATP", "", "Glucose"], 1, "Fixed."),
    )

    assert response.status_code == 302
    q.refresh_from_db()
    assert (q.question, q.choices, q.answer_index, q.explanation) == (
        "Which molecule stores energy?",
        ["DNA", "ATP", "Glucose"],
        1,
        "Fixed.",
    )
    assert q.edited_at is not None
    for student in ("anna", "boris"):
        page = signed_in(world[student]).get(f"/materials/{material.pk}/quiz/").content.decode()
        assert "Which molecule stores energy?" in page and "Glucose" in page
        quiz = token_client(world[student]).get(f"/api/materials/{material.pk}/quiz/").json()
        assert quiz["questions"][0]["choices"] == ["DNA", "ATP", "Glucose"]
    after = CardState.objects.get(user=anna, card=card)
    assert (after.due, after.stability, after.state) == (before.due, before.stability, before.state)


@pytest.mark.parametrize(
    ("language", "form", "message"),
    [
        ("en", _form("Q?", ["ATP", "", ""], 0), "at least two choices"),
        ("ru", _form("Q?", ["ATP", "", ""], 0), "не меньше двух вариантов"),
        ("en", _form("Q?", ["ATP", "atp "], 0), "Two choices say the same thing."),
        ("ru", _form("Q?", ["ATP", "atp "], 0), "Два варианта ответа совпадают."),
        ("en", _form("Q?", ["ATP", "DNA"], None), "Mark the one correct choice."),
        ("ru", _form("Q?", ["ATP", "DNA"], None), "Отметьте один правильный вариант"),
        ("en", _form("Q?", ["ATP", "DNA", ""], 2), "Every choice needs some text."),
        ("ru", _form("  ", ["ATP", "DNA"], 0), "У вопроса должен быть текст."),
    ],
)
def test_a_bad_edit_is_refused_and_says_why(world, language, form, message):
    q = world["q"]
    response = signed_in(world["teacher"], language).post(
        f"/materials/questions/{q.pk}/edit/", form
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    q.refresh_from_db()
    unchanged = ("What stores energy?", ["ATP", "DNA", "RNA"], 0)
    assert (q.question, q.choices, q.answer_index) == unchanged


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Edit question", "Explanation (optional)", "Hide from the quiz", "Choice 1"]),
        ("ru", ["Изменить вопрос", "Пояснение (необязательно)", "Скрыть из теста", "Вариант 1"]),
    ],
)
def test_the_editor_and_the_quizs_edit_link_speak_both_languages(world, language, words):
    q, material = world["q"], world["material"]
    page = signed_in(world["teacher"], language).get(f"/materials/questions/{q.pk}/edit/")
    assert page.status_code == 200
    text = page.content.decode()
    assert all(word in text for word in words), [w for w in words if w not in text]
    assert "ATP is the cell&#x27;s currency." in text
    quiz = (
        signed_in(world["teacher"], language)
        .get(f"/materials/{material.pk}/quiz/")
        .content.decode()
    )
    assert "data-question-edit" in quiz
    student_quiz = signed_in(world["anna"], language).get(f"/materials/{material.pk}/quiz/")
    assert "data-question-edit" not in student_quiz.content.decode()


@pytest.mark.parametrize("who", ["anna", "coteacher", "removed", "outsider"])
def test_nobody_but_the_owner_edits_or_hides_a_question(world, who):
    q = world["q"]
    web, api = signed_in(world[who]), token_client(world[who])
    assert web.get(f"/materials/questions/{q.pk}/edit/").status_code == 404
    edit = _form("Hacked", ["A", "B"], 0)
    assert web.post(f"/materials/questions/{q.pk}/edit/", edit).status_code == 404
    assert web.post(f"/materials/questions/{q.pk}/hide/").status_code == 404
    assert api.get(f"/api/quiz/questions/{q.pk}/").status_code == 404
    patch = {"question": "Hacked", "hidden": True}
    assert api.patch(f"/api/quiz/questions/{q.pk}/", patch, format="json").status_code == 404
    q.refresh_from_db()
    assert (q.question, q.is_suspended) == ("What stores energy?", False)


def test_a_hidden_question_leaves_every_quiz_and_the_moodle_exports(world):
    q, material, course, teacher = world["q"], world["material"], world["course"], world["teacher"]
    owner = signed_in(teacher)
    assert owner.post(f"/materials/questions/{q.pk}/hide/").status_code == 302
    q.refresh_from_db()
    assert q.is_suspended

    for student in ("anna", "boris"):
        assert (
            "What stores energy?"
            not in signed_in(world[student]).get(f"/materials/{material.pk}/quiz/").content.decode()
        )
        quiz = token_client(world[student]).get(f"/api/materials/{material.pk}/quiz/").json()
        assert quiz["questions"] == []
    for fmt in ("moodle-xml", "gift"):
        body = owner.get(f"/courses/{course.pk}/export/{fmt}/").content.decode()
        assert "What stores energy?" not in body
    # The owner finds it under "Hidden from the quiz" and shows it again.
    quiz_page = signed_in(teacher, "ru").get(f"/materials/{material.pk}/quiz/").content.decode()
    assert "Скрыто из теста" in quiz_page and "What stores energy?" in quiz_page
    response = token_client(teacher).patch(
        f"/api/quiz/questions/{q.pk}/", {"hidden": False}, "json"
    )
    assert response.status_code == 200 and response.json()["hidden"] is False
    assert "What stores energy?" in owner.get(f"/courses/{course.pk}/export/gift/").content.decode()
    assert (
        "What stores energy?"
        in signed_in(world["anna"]).get(f"/materials/{material.pk}/quiz/").content.decode()
    )


def test_the_api_edits_with_the_same_rules_and_is_in_the_schema(world):
    q, teacher = world["q"], world["teacher"]
    api = token_client(teacher)
    url = f"/api/quiz/questions/{q.pk}/"
    assert api.get(url).json()["answer_index"] == 0

    # New choices without the correct one's index: the old index may name another.
    refused = api.patch(url, {"choices": ["RNA", "ATP"]}, format="json")
    assert refused.status_code == 400
    assert "Mark the one correct choice." in str(refused.json())
    duplicate = api.patch(url, {"choices": ["ATP", "ATP"], "answer_index": 0}, format="json")
    assert duplicate.status_code == 400
    ok = api.patch(
        url, {"question": "Energy?", "choices": ["RNA", "ATP"], "answer_index": 1}, format="json"
    )
    assert ok.status_code == 200
    assert (ok.json()["question"], ok.json()["choices"], ok.json()["answer_index"]) == (
        "Energy?",
        ["RNA", "ATP"],
        1,
    )
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/quiz/questions/{id}/" in schema
    assert "QuestionEdit" in schema


def test_earlier_attempts_and_the_lure_stay_as_the_students_saw_them(world):
    """Rule: a pick is read by its text in the attempt, never by its index into the
    current choices (materials.study.questions)."""
    q, material, course = world["q"], world["material"], world["course"]
    anna, boris = world["anna"], world["boris"]
    # Anna picks "DNA" (index 1) before the edit.
    attempt = quiz_attempt_create(
        owner=anna, material=material, questions=[q], answers={str(q.pk): 1}
    )
    # The owner reorders: "DNA" is now index 2, index 1 is "ATP", the correct one.
    question_update(question=q, choices=["RNA", "ATP", "DNA"], answer_index=1)
    # Boris picks "DNA" at its new place.
    quiz_attempt_create(owner=boris, material=material, questions=[q], answers={str(q.pk): 2})

    attempt.refresh_from_db()
    result = attempt.results[0]
    assert (result["choices"], result["chosen"], result["correct"]) == (
        ["ATP", "DNA", "RNA"],
        1,
        False,
    )
    page = signed_in(anna).get(f"/materials/quiz/attempts/{attempt.pk}/").content.decode()
    assert "What stores energy?" in page and "DNA" in page
    assert QuizAttempt.objects.filter(owner=anna).get().score == 0

    (unit,) = course_progress(course=course).units
    (missed,) = unit.missed
    # Both wrong picks were "DNA": read by index into the new choices, Anna's
    # would have turned into "ATP", the correct answer.
    assert (missed.wrong_choice, missed.wrong_choice_count, missed.wrong) == ("DNA", 2, 2)
    progress = signed_in(world["teacher"]).get(f"/courses/{course.pk}/progress/").content.decode()
    assert "DNA" in progress


def test_a_reported_question_is_fixed_from_the_course_reports(world):
    q, course = world["q"], world["course"]
    content_report_create(reporter=world["anna"], question=q, reason="Two answers fit")
    for language, label in (("en", "Fix the question"), ("ru", "Исправить вопрос")):
        page = signed_in(world["teacher"], language).get(f"/courses/{course.pk}/reports/")
        text = page.content.decode()
        assert label in text and f"/materials/questions/{q.pk}/edit/" in text
    # A co-teacher sees the report, but the fix is the owner's, as with cards.
    coteacher = signed_in(world["coteacher"]).get(f"/courses/{course.pk}/reports/").content.decode()
    assert "Two answers fit" in coteacher and "data-fix-question" not in coteacher

    reports = f"/courses/{course.pk}/reports/"
    response = signed_in(world["teacher"]).post(
        f"/materials/questions/{q.pk}/edit/",
        {**_form("Which one stores energy?", ["ATP", "DNA"], 0), "next": reports},
    )
    assert response.status_code == 302 and response["Location"] == reports
    assert (
        "Which one stores energy?"
        in signed_in(world["anna"]).get(f"/materials/{world['material'].pk}/quiz/").content.decode()
    )


def test_a_regeneration_keeps_the_owners_edited_question(world):
    q, material = world["q"], world["material"]
    question_update(question=q, text="My own wording?", choices=["A", "B"], answer_index=1)
    QuizQuestion.objects.create(
        owner=world["teacher"],
        material=material,
        position=1,
        question="Untouched?",
        choices=["x", "y"],
        answer_index=0,
        generator="offline",
    )
    empty = StudyContent(summary="", sections=[], cards=[], questions=[], generator="offline")
    study_content_store(material=material, content=empty)

    kept = list(material.quiz_questions.values_list("question", "is_retired"))
    assert kept == [("My own wording?", False)]
    assert q.edited_at is not None and q.edited_at <= timezone.now()
