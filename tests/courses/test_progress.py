"""The teacher's progress view: figures on shared items over current students, and nobody else's.

The course (tests/support/progress.py): "Cells" due yesterday with four
shared cards, "Genes" with two cards and a quiz; Anna and Boris study them
through the real services, while a removed student's answers, Anna's private
card and the teacher's own reviews must not count.
"""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest
from django.test import Client

from courses.models import CourseMaterial
from courses.progress import course_progress
from courses.services import (
    course_create,
    course_join,
    invite_create,
    unit_create,
)
from materials.study.services import flashcard_review
from tests.support.clients import token_client
from tests.support.factories import MaterialFactory, UserFactory
from tests.support.progress import EASY, progress_course
from tests.support.reviews import many_cards

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> SimpleNamespace:
    return progress_course()


def _client(user, language: str = "en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def test_a_units_cards_learned_retention_and_hardest_cards(world):
    cells, _ = course_progress(course=world.course).units

    assert cells.cards == 4  # the hidden card and Anna's private one are not the course's
    assert cells.learned_share == pytest.approx(7 / 8)  # Anna 3 of 4, Boris 4 of 4
    # Within 30 days: Anna 5 reviews (2 Again), Boris 6 (2 Again); Carl's and the teacher's not.
    assert (cells.reviews, cells.again) == (11, 4)
    assert cells.retention == pytest.approx(7 / 11)
    hardest = [(card.card_id, card.again) for card in cells.hardest]
    assert hardest == [(world.cards[3].pk, 3), (world.cards[0].pk, 1)]
    assert cells.hardest[0].front == world.cards[3].front


def test_quiz_questions_most_often_missed_with_their_lure(world):
    _, genes = course_progress(course=world.course).units

    assert genes.questions == 2  # the hidden question is not in the quiz
    missed = [
        (q.question_id, q.answers, q.wrong, q.wrong_choice, q.wrong_choice_count)
        for q in genes.missed
    ]
    assert missed == [(world.lure.pk, 3, 3, "Lure", 2), (world.second.pk, 2, 1, "x", 1)]
    assert (genes.quiz_answers, genes.quiz_wrong) == (5, 4)  # Boris's skip is no answer


def test_behind_schedule_lists_students_under_80_percent_of_an_overdue_unit(world):
    cells, genes = course_progress(course=world.course).units

    assert cells.overdue and not genes.overdue
    assert [(s.user_id, s.name, s.learned) for s in cells.behind] == [
        (world.anna.pk, "Анна Петрова", 3)
    ]
    assert genes.behind == []  # no due date: nobody is behind on it


def test_a_removed_student_is_not_counted(world):
    progress = course_progress(course=world.course)

    assert progress.student_count == 2
    for unit in progress.units:
        assert {s.user_id for s in unit.students} == {world.anna.pk, world.boris.pk}


def test_the_page_shows_the_figures_to_owner_and_teachers(world):
    for user in (world.teacher, world.co_teacher):
        response = _client(user).get(f"/courses/{world.course.pk}/progress/")
        assert response.status_code == 200
        page = response.content.decode()
        assert "88%" in page and "64%" in page  # learned, retention on Cells
        assert world.cards[3].front in page and "Lure" in page
        assert "Анна Петрова" in page
        assert "never see a student's tutor conversations" in page
        assert "s private card" not in page and "Hidden card" not in page
        assert world.carl.email not in page


def test_students_removed_students_and_outsiders_get_404(world):
    paths = [
        f"/courses/{world.course.pk}/progress/",
        f"/courses/{world.course.pk}/progress.csv",
        f"/api/courses/{world.course.pk}/progress/",
    ]
    for user in (world.anna, world.carl, world.outsider):
        for path in paths:
            client = token_client(user) if path.startswith("/api/") else _client(user)
            assert client.get(path).status_code == 404, (user.email, path)


def test_the_course_page_links_to_progress_for_teachers_only(world):
    link = f"/courses/{world.course.pk}/progress/"
    assert link in _client(world.co_teacher).get(f"/courses/{world.course.pk}/").content.decode()
    assert link not in _client(world.anna).get(f"/courses/{world.course.pk}/").content.decode()


def test_the_csv_opens_in_a_spreadsheet_with_a_row_per_unit_and_student(world):
    response = _client(world.teacher).get(f"/courses/{world.course.pk}/progress.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads Cyrillic as UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Unit", "Due date", "Student"]
    assert len(body) == 2 * 3  # per unit: all students, then Anna and Boris
    by_student = {(row[0], row[3]): dict(zip(header, row, strict=True)) for row in body}
    anna = by_student[("Cells", world.anna.email)]
    assert anna["Student"] == "Анна Петрова"
    assert (anna["Cards learned"], anna["Learned, %"], anna["Behind schedule"]) == (
        "3",
        "75",
        "yes",
    )
    assert by_student[("Cells", world.boris.email)]["Behind schedule"] == "no"
    assert by_student[("Genes", world.boris.email)]["Wrong quiz answers"] == "3"
    assert by_student[("Cells", "")]["Retention, %"] == "64"
    assert world.carl.email not in response.content.decode("utf-8-sig")


def test_the_api_answers_the_units_figures(world):
    response = token_client(world.co_teacher).get(f"/api/courses/{world.course.pk}/progress/")

    assert response.status_code == 200
    body = response.json()
    assert body["course"] == world.course.pk and body["students"] == 2
    assert body["retention_days"] == 30 and body["on_time_share"] == 0.8
    cells, genes = body["units"]
    assert cells["title"] == "Cells" and cells["overdue"] is True
    assert cells["cards"] == 4 and cells["learned_share"] == pytest.approx(0.875)
    assert cells["hardest_cards"][0] == {
        "id": world.cards[3].pk,
        "front": world.cards[3].front,
        "again": 3,
    }
    assert [s["user"] for s in cells["behind"]] == [world.anna.pk]
    assert genes["retention"] is None and genes["due_date"] is None
    assert genes["most_missed_questions"][0]["wrong_choice"] == "Lure"


def test_the_schema_documents_the_progress_route():
    schema = token_client(UserFactory()).get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/courses/{id}/progress/"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/CourseProgress")


def test_the_page_and_csv_read_in_russian(world):
    page = _client(world.teacher, "ru").get(f"/courses/{world.course.pk}/progress/")
    text = page.content.decode()
    assert "Прогресс" in text and "Самые трудные карточки" in text
    assert "никогда не видят" in text
    csv_ru = _client(world.teacher, "ru").get(f"/courses/{world.course.pk}/progress.csv")
    assert csv_ru.content.decode("utf-8-sig").startswith("Раздел,")


def test_a_course_with_no_students_has_no_shares():
    teacher = UserFactory()
    course = course_create(owner=teacher, title="Empty")
    unit = unit_create(course=course, title="Only unit")
    CourseMaterial.objects.create(unit=unit, material=MaterialFactory(owner=teacher))

    (only,) = course_progress(course=course).units
    assert only.learned_share is None and only.retention is None and only.behind == []
    response = _client(teacher).get(f"/courses/{course.pk}/progress/")
    assert response.status_code == 200


def test_the_figures_take_the_same_queries_however_many_units_and_students(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        course_progress(course=world.course)
    extra = unit_create(course=world.course, title="Proteins")
    CourseMaterial.objects.create(unit=extra, material=many_cards(world.teacher, 3, "Proteins"))
    code = invite_create(course=world.course, by=world.teacher).code
    for _ in range(3):
        student = UserFactory()
        course_join(user=student, code=code)
        flashcard_review(card=world.cards[0], rating=EASY, user=student)
    with CaptureQueriesContext(connection) as after:
        progress = course_progress(course=world.course)

    assert len(progress.units) == 3 and progress.student_count == 5
    assert len(after.captured_queries) == len(before.captured_queries)
