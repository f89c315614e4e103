"""Fitting a student's FSRS parameters to their review history, with fsrs-rs.

fsrs-rs (the `fsrs-rs-python` package) is the Rust FSRS engine Anki fits
its parameters with; it needs neither torch nor pandas, which the `fsrs`
package's own optimizer brings into every install. Scheduling stays with the
`fsrs` package's Scheduler: it takes the fitted parameters as they are (both
engines are FSRS-6, 21 parameters, clipped to the same bounds).

Elapsed time is counted as the Scheduler counts it: whole 24-hour periods
since the previous review, so the parameters are fitted on the intervals they
will be applied to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import groupby

from fsrs_rs_python import DEFAULT_PARAMETERS, FSRS, FSRSItem, FSRSReview, TrainingConfig

# Each review: (card id, rating 1-4, when).
Review = tuple[int, int, datetime]
# Passes over the reviews; more than fsrs-rs's default (5), with which a fit
# on a few hundred cards predicted a student's later reviews worse than the
# torch optimizer had (bench/fsrs_fit.py, docs/benchmarks.md).
EPOCHS = 20


def review_items(reviews: Iterable[Review]) -> tuple[list[FSRSItem], list[int]]:
    """Each card's history as fsrs-rs training items, and the card of each item.

    One item per review made on a later day than the card's previous review:
    the history up to it, whose last rating is the recall to predict (Anki
    builds its training set the same way). Same-day reviews stay in the
    histories (they move the short-term state) but are never predicted.
    """
    items: list[FSRSItem] = []
    card_ids: list[int] = []
    ordered = sorted(reviews, key=lambda review: (review[0], review[2]))
    for card_id, history in groupby(ordered, key=lambda review: review[0]):
        steps: list[FSRSReview] = []
        previous: datetime | None = None
        for _card, rating, when in history:
            elapsed = 0 if previous is None else max(0, (when - previous).days)
            steps.append(FSRSReview(rating, elapsed))
            previous = when
            if elapsed > 0:
                items.append(FSRSItem(list(steps)))
                card_ids.append(card_id)
    return items, card_ids


def fit_parameters(
    reviews: Iterable[Review], *, current: Sequence[float], relearning_steps: int
) -> list[float]:
    """FSRS-6 parameters fitted to these reviews, or `current` when the fit is no better.

    The fit is kept only when it predicts these reviews better than the
    parameters in use (fsrs-rs's own log-loss), so a fit never makes a
    student's schedule worse on the evidence it has. `relearning_steps` is
    the Scheduler's number of relearning steps, which the fit takes into
    account for cards forgotten and learnt again. Four decimals, as stored.
    """
    items, card_ids = review_items(reviews)
    current = [float(p) for p in current]
    if not items:
        return current
    fitted = FSRS(DEFAULT_PARAMETERS).compute_parameters(
        items,
        card_ids=card_ids,
        enable_short_term=True,
        num_relearning_steps=relearning_steps,
        training_config=TrainingConfig(num_epochs=EPOCHS),
    )
    fitted = [round(float(p), 4) for p in fitted]
    if FSRS(fitted).evaluate(items).log_loss < FSRS(current).evaluate(items).log_loss:
        return fitted
    return current
