"""A humane schedule: new cards a day, reviews first, retention and FSRS fitted per student."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from fsrs import Scheduler

from materials.models import Flashcard, ReviewLog
from materials.study.selectors import due_today, flashcard_due_list, study_profile_get
from materials.study.services import flashcard_review, study_profile_update
from tests.support.reviews import many_cards, review_history

pytestmark = pytest.mark.django_db


def test_a_new_material_shows_at_most_the_new_cards_a_day(user):
    many_cards(user, 67)
    due = due_today(owner=user)
    assert (due.reviews, due.new, due.new_waiting) == (0, 20, 47)
    assert flashcard_due_list(owner=user).count() == 20


def test_a_terms_uploads_still_show_twenty_new_cards(user):
    for number in range(8):
        many_cards(user, 40, title=f"Book {number}")
    assert flashcard_due_list(owner=user).count() == 20
    # The oldest material's cards come first, in their order.
    first = flashcard_due_list(owner=user).first()
    assert first.material.title == "Book 0" and first.front == "Question 0"


def test_reviews_come_before_new_cards_and_new_ones_started_today_use_up_the_day(user):
    many_cards(user, 30)
    yesterday = timezone.now() - timedelta(days=3)
    old = flashcard_due_list(owner=user)[:5]
    for card in old:
        flashcard_review(card=card, rating=3, now=yesterday)
        # Due again by today: a review, not a new card.
        Flashcard.objects.filter(pk=card.pk).update(due=timezone.now() - timedelta(hours=1))
    queue = list(flashcard_due_list(owner=user))
    assert [c.pk for c in queue[:5]] == sorted(
        (c.pk for c in queue[:5]), key=lambda pk: Flashcard.objects.get(pk=pk).due
    )
    assert all(c.last_review is not None for c in queue[:5])
    assert all(c.last_review is None for c in queue[5:])
    # Those five were first seen three days ago: today still has all 20 places.
    assert due_today(owner=user).new == 20
    for card in queue[5:8]:
        flashcard_review(card=card, rating=4)
    due = due_today(owner=user)
    assert due.new == 17 and due.new_left == 17


def test_new_cards_a_day_is_the_students_setting(user, logged_in, api):
    many_cards(user, 50)
    response = logged_in.post(
        "/materials/review/settings/", {"new_cards_per_day": 5, "desired_retention": 85}
    )
    assert response.status_code == 302
    assert flashcard_due_list(owner=user).count() == 5
    assert study_profile_get(user=user).desired_retention == pytest.approx(0.85)
    body = api.patch("/api/study/settings/", {"new_cards_per_day": 12}, format="json").json()
    assert body["new_cards_per_day"] == 12 and body["personal_parameters"] is False
    assert api.get("/api/flashcards/due/").json()["count"] == 12
    bad = api.patch("/api/study/settings/", {"desired_retention": 0.5}, format="json")
    assert bad.status_code == 400
    page = logged_in.post(
        "/materials/review/settings/", {"new_cards_per_day": -1, "desired_retention": 90}
    )
    assert page.status_code == 400


def test_higher_desired_retention_brings_cards_back_sooner(user, other_user):
    moment = datetime(2026, 1, 1, 9, tzinfo=UTC)
    intervals = {}
    for owner, retention in ((user, 0.95), (other_user, 0.8)):
        study_profile_update(user=owner, desired_retention=retention)
        card = many_cards(owner, 1).flashcards.get()
        reviewed_at = moment
        for _ in range(4):
            card = flashcard_review(card=card, rating=3, now=reviewed_at)
            reviewed_at = card.due  # each review when the card is due
        intervals[retention] = card.due - card.last_review
    assert intervals[0.95] < intervals[0.8]


def test_dashboard_says_what_is_due_and_how_the_schedule_is_fitted(user, logged_in):
    many_cards(user, 67)
    page = logged_in.get("/").content.decode()
    assert "data-due>20<" in page
    assert "47 new cards wait for the next days" in page
    assert "FSRS&#x27;s default parameters" in page or "FSRS's default parameters" in page


def test_fsrs_parameters_are_fitted_on_the_students_own_reviews(
    user, logged_in, settings, run_jobs, django_capture_on_commit_callbacks
):
    settings.STUDY_FSRS_MIN_REVIEWS = 800
    review_history(user)
    card = Flashcard.objects.filter(owner=user).first()
    with django_capture_on_commit_callbacks(execute=True):
        flashcard_review(card=card, rating=3)  # the 901st review queues the fitting
    run_jobs()
    profile = study_profile_get(user=user)
    assert len(profile.fsrs_parameters) == len(Scheduler().parameters)
    assert tuple(profile.fsrs_parameters) != tuple(Scheduler().parameters)
    assert profile.optimized_reviews == ReviewLog.objects.filter(card__owner=user).count()
    page = logged_in.get("/").content.decode()
    assert "fitted to your own memory: FSRS parameters optimised on your" in page
    # The next review (of another card: this one was rated seconds ago) uses them.
    before = ReviewLog.objects.count()
    flashcard_review(
        card=Flashcard.objects.filter(owner=user).exclude(pk=card.pk).first(), rating=3
    )
    assert ReviewLog.objects.count() == before + 1


def test_a_card_just_seen_waits_for_its_learning_step(user):
    many_cards(user, 5)
    first = flashcard_due_list(owner=user).first()
    flashcard_review(card=first, rating=3)  # Good on a new card: back in ten minutes
    queue = list(flashcard_due_list(owner=user))
    assert queue[0] != first and queue[-1] == first
    assert due_today(owner=user).total == 5  # still seen today
