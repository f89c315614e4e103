"""Mistakes come back: a wrong quiz answer or a tutor answer not understood → tomorrow's reviews."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from materials.models import Flashcard
from materials.study.selectors import due_today, flashcard_due_list, mistake_list
from materials.study.services import flashcard_review, study_profile_update

pytestmark = pytest.mark.django_db


def tomorrow() -> timezone.datetime:
    return timezone.localtime() + timedelta(days=1)


def answer_wrong(api, material, question) -> dict:
    wrong = (question.answer_index + 1) % len(question.choices)
    response = api.post(
        f"/api/materials/{material.pk}/quiz/attempts/",
        {"answers": {str(question.pk): wrong}},
        format="json",
    )
    assert response.status_code == 201
    return response.json()


def test_a_wrong_answer_brings_its_card_into_tomorrows_reviews(api, user, biology):
    question = biology.quiz_questions.first()
    result = answer_wrong(api, biology, question)["results"][0]
    card = Flashcard.objects.get(pk=result["card"])
    # The card the question was made from, not a new one.
    assert card.origin == Flashcard.Origin.GENERATED and card.back == question.answer
    assert timezone.localtime(card.due).date() == tomorrow().date()
    assert list(mistake_list(owner=user)) == [card]
    assert card not in flashcard_due_list(owner=user)
    body = api.get(f"/api/flashcards/{card.pk}/").json()
    assert body["from_mistake"] is True and body["is_new"] is False


def test_mistakes_come_back_even_when_the_days_new_cards_are_used(api, user, biology):
    study_profile_update(user=user, new_cards_per_day=0)
    question = biology.quiz_questions.first()
    card = Flashcard.objects.get(pk=answer_wrong(api, biology, question)["results"][0]["card"])
    later = tomorrow().replace(hour=9)
    queue = list(flashcard_due_list(owner=user, now=later))
    assert queue == [card]
    assert due_today(owner=user, now=later).mistakes == 1
    # Reviewed again, it is an ordinary card: the tag goes.
    flashcard_review(card=card, rating=3, now=later)
    card.refresh_from_db()
    assert not card.from_mistake
    assert not mistake_list(owner=user).exists()


def test_a_skipped_question_is_no_mistake(api, biology):
    question = biology.quiz_questions.first()
    response = api.post(
        f"/api/materials/{biology.pk}/quiz/attempts/",
        {"answers": {str(question.pk): None}},
        format="json",
    )
    assert response.json()["results"][0]["card"] is None
    assert not biology.flashcards.filter(mistake_at__isnull=False).exists()


def tutor_answer(api, material) -> tuple[int, dict]:
    conversation = api.post(
        "/api/tutor/conversations/", {"material": material.pk}, format="json"
    ).json()["id"]
    answer = api.post(
        f"/api/tutor/conversations/{conversation}/messages/",
        {"content": "Where does the Krebs cycle take place?"},
        format="json",
    ).json()
    assert answer["citations"], answer
    return conversation, answer


def test_didnt_get_it_brings_back_the_cited_sentence(api, user, biology):
    conversation, answer = tutor_answer(api, biology)
    url = f"/api/tutor/conversations/{conversation}/messages/{answer['id']}/missed/"
    response = api.post(url)
    assert response.status_code == 201
    card = Flashcard.objects.get(pk=response.json()["id"])
    cited = answer["citations"][0]
    assert response.json()["from_mistake"] is True
    assert card.page == cited["page"]
    assert timezone.localtime(card.due).date() == tomorrow().date()
    if card.origin == Flashcard.Origin.TUTOR:
        # None of the material's cards came from that sentence: one is made from it.
        assert card.front == "Where does the Krebs cycle take place?"
        assert card.back == cited["quote"]
    # Twice is the same card.
    assert api.post(url).json()["id"] == card.pk
    assert Flashcard.objects.filter(owner=user, mistake_at__isnull=False).count() == 1


def test_didnt_get_it_on_the_page(logged_in, api, biology):
    conversation, answer = tutor_answer(api, biology)
    page = logged_in.get(f"/tutor/{conversation}/").content.decode()
    assert f"/tutor/messages/{answer['id']}/missed/" in page
    response = logged_in.post(f"/tutor/messages/{answer['id']}/missed/", HTTP_HX_REQUEST="true")
    assert "tomorrow" in response.content.decode()
    dashboard = logged_in.get("/").content.decode()
    assert "data-mistakes" in dashboard and "From your mistakes" in dashboard


def test_another_students_answer_cannot_be_marked(api, other_api, biology):
    conversation, answer = tutor_answer(api, biology)
    url = f"/api/tutor/conversations/{conversation}/messages/{answer['id']}/missed/"
    assert other_api.post(url).status_code == 404
