"""A class of thirty joins by link and studies the teacher's three materials: no job is queued.

The classroom promise: "A teacher with 3 processed materials and 30 students
joining by link. Every student reviews, takes the quiz and asks the tutor,
and no processing job runs for any of them (counted in RQ)." What a material
is stays stored once; each student's reviews, attempts and conversations are
their own rows, so nothing needs a worker. Every request goes through the real
views, and every on-commit callback runs, so a job queued after commit would
land in Valkey and be counted here.
"""

from __future__ import annotations

import django_rq
import pytest
from django.test import Client
from rest_framework.test import APIClient

from courses.models import CourseMaterial, Membership
from courses.services import course_create, invite_create, unit_create
from materials.models import Chunk, QuizAttempt, QuizQuestion, ReviewLog
from materials.study.services import flashcard_create
from tests.support.factories import UserFactory
from tests.support.processes import worker_queues
from tutor.models import Message

pytestmark = pytest.mark.django_db

STUDENTS = 30
MATERIALS = {
    "Cells": [
        "The mitochondria is the powerhouse of the cell. It makes ATP by respiration.",
        "The nucleus holds the cell's DNA. The nuclear envelope has pores.",
    ],
    "Matrices": [
        "The function solve(a, b) solves the equation a x = b. Without b it returns the inverse.",
        "Eigenvalues of a symmetric matrix are real. The function eigen computes them.",
    ],
    "Rivers": [
        "The Volga is the longest river in Europe. It flows into the Caspian Sea.",
        "A river delta forms where a river deposits sediment at its mouth.",
    ],
}
QUESTIONS = {
    "Cells": "What makes ATP in the cell?",
    "Matrices": "What does solve return without b?",
    "Rivers": "Where does the Volga flow?",
}


def _jobs() -> dict[str, list[str]]:
    """Every RQ job in the test Valkey database, by function: queued, running, done or failed.

    RQ keeps one `rq:job:<id>` hash per job it was ever given (until its result
    expires, far longer than a test), so this counts jobs enqueued, not only
    those still waiting.
    """
    connection = django_rq.get_connection("default")
    found: dict[str, list[str]] = {}
    for key in connection.scan_iter(match="rq:job:*"):
        name = key.decode()
        if name.count(":") != 2:  # rq:job:<id>:dependents and the like
            continue
        func = connection.hget(key, "description") or b"?"
        found.setdefault(func.decode(), []).append(name)
    return found


def _waiting() -> int:
    return sum(queue.count for queue in worker_queues())


@pytest.fixture
def classroom(indexed):
    """A teacher's course of three ready materials, two cards and two questions each."""
    teacher = UserFactory()
    course = course_create(owner=teacher, title="Science")
    materials = {}
    for position, (title, texts) in enumerate(MATERIALS.items()):
        material = indexed(teacher, texts, title=title)
        for number, text in enumerate(texts):
            flashcard_create(
                owner=teacher, material=material, front=f"{title} {number}?", back=text
            )
            QuizQuestion.objects.create(
                owner=teacher,
                material=material,
                position=number,
                question=f"{title}: which is true ({number})?",
                choices=[text, "None of these"],
                answer_index=0,
                generator="test",
            )
        unit = unit_create(course=course, title=title)
        CourseMaterial.objects.create(unit=unit, material=material, position=position)
        materials[title] = material
    code = invite_create(course=course, by=teacher).code
    return course, materials, code


def _study(student, code: str, materials: dict, turn: int) -> None:
    """One student's session: join by the link, review, take a quiz, ask the tutor."""
    web = Client()
    web.force_login(student)
    api = APIClient()
    api.force_login(student)

    assert web.get(f"/courses/join/{code}/").status_code == 200
    joined = web.post(f"/courses/join/{code}/")
    assert joined.status_code == 302, joined.content[:300]

    title = list(materials)[turn % len(materials)]
    material = materials[title]
    cards = api.get(f"/api/materials/{material.pk}/flashcards/").json()["results"]
    review = web.post(
        f"/materials/flashcards/{cards[0]['id']}/review/",
        {"rating": 1 + turn % 4, "material": material.pk},
    )
    assert review.status_code in (200, 302), review.status_code

    quiz = api.get(f"/api/materials/{material.pk}/quiz/").json()["questions"]
    attempt = api.post(
        f"/api/materials/{material.pk}/quiz/attempts/",
        {"answers": {str(q["id"]): turn % 2 for q in quiz}},
        format="json",
    )
    assert attempt.status_code == 201, attempt.content[:300]

    conversation = api.post("/api/tutor/conversations/", {"material": None}, format="json")
    assert conversation.status_code == 201
    answer = api.post(
        f"/api/tutor/conversations/{conversation.json()['id']}/messages/",
        {"content": QUESTIONS[title]},
        format="json",
    )
    assert answer.status_code == 201, answer.content[:300]
    assert material.pk in [c["material"] for c in answer.json()["citations"]]


def test_thirty_students_study_with_no_job_queued_and_their_teacher_sees_them(
    classroom, django_capture_on_commit_callbacks
):
    course, materials, code = classroom
    chunks_before = Chunk.objects.count()
    jobs_before = _jobs()
    students = [UserFactory() for _ in range(STUDENTS)]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for turn, student in enumerate(students):
            _study(student, code, materials, turn)

    assert _jobs() == jobs_before, "a student's request queued a job"
    assert _waiting() == 0
    assert Chunk.objects.count() == chunks_before  # nothing copied per student
    joined = Membership.objects.filter(course=course, role=Membership.Role.STUDENT)
    assert joined.count() == STUDENTS
    assert ReviewLog.objects.filter(user__in=students).count() == STUDENTS
    assert QuizAttempt.objects.filter(owner__in=students).count() == STUDENTS
    answers = Message.objects.filter(conversation__owner__in=students, role="assistant")
    assert answers.count() == STUDENTS
    assert callbacks == []  # nothing was even scheduled to run after commit

    # The teacher's progress page counts each unit's ten students' answers.
    teacher = Client()
    teacher.force_login(course.owner)
    page = teacher.get(f"/courses/{course.pk}/progress/")
    assert page.status_code == 200
    progress = page.context["progress"]
    assert progress.student_count == STUDENTS
    for index, unit in enumerate(progress.units):
        turns = [turn for turn in range(STUDENTS) if turn % len(MATERIALS) == index]
        assert unit.reviews == len(turns)
        assert unit.again == sum(turn % 4 == 0 for turn in turns)  # rating 1: "Again"
        assert unit.quiz_answers == 2 * len(turns)
        assert unit.quiz_wrong == 2 * sum(turn % 2 for turn in turns)


def test_the_job_count_sees_a_job_queued_after_commit(django_capture_on_commit_callbacks):
    """The no-job check can fail: a job queued after commit is counted."""
    from eduplatform.queue import enqueue_on_commit

    before = _jobs()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit("builtins.print", "x", job_id="class-of-thirty", on_unreachable=print)
    after = _jobs()
    assert sum(map(len, after.values())) == sum(map(len, before.values())) + 1
