"""A course student studies the shared material as their own, through the pages and the API.

Summary, notes, flashcards and quiz read the teacher's content; the schedule,
attempts, mistakes and the cards a mistake makes are the student's alone.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from courses.models import CourseMaterial
from courses.services import course_create, course_join, invite_create, unit_create
from materials.models import CardState, Flashcard, NoteSection, QuizQuestion, StudySet
from materials.study.selectors import mistake_list
from materials.study.services import flashcard_review
from tests.support.clients import signed_in, token_client
from tests.support.factories import UserFactory
from tests.support.reviews import many_cards

pytestmark = pytest.mark.django_db

ALGEBRA = [
    "A matrix is created with the function matrix. The dimensions of a matrix are given by dim.",
    "The function solve(a, b) solves the equation a %*% x = b for x. When b is missing, "
    "solve returns the inverse of the matrix a. It relies on an LU decomposition.",
    "The function eigen computes eigenvalues and eigenvectors. Symmetric matrices have real "
    "eigenvalues.",
]


def _join(course, user) -> None:
    course_join(user=user, code=invite_create(course=course, by=course.owner).code)


@pytest.fixture
def shared():
    """A teacher's material in a course, with its summary, notes, 3 cards and 2 questions."""
    teacher = UserFactory()
    material = many_cards(teacher, 3, title="Cells")
    material.status = "ready"
    material.save(update_fields=["status"])
    StudySet.objects.create(
        material=material, status="ready", generator="offline", summary="Cells make up life."
    )
    NoteSection.objects.create(
        material=material, position=0, heading="Cells", points=[{"text": "A cell."}], generator="t"
    )
    # The first question is drawn from card 0 (same back, same place); the second from no card.
    for position, answer in enumerate(["Answer 0", "The membrane"]):
        QuizQuestion.objects.create(
            owner=teacher,
            material=material,
            position=position,
            question=f"Question {position}?",
            choices=[answer, "Something else"],
            answer_index=0,
            generator="test",
        )
    course = course_create(owner=teacher, title="Biology")
    CourseMaterial.objects.create(unit=unit_create(course=course, title="Cells"), material=material)
    anna, boris = UserFactory(), UserFactory()
    _join(course, anna)
    _join(course, boris)
    return teacher, material, anna, boris


def _outsiders_material():
    """A material of another course, of which the test's users are not members."""
    other = UserFactory()
    material = many_cards(other, 2, title="Elsewhere")
    course = course_create(owner=other, title="Chemistry")
    CourseMaterial.objects.create(unit=unit_create(course=course, title="Atoms"), material=material)
    _join(course, UserFactory())
    return material


# --- 1. summary, notes, flashcards and quiz ------------------------------------------


def test_a_student_opens_summary_notes_flashcards_and_quiz_pages_read_only(shared):
    _, material, anna, _ = shared
    web = signed_in(anna)
    for suffix in ("", "notes/", "flashcards/", "quiz/"):
        page = web.get(f"/materials/{material.pk}/{suffix}")
        body = page.content.decode()
        assert page.status_code == 200, suffix
        # The cards' CSV and Anki downloads are the student's too (their own view).
        owner_only = ("/reprocess/", "/delete/", "/export/markdown/", "/edit/", "/flashcards/add/")
        for path in owner_only:
            assert path not in body, (suffix, path)
    summary = web.get(f"/materials/{material.pk}/").content.decode()
    assert "Cells make up life." in summary
    assert f"/materials/review/?material={material.pk}" in summary
    russian = web.get(f"/materials/{material.pk}/", headers={"accept-language": "ru"})
    assert russian.status_code == 200 and "Cells make up life." in russian.content.decode()


def test_a_student_reads_summary_notes_flashcards_and_quiz_over_the_api(shared):
    teacher, material, anna, _ = shared
    api = token_client(anna)
    base = f"/api/materials/{material.pk}"

    assert api.get(f"{base}/summary/").json()["text"] == "Cells make up life."
    assert api.get(f"{base}/notes/").json()["sections"][0]["points"] == ["A cell."]
    cards = api.get(f"{base}/flashcards/").json()
    assert cards["count"] == 3 and {c["is_new"] for c in cards["results"]} == {True}
    quiz = api.get(f"{base}/quiz/").json()
    assert [q["question"] for q in quiz["questions"]] == ["Question 0?", "Question 1?"]
    attempt = api.post(
        f"{base}/quiz/attempts/",
        {"answers": {str(q["id"]): 0 for q in quiz["questions"]}},
        format="json",
    )
    assert attempt.status_code == 201 and attempt.json()["score"] == 2
    assert api.get(f"{base}/quiz/attempts/").json()["count"] == 1
    assert token_client(teacher).get(f"{base}/quiz/attempts/").json()["count"] == 0

    # Editing stays the owner's.
    card = material.flashcards.first()
    assert api.post(f"{base}/flashcards/", {"front": "F", "back": "B"}).status_code == 404
    assert api.patch(f"/api/flashcards/{card.pk}/", {"front": "X"}).status_code == 404
    assert api.post(f"{base}/study/regenerate/").status_code == 404
    assert api.post(f"{base}/reprocess/").status_code == 404
    # The notes' Markdown stays the owner's; the cards' CSV is the student's own view
    # (tests/courses/test_student_exports.py).
    assert api.get(f"{base}/export/markdown/").status_code == 404
    assert api.get(f"{base}/export/csv/").status_code == 200


def test_an_outsider_gets_404_on_every_study_read(shared):
    _, material, _, _ = shared
    api, web = token_client(UserFactory()), signed_in(UserFactory())
    for suffix in ("summary/", "notes/", "flashcards/", "quiz/", "quiz/attempts/"):
        assert api.get(f"/api/materials/{material.pk}/{suffix}").status_code == 404, suffix
    for suffix in ("", "notes/", "flashcards/", "quiz/"):
        assert web.get(f"/materials/{material.pk}/{suffix}").status_code == 404, suffix


# --- 2. filtered review ---------------------------------------------------------------


def test_the_filtered_review_shows_the_course_cards_on_the_students_own_schedule(shared):
    teacher, material, anna, _ = shared
    first = material.flashcards.order_by("position").first()
    # The teacher's own schedule moves a day or more ahead; the student's does not.
    flashcard_review(card=first, rating=4)
    first.refresh_from_db()
    assert first.due > timezone.now() + timedelta(hours=12)

    page = signed_in(anna).get(f"/materials/review/?material={material.pk}")
    assert page.status_code == 200
    assert page.context["card"].material_id == material.pk
    assert page.context["due_count"] == 3

    due = token_client(anna).get("/api/flashcards/due/", {"material": material.pk}).json()
    assert due["count"] == 3
    mine = next(c for c in due["results"] if c["id"] == first.pk)
    assert mine["is_new"] is True
    assert mine["due"] < first.due.isoformat().replace("+00:00", "Z")
    # The teacher's own queue no longer has that card today.
    teachers = token_client(teacher).get("/api/flashcards/due/", {"material": material.pk}).json()
    assert first.pk not in [c["id"] for c in teachers["results"]]


def test_a_students_review_of_a_shared_card_moves_only_their_schedule_on_the_page(shared):
    teacher, material, anna, _ = shared
    card = material.flashcards.order_by("position").first()
    web = signed_in(anna)
    web.post(f"/materials/flashcards/{card.pk}/review/", {"rating": 3, "material": material.pk})
    state = CardState.objects.get(user=anna, card=card)
    card.refresh_from_db()
    assert card.last_review is None  # the teacher's schedule is untouched
    listed = web.get(f"/materials/{material.pk}/flashcards/").context["page_obj"].object_list
    assert next(c for c in listed if c.pk == card.pk).due == state.due


def test_the_filtered_review_of_a_course_the_user_is_not_in_is_404(shared):
    _, _, anna, _ = shared
    elsewhere = _outsiders_material()
    assert signed_in(anna).get(f"/materials/review/?material={elsewhere.pk}").status_code == 404
    api = token_client(anna)
    assert api.get("/api/flashcards/due/", {"material": elsewhere.pk}).status_code == 404
    assert api.get("/api/flashcards/due/", {"material": "x"}).status_code == 404


# --- 3. the mistakes loop ---------------------------------------------------------------


def test_a_students_quiz_mistake_comes_back_for_them_alone(shared):
    teacher, material, anna, boris = shared
    questions = list(material.quiz_questions.order_by("position"))
    drawn = material.flashcards.get(back="Answer 0")
    cards_before = Flashcard.objects.filter(owner=teacher).count()

    response = signed_in(anna).post(
        f"/materials/{material.pk}/quiz/", {f"q{q.pk}": "1" for q in questions}
    )
    assert response.status_code == 302

    # The question drawn from a shared card: the student's own state on it.
    state = CardState.objects.get(user=anna, card=drawn)
    assert state.mistake_at is not None and state.due > timezone.now()
    drawn.refresh_from_db()
    assert drawn.mistake_at is None
    # The question drawn from no card: a card that is the student's alone.
    private = Flashcard.objects.get(owner=anna)
    assert (private.material_id, private.back, private.origin) == (
        material.pk,
        "The membrane",
        "quiz",
    )
    assert Flashcard.objects.filter(owner=teacher).count() == cards_before

    assert {c.pk for c in mistake_list(owner=anna)} == {drawn.pk, private.pk}
    assert not mistake_list(owner=teacher).exists() and not mistake_list(owner=boris).exists()
    assert not CardState.objects.filter(user__in=[teacher, boris], mistake_at__isnull=False)
    dashboard = signed_in(anna).get("/").content.decode()
    assert "2 cards come back" in dashboard

    for user in (teacher, boris):
        api = token_client(user)
        listed = api.get(f"/api/materials/{material.pk}/flashcards/").json()["results"]
        assert private.pk not in [c["id"] for c in listed]
        assert not [c for c in listed if c["from_mistake"]]
        assert api.get(f"/api/flashcards/{private.pk}/").status_code == 404
        page = signed_in(user).get(f"/materials/{material.pk}/flashcards/").content.decode()
        assert "The membrane" not in page and "From your mistakes" not in page

    # Tomorrow both come back in the student's queue, tagged as mistakes.
    mine = token_client(anna).get(f"/api/materials/{material.pk}/flashcards/").json()["results"]
    assert {c["id"] for c in mine if c["from_mistake"]} == {drawn.pk, private.pk}


def test_the_owners_mistake_never_touches_a_students_private_card(shared):
    teacher, material, anna, _ = shared
    question = material.quiz_questions.get(position=1)
    token_client(anna).post(
        f"/api/materials/{material.pk}/quiz/attempts/",
        {"answers": {str(question.pk): 1}},
        format="json",
    )
    private = Flashcard.objects.get(owner=anna)
    before = private.mistake_at

    attempt = token_client(teacher).post(
        f"/api/materials/{material.pk}/quiz/attempts/",
        {"answers": {str(question.pk): 1}},
        format="json",
    )
    card_id = attempt.json()["results"][1]["card"]
    assert Flashcard.objects.get(pk=card_id).owner_id == teacher.pk
    private.refresh_from_db()
    assert private.mistake_at == before


def test_a_student_turns_a_shared_question_into_their_own_card(shared):
    teacher, material, anna, boris = shared
    question = material.quiz_questions.get(position=1)
    made = token_client(anna).post(f"/api/quiz/questions/{question.pk}/flashcard/")
    assert made.status_code == 201
    assert Flashcard.objects.get(pk=made.json()["id"]).owner_id == anna.pk
    stranger = token_client(UserFactory()).post(f"/api/quiz/questions/{question.pk}/flashcard/")
    assert stranger.status_code == 404


# --- 4. the tutor ------------------------------------------------------------------------


def test_a_students_tutor_citations_open_the_reader_and_a_miss_is_theirs(indexed):
    teacher = UserFactory()
    material = indexed(teacher, ALGEBRA, title="Linear algebra")
    course = course_create(owner=teacher, title="Maths")
    CourseMaterial.objects.create(unit=unit_create(course=course, title="M"), material=material)
    student = UserFactory()
    _join(course, student)
    api, web = token_client(student), signed_in(student)

    conversation = api.post("/api/tutor/conversations/", {"material": material.pk}, format="json")
    pk = conversation.json()["id"]
    answer = api.post(
        f"/api/tutor/conversations/{pk}/messages/",
        {"content": "What does solve return when b is missing?"},
        format="json",
    ).json()
    assert answer["citations"][0]["page"] == 2

    page = web.get(f"/tutor/{pk}/").content.decode()
    links = re.findall(rf'href="(/materials/{material.pk}/read/\?[^"]+)"', page)
    assert links
    for link in links:
        reader = web.get(link.replace("&amp;", "&"))
        assert reader.status_code == 200
    assert signed_in(UserFactory()).get(links[0].replace("&amp;", "&")).status_code == 404

    missed = api.post(f"/api/tutor/conversations/{pk}/messages/{answer['id']}/missed/")
    assert missed.status_code == 201
    card = Flashcard.objects.get(pk=missed.json()["id"])
    assert card.owner_id == student.pk and card.material_id == material.pk
    assert not mistake_list(owner=teacher).exists()


# --- 5. exam plans in the API --------------------------------------------------------------


def test_the_due_api_gives_the_students_exam_plans_and_the_schema_documents_them(shared):
    teacher, material, anna, _ = shared
    course = CourseMaterial.objects.get(material=material).unit.course
    course.exam_date = timezone.localdate() + timedelta(days=13)
    course.save(update_fields=["exam_date"])

    due = token_client(anna).get("/api/flashcards/due/").json()
    (plan,) = due["exams"]
    assert plan["course"] == course.pk and plan["title"] == "Biology"
    assert (plan["days_left"], plan["unlearned"], plan["share"]) == (13, 3, 1)
    assert plan["in_final_window"] is False
    assert token_client(UserFactory()).get("/api/flashcards/due/").json()["exams"] == []

    schema = token_client(anna).get("/api/schema/", {"format": "json"}).json()
    due_schema = schema["components"]["schemas"]["Due"]["properties"]
    assert due_schema["exams"]["items"]["$ref"].endswith("/ExamPlan")
    assert "days_left" in schema["components"]["schemas"]["ExamPlan"]["properties"]


def test_a_student_reports_a_shared_question_from_their_attempt(shared):
    _, material, anna, _ = shared
    question = material.quiz_questions.get(position=0)
    web = signed_in(anna)
    web.post(f"/materials/{material.pk}/quiz/", {f"q{question.pk}": "1"})
    attempt = web.get(f"/materials/quiz/attempts/{anna.quiz_attempts.get().pk}/")
    assert f"/materials/questions/{question.pk}/report/" in attempt.content.decode()
    reported = web.post(f"/materials/questions/{question.pk}/report/", {"reason": "Two answers"})
    assert reported.status_code == 302
    assert question.reports.get().reporter_id == anna.pk
    outsider = token_client(UserFactory())
    assert outsider.post(f"/api/quiz/questions/{question.pk}/report/").status_code == 404


def test_search_and_the_tutor_cover_the_students_uploads_and_their_courses(indexed):
    teacher, student = UserFactory(), UserFactory()
    shared = indexed(teacher, ALGEBRA, title="Linear algebra")
    own = indexed(student, ["Photosynthesis turns light into chemical energy in chloroplasts."])
    course = course_create(owner=teacher, title="Maths")
    CourseMaterial.objects.create(unit=unit_create(course=course, title="M"), material=shared)
    _join(course, student)
    api = token_client(student)

    def found(q: str) -> set[int]:
        return {r["material"] for r in api.get("/api/search/", {"q": q}).json()["results"]}

    assert shared.pk in found("inverse of the matrix")
    assert own.pk in found("chloroplasts light energy")
    # The tutor over all of the student's materials cites the course's one too.
    pk = api.post("/api/tutor/conversations/", {"material": None}, format="json").json()["id"]
    answer = api.post(
        f"/api/tutor/conversations/{pk}/messages/",
        {"content": "What does solve return when b is missing?"},
        format="json",
    ).json()
    assert answer["citations"][0]["material"] == shared.pk
    # The teacher's search never reaches the student's upload.
    teachers = token_client(teacher).get("/api/search/", {"q": "chloroplasts light energy"}).json()
    assert own.pk not in {r["material"] for r in teachers["results"]}


def test_a_students_own_card_and_conversation_stay_theirs(shared):
    teacher, material, anna, boris = shared
    question = material.quiz_questions.get(position=1)
    api = token_client(anna)
    card_id = api.post(f"/api/quiz/questions/{question.pk}/flashcard/").json()["id"]
    edited = api.patch(f"/api/flashcards/{card_id}/", {"back": "The cell membrane"})
    assert edited.status_code == 200 and edited.json()["back"] == "The cell membrane"
    page = signed_in(anna).get(f"/materials/{material.pk}/flashcards/").content.decode()
    assert "The cell membrane" in page and f"/flashcards/{card_id}/edit/" in page
    conversation = api.post("/api/tutor/conversations/", {"material": material.pk}, format="json")
    pk = conversation.json()["id"]

    for user in (teacher, boris):
        other = token_client(user)
        assert other.get(f"/api/flashcards/{card_id}/").status_code == 404
        assert other.patch(f"/api/flashcards/{card_id}/", {"back": "x"}).status_code == 404
        assert other.get(f"/api/tutor/conversations/{pk}/").status_code == 404
        assert signed_in(user).get(f"/tutor/{pk}/").status_code == 404
        page = signed_in(user).get(f"/materials/{material.pk}/flashcards/").content.decode()
        assert "The cell membrane" not in page
