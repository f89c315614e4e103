"""Cards and review histories for the scheduling tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler

from materials.models import ReviewLog
from materials.study.services import flashcard_create
from tests.support.factories import MaterialFactory


def many_cards(owner, count: int, title: str = "Book"):
    material = MaterialFactory(owner=owner, title=title)
    for number in range(count):
        flashcard_create(
            owner=owner, material=material, front=f"Question {number}", back=f"Answer {number}"
        )
    return material


def review_history(owner, cards: int = 100, reviews: int = 9) -> None:
    """A plausible review history: each card reviewed when due, mostly Good.

    Enough of its reviews fall on a later day than the one before (600) for
    the fsrs optimizer, which keeps its defaults below 512 such reviews.
    """
    material = many_cards(owner, cards)
    rng = random.Random(7)
    scheduler = Scheduler(enable_fuzzing=False)
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    rows = []
    for card in material.flashcards.all():
        state = FsrsCard(card_id=card.pk, due=start)
        when = start + timedelta(days=rng.randint(0, 30))
        for _ in range(reviews):
            rating = Rating(rng.choices([1, 2, 3, 4], [0.08, 0.12, 0.7, 0.1])[0])
            state, _log = scheduler.review_card(state, rating, review_datetime=when)
            rows.append(
                ReviewLog(
                    card=card,
                    user_id=card.owner_id,
                    rating=int(rating),
                    reviewed_at=when,
                    due_after=state.due,
                )
            )
            when = max(when + timedelta(minutes=10), state.due)
    ReviewLog.objects.bulk_create(rows)
