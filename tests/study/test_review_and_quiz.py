"""FSRS scheduling, the student's own cards, quiz scoring and attempts, reports."""

from datetime import UTC, datetime, timedelta

import pytest

from materials.models import ContentReport, Flashcard, QuizAttempt
from materials.study.services import flashcard_review

pytestmark = pytest.mark.django_db


def own_card(api, material) -> dict:
    response = api.post(
        f"/api/materials/{material.pk}/flashcards/",
        {"front": "What is ATP?", "back": "The energy currency of the cell"},
        format="json",
    )
    assert response.status_code == 201
    return response.json()


def test_intervals_grow_with_good_and_reset_with_again(biology):
    card = biology.flashcards.first()
    moment = datetime(2026, 1, 1, 9, tzinfo=UTC)
    intervals = []
    for _ in range(5):
        card = flashcard_review(card=card, rating=3, now=moment)
        intervals.append(card.due - moment)
        moment = card.due
    assert card.state == Flashcard.State.REVIEW
    assert intervals[-1] > intervals[-2] > intervals[-3] >= timedelta(days=1)
    card = flashcard_review(card=card, rating=1, now=moment)
    assert card.state == Flashcard.State.RELEARNING
    assert card.due - moment <= timedelta(minutes=10)
    assert card.reviews.count() == 6


def test_review_api_returns_next_due_and_due_list(api, biology):
    due = api.get("/api/flashcards/due/").json()
    assert due["count"] == biology.flashcards.count()
    card_id = due["results"][0]["id"]
    response = api.post(f"/api/flashcards/{card_id}/review/", {"rating": 4}, format="json")
    assert response.status_code == 200
    assert response.json()["due"] > due["results"][0]["due"]
    assert api.get("/api/flashcards/due/").json()["count"] == due["count"] - 1
    assert (
        api.post(f"/api/flashcards/{card_id}/review/", {"rating": 5}, format="json").status_code
        == 400
    )


def test_flashcards_list_matches_the_contract(api, biology):
    body = api.get(f"/api/materials/{biology.pk}/flashcards/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    item = body["results"][0]
    assert {"id", "front", "back", "source", "due"} <= set(item)
    assert set(item["source"]) == {"page", "start_seconds"}


def test_student_can_add_edit_suspend_and_delete_cards(api, biology):
    card = own_card(api, biology)
    edited = api.patch(
        f"/api/flashcards/{card['id']}/", {"back": "Adenosine triphosphate"}, format="json"
    ).json()
    assert edited["back"] == "Adenosine triphosphate" and edited["origin"] == "user"
    api.patch(f"/api/flashcards/{card['id']}/", {"suspended": True}, format="json")
    due_ids = [c["id"] for c in api.get("/api/flashcards/due/").json()["results"]]
    assert card["id"] not in due_ids
    assert api.delete(f"/api/flashcards/{card['id']}/").status_code == 204
    assert api.get(f"/api/flashcards/{card['id']}/").status_code == 404


def test_regeneration_replaces_generated_cards_and_keeps_the_students(
    api, biology, run_jobs, django_capture_on_commit_callbacks
):
    mine = own_card(api, biology)
    generated = biology.flashcards.filter(origin="generated").count()
    reviewed = biology.flashcards.filter(origin="generated").first()
    flashcard_review(card=reviewed, rating=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/materials/{biology.pk}/study/regenerate/").status_code == 202
    run_jobs()
    assert biology.flashcards.filter(origin="generated").count() == generated
    assert biology.flashcards.filter(pk=mine["id"]).exists()
    # The same generated card came out again: its schedule and history stayed.
    assert Flashcard.objects.get(pk=reviewed.pk).reviews.count() == 1
    assert biology.quiz_questions.count() > 0


def test_quiz_scoring_and_attempts_are_kept(api, biology):
    quiz = api.get(f"/api/materials/{biology.pk}/quiz/").json()
    questions = quiz["questions"]
    assert len(questions) >= 3
    first, second = questions[0], questions[1]
    assert {"id", "question", "choices", "answer_index", "explanation", "source"} <= set(first)
    answers = {
        str(first["id"]): first["answer_index"],
        str(second["id"]): (second["answer_index"] + 1) % len(second["choices"]),
    }
    result = api.post(
        f"/api/materials/{biology.pk}/quiz/attempts/", {"answers": answers}, format="json"
    ).json()
    assert (result["score"], result["total"]) == (1, len(questions))
    assert [r["correct"] for r in result["results"][:2]] == [True, False]
    assert api.get(f"/api/materials/{biology.pk}/quiz/attempts/").json()["count"] == 1
    assert QuizAttempt.objects.get().results[1]["chosen"] == answers[str(second["id"])]


def test_wrong_answer_becomes_a_flashcard_once(api, biology):
    question = biology.quiz_questions.first()
    first = api.post(f"/api/quiz/questions/{question.pk}/flashcard/").json()
    again = api.post(f"/api/quiz/questions/{question.pk}/flashcard/").json()
    assert first["id"] == again["id"]
    card = Flashcard.objects.get(pk=first["id"])
    assert card.origin == "quiz" and card.back == question.answer and card.page == question.page


def test_reports_reach_the_admin(api, biology, admin_client):
    card = biology.flashcards.first()
    question = biology.quiz_questions.first()
    api.post(f"/api/flashcards/{card.pk}/report/", {"reason": "Wrong answer"}, format="json")
    api.post(f"/api/quiz/questions/{question.pk}/report/", {"reason": "Two right choices"})
    assert ContentReport.objects.count() == 2
    page = admin_client.get("/admin/materials/contentreport/?status__exact=open")
    assert "Wrong answer" in page.content.decode() and "Two right choices" in page.content.decode()
    admin_client.post(
        "/admin/materials/contentreport/",
        {"action": "hide_target", "_selected_action": [r.pk for r in ContentReport.objects.all()]},
    )
    card.refresh_from_db()
    assert card.is_hidden
    assert api.get(f"/api/flashcards/{card.pk}/").status_code == 404


def test_other_users_study_objects_are_404(other_api, api, biology):
    card = biology.flashcards.first()
    question = biology.quiz_questions.first()
    attempt = api.post(
        f"/api/materials/{biology.pk}/quiz/attempts/", {"answers": {}}, format="json"
    ).json()
    for url in (
        f"/api/materials/{biology.pk}/summary/",
        f"/api/materials/{biology.pk}/notes/",
        f"/api/materials/{biology.pk}/flashcards/",
        f"/api/materials/{biology.pk}/quiz/",
        f"/api/materials/{biology.pk}/quiz/attempts/",
        f"/api/materials/{biology.pk}/export/anki/",
        f"/api/flashcards/{card.pk}/",
        f"/api/quiz/attempts/{attempt['id']}/",
    ):
        assert other_api.get(url).status_code == 404, url
    assert other_api.post(f"/api/flashcards/{card.pk}/review/", {"rating": 3}).status_code == 404
    assert other_api.post(f"/api/quiz/questions/{question.pk}/flashcard/").status_code == 404
    assert other_api.get("/api/flashcards/due/").json()["count"] == 0
