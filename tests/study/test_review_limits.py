"""One student cannot fill the queue: one FSRS fit at a time, behind everyone's work.

On the real stack: RQ on the test Valkey, jobs run by a real worker.
"""

from __future__ import annotations

import django_rq
import pytest
from rq.job import Job

from materials.models import Flashcard
from materials.study.selectors import study_profile_get
from materials.study.services import flashcard_review
from tests.study.test_schedule import many_cards

pytestmark = pytest.mark.django_db


def _review_each(owner, count: int, capture) -> list[Flashcard]:
    """Rate `count` different cards, each committed as a request would commit it."""
    cards = list(many_cards(owner, count).flashcards.all())
    for card in cards:
        with capture(execute=True):
            flashcard_review(card=card, rating=3)
    return cards


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
    other = django_rq.get_queue("default", commit_mode="auto").enqueue(
        "materials.study.jobs.fsrs_optimize", other_user.pk, job_id="someone-elses-upload"
    )
    run_jobs()
    connection = django_rq.get_connection("default")
    fit = Job.fetch(f"fsrs-optimize-{user.pk}", connection=connection)
    other = Job.fetch(other.id, connection=connection)
    assert fit.is_finished and other.is_finished
    assert other.ended_at <= fit.started_at
