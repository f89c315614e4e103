"""Cards and parameters from the days the torch optimizer fitted them schedule as they did.

Fitting moved from the `fsrs` package's optimizer (torch) to fsrs-rs; the
Scheduler, the card columns and the stored parameters did not change, and
these tests hold that: rows written then are left as they are, and
parameters fitted then still give the same intervals.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from materials.models import Flashcard, ReviewLog
from materials.study.fitting import review_items
from materials.study.selectors import study_profile_get
from materials.study.services import flashcard_review, scheduler_for
from tests.support.factories import MaterialFactory
from tests.support.reviews import review_history

pytestmark = pytest.mark.django_db

# What the torch optimizer (fsrs 6.3.2's Optimizer) fitted for a simulated
# student who forgets faster than FSRS's defaults, stored as
# services.fsrs_optimize stored it then (four decimals).
TORCH_FITTED = [
    0.0451, 0.9283, 1.9856, 7.9982, 6.5367, 0.6531, 2.9741, 0.0263, 1.7361, 0.2135, 0.6652,
    1.5229, 0.0152, 0.3016, 1.7514, 0.5097, 1.7346, 0.4182, 0.0, 0.1419, 0.1438,
]  # fmt: skip
LAST = datetime(2026, 3, 1, 9, tzinfo=UTC)
NOW = datetime(2026, 3, 14, 9, tzinfo=UTC)
COLUMNS = ("state", "step", "stability", "difficulty", "due", "last_review")


def _stored_cards(owner) -> list[Flashcard]:
    """A learning, a review and a relearning card, their FSRS columns as the old code wrote them."""
    material = MaterialFactory(owner=owner, title="Scheduled before")
    columns = [
        (Flashcard.State.LEARNING, 1, 2.3065, 2.1181, LAST + timedelta(minutes=10)),
        (Flashcard.State.REVIEW, None, 12.5, 6.2, LAST + timedelta(days=12)),
        (Flashcard.State.RELEARNING, 0, 1.7, 8.4, LAST + timedelta(minutes=10)),
    ]
    return [
        Flashcard.objects.create(
            owner=owner,
            material=material,
            front=f"Q{position}",
            back="A",
            position=position,
            state=state,
            step=step,
            stability=stability,
            difficulty=difficulty,
            due=due,
            last_review=LAST,
        )  # fmt: skip
        for position, (state, step, stability, difficulty, due) in enumerate(columns, start=1)
    ]


def _snapshot(cards: list[Flashcard]) -> list[tuple]:
    return list(
        Flashcard.objects.filter(pk__in=[c.pk for c in cards]).order_by("pk").values_list(*COLUMNS)
    )


def test_cards_scheduled_before_keep_their_due_dates_and_states_through_a_new_fit(
    user, settings, run_jobs, django_capture_on_commit_callbacks
):
    settings.STUDY_FSRS_MIN_REVIEWS = 800
    profile = study_profile_get(user=user)
    profile.fsrs_parameters = TORCH_FITTED
    profile.save()
    stored = _stored_cards(user)
    before = _snapshot(stored)
    review_history(user)
    card = Flashcard.objects.filter(owner=user, reviews__isnull=False).first()
    with django_capture_on_commit_callbacks(execute=True):
        flashcard_review(card=card, rating=3)  # the 901st review queues the fit
    run_jobs()
    profile.refresh_from_db()
    # fsrs-rs fitted new parameters, in the shape the Scheduler takes...
    assert profile.optimized_reviews == ReviewLog.objects.filter(card__owner=user).count()
    assert len(profile.fsrs_parameters) == len(TORCH_FITTED)
    assert profile.fsrs_parameters != TORCH_FITTED
    # ...and no card's due date or state moved: they change only when reviewed.
    assert _snapshot(stored) == before


def test_parameters_stored_before_give_the_same_intervals(user):
    profile = study_profile_get(user=user)
    profile.fsrs_parameters = TORCH_FITTED
    profile.save()
    assert tuple(scheduler_for(user).parameters) == tuple(TORCH_FITTED)
    review, relearning = _stored_cards(user)[1:]

    good = flashcard_review(card=review, rating=3, now=NOW)
    # The values the Scheduler gave with these parameters before fsrs-rs came.
    assert good.state == Flashcard.State.REVIEW
    assert good.stability == pytest.approx(26.534418205640275)
    assert good.difficulty == pytest.approx(6.048573561063808)
    # 27 days, fuzzed by FSRS within 22-32 (the defaults would give 33-43).
    assert 22 <= (good.due - NOW).days <= 32

    again = flashcard_review(card=relearning, rating=1, now=NOW)
    assert (again.state, again.step) == (Flashcard.State.RELEARNING, 0)
    assert again.stability == pytest.approx(0.8320461468169399)  # the defaults: 0.617
    assert again.difficulty == pytest.approx(9.22036019928603)
    assert again.due == NOW + timedelta(minutes=10)


def test_a_fit_counts_days_as_the_scheduler_does():
    """Whole 24-hour periods since the last review, as the Scheduler's retrievability counts."""
    late = datetime(2026, 3, 1, 23, tzinfo=UTC)
    reviews = [
        (7, 3, late),
        (7, 3, late + timedelta(hours=2)),  # the next date, but not a day later: not predicted
        (7, 3, late + timedelta(hours=27)),
        (7, 1, late + timedelta(days=3, hours=4)),
    ]
    items, cards = review_items(reviews)
    assert cards == [7, 7]
    assert [repr(item.reviews) for item in items] == [
        "[FSRSReview { rating: 3, delta_t: 0 }, FSRSReview { rating: 3, delta_t: 0 }, "
        "FSRSReview { rating: 3, delta_t: 1 }]",
        "[FSRSReview { rating: 3, delta_t: 0 }, FSRSReview { rating: 3, delta_t: 0 }, "
        "FSRSReview { rating: 3, delta_t: 1 }, FSRSReview { rating: 1, delta_t: 2 }]",
    ]
