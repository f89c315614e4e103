"""One student cannot fill the queue or the review log: fits, repeats and rates.

On the real stack: RQ on the test Valkey, the throttles in the real cache.
"""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from rq.job import Job

from materials.models import Flashcard, ReviewLog
from materials.study.selectors import study_profile_get
from materials.study.services import flashcard_review
from tests.support.reviews import many_cards

pytestmark = pytest.mark.django_db

MINUTE_LIMIT = "You are rating more than 3 cards a minute. Wait a minute, then go on."


def _review_each(owner, count: int, capture) -> list[Flashcard]:
    """Rate `count` different cards, each committed as a request would commit it."""
    cards = list(many_cards(owner, count).flashcards.all())
    for card in cards:
        with capture(execute=True):
            flashcard_review(card=card, rating=3)
    return cards


def _rate(client, card: Flashcard, rating: int = 3):
    return client.post(f"/api/flashcards/{card.pk}/review/", {"rating": rating}, format="json")


# --- FSRS fits: one per student, on the low queue ----------------------------


def test_a_student_reviewing_fast_has_one_fit_waiting_on_the_low_queue(
    user, other_user, settings, django_capture_on_commit_callbacks
):
    settings.STUDY_FSRS_MIN_REVIEWS = 4
    _review_each(user, 30, django_capture_on_commit_callbacks)  # seven steps of 4
    assert django_rq.get_queue("default").count == 0  # nothing stands before uploads
    assert django_rq.get_queue("low").job_ids == [f"fsrs-optimize-{user.pk}"]
    # Another student's fit waits beside it, not behind a pile of the first one's.
    _review_each(other_user, 4, django_capture_on_commit_callbacks)
    assert django_rq.get_queue("low").job_ids == [
        f"fsrs-optimize-{user.pk}",
        f"fsrs-optimize-{other_user.pk}",
    ]


def test_once_the_fit_has_run_the_next_step_queues_another(
    user, settings, run_jobs, django_capture_on_commit_callbacks
):
    settings.STUDY_FSRS_MIN_REVIEWS = 4
    _review_each(user, 5, django_capture_on_commit_callbacks)
    run_jobs()
    assert study_profile_get(user=user).optimized_reviews == 5
    assert django_rq.get_queue("low").count == 0
    # RQ still keeps the finished job: it must not block the next fit.
    _review_each(user, 4, django_capture_on_commit_callbacks)
    assert django_rq.get_queue("low").job_ids == [f"fsrs-optimize-{user.pk}"]


def test_the_worker_takes_everyones_jobs_before_fsrs_fits(
    user, other_user, settings, run_jobs, django_capture_on_commit_callbacks
):
    settings.STUDY_FSRS_MIN_REVIEWS = 4
    _review_each(user, 4, django_capture_on_commit_callbacks)  # the fit is queued first
    # Then another student's work on `default` (any job there stands for an upload).
    django_rq.get_queue("default", commit_mode="auto").enqueue(
        "materials.study.jobs.fsrs_optimize", other_user.pk, job_id="someone-elses-upload"
    )
    run_jobs()
    connection = django_rq.get_connection("default")
    finished = [
        Job.fetch(job_id, connection=connection)
        for name in ("default", "low")
        for job_id in django_rq.get_queue(name).finished_job_registry.get_job_ids()
    ]
    assert len(finished) == 2
    assert min(finished, key=lambda job: job.started_at).id == "someone-elses-upload"


# --- a card rated twice within seconds counts once ------------------------------------


def test_a_card_rated_twice_within_seconds_is_reviewed_once(user, api, logged_in):
    card = many_cards(user, 3).flashcards.first()
    first = _rate(api, card, 3)
    second = _rate(api, card, 1)  # a double click, a retried request
    assert first.status_code == second.status_code == 200
    assert second.json()["due"] == first.json()["due"]
    page = logged_in.post(f"/materials/flashcards/{card.pk}/review/", {"rating": "4"})
    assert page.status_code == 302
    assert ReviewLog.objects.filter(card=card).count() == 1
    assert ReviewLog.objects.get(card=card).rating == 3


def test_a_card_rated_again_after_the_window_is_reviewed_again(user):
    card = many_cards(user, 1).flashcards.get()
    start = timezone.now() - timedelta(minutes=1)
    flashcard_review(card=card, rating=1, now=start)
    flashcard_review(card=card, rating=3, now=start + timedelta(seconds=2))  # ignored
    flashcard_review(card=card, rating=3, now=start + timedelta(seconds=30))
    assert list(card.reviews.order_by("reviewed_at").values_list("rating", flat=True)) == [1, 3]


# --- rates per student -----------------------------------------------------------


def test_rating_faster_than_the_minute_limit_is_refused(
    user, api, logged_in, other_api, other_user, settings
):
    settings.STUDY_REVIEWS_PER_MINUTE = 3
    cards = list(many_cards(user, 6).flashcards.all())
    assert [_rate(api, card).status_code for card in cards[:3]] == [200, 200, 200]
    refused = _rate(api, cards[3])
    assert refused.status_code == 429
    assert refused.json() == {"detail": MINUTE_LIMIT, "code": "rate_limit"}
    assert 0 < int(refused["Retry-After"]) <= 60
    # The review page counts in the same window, and says why the card stays.
    page = logged_in.post(
        f"/materials/flashcards/{cards[4].pk}/review/", {"rating": "3"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "data-review-error" in page and "more than 3 cards a minute" in page
    russian = logged_in.post(
        f"/materials/flashcards/{cards[4].pk}/review/",
        {"rating": "3"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="ru",
    ).content.decode()
    assert "data-review-error" in russian and "больше 3 карточек в минуту" in russian
    assert ReviewLog.objects.filter(card__owner=user).count() == 3
    # Another student rates on.
    other_card = many_cards(other_user, 1).flashcards.get()
    assert _rate(other_api, other_card).status_code == 200


def test_rating_past_the_day_limit_is_refused(user, api, settings):
    settings.STUDY_REVIEWS_PER_MINUTE = 0
    settings.STUDY_REVIEWS_PER_DAY = 2
    cards = list(many_cards(user, 3).flashcards.all())
    assert [_rate(api, card).status_code for card in cards] == [200, 200, 429]
    assert "rated 2 cards in the last 24 hours" in _rate(api, cards[2]).json()["detail"]
    assert ReviewLog.objects.filter(card__owner=user).count() == 2
