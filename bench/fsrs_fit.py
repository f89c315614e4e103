"""FSRS parameters fitted by fsrs-rs (ours) against the `fsrs` package's torch optimizer.

`python -m bench.fsrs_fit [--json PATH] [--cards N]`

Both fit the same review histories; each fit is then scored by one
evaluator, so the two log-losses compare:

- `scheduler`: the loss the torch optimizer minimises, computed with the
  `fsrs` package's Scheduler (the one that schedules our cards): each card's
  history replayed, the predicted recall at every review made on a later day
  than the one before, against whether it was recalled (rating > Again);
- `fsrs-rs`: fsrs-rs's own evaluation of the same reviews.

Each on the reviews fitted ("same") and on a fresh history of the same
student ("fresh": other cards, what a fit is for). The histories: three
simulated students whose memory follows FSRS with parameters of their own
(one like the defaults, one who forgets faster, one who remembers longer),
reviewing when the default schedule says, a quarter of the time late; and
the test suite's kind of history (ratings drawn at random, whatever the
memory), which no fit can predict much better than chance. The torch
optimizer comes from the bench group (`fsrs[optimizer]`), the only install
that still has it; it takes minutes per history, ours well under a second.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fsrs import Card, Rating, Scheduler
from fsrs import ReviewLog as FsrsReviewLog
from fsrs_rs_python import FSRS

from materials.study.fitting import Review, fit_parameters, review_items

START = datetime(2025, 1, 1, 9, tzinfo=UTC)
DEFAULTS = Scheduler().parameters


def _scaled(factors: dict[int, float]) -> tuple[float, ...]:
    return tuple(p * factors.get(i, 1.0) for i, p in enumerate(DEFAULTS))


# Students' own memories: FSRS with these parameters decides what they recall.
STUDENTS: dict[str, tuple[float, ...]] = {
    "like the defaults": DEFAULTS,
    "forgets faster": _scaled({0: 0.4, 1: 0.4, 2: 0.4, 3: 0.5, 8: 0.75, 11: 1.3}),
    "remembers longer": _scaled({0: 2.5, 1: 2.5, 2: 2.0, 3: 1.6, 8: 1.15, 15: 1.2}),
}


def simulated_student(memory: tuple[float, ...], *, cards: int, seed: int) -> list[Review]:
    """Reviews when the default schedule says (a quarter of them 1-3 days late), recalled
    with the probability the student's own memory gives; Hard, Good or Easy when recalled."""
    rng = random.Random(seed)
    schedule = Scheduler(enable_fuzzing=False)
    truth = Scheduler(parameters=memory, enable_fuzzing=False)
    reviews: list[Review] = []
    end = START + timedelta(days=240)
    for card_id in range(cards):
        shown = Card(card_id=card_id, due=START)
        known = Card(card_id=card_id, due=START)
        when = START + timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 600))
        while when < end:
            if known.last_review is None:
                rating = rng.choices([1, 2, 3, 4], [0.25, 0.1, 0.55, 0.1])[0]
            elif rng.random() < truth.get_card_retrievability(known, when):
                rating = rng.choices([2, 3, 4], [0.15, 0.75, 0.1])[0]
            else:
                rating = 1
            reviews.append((card_id, rating, when))
            shown, _log = schedule.review_card(shown, Rating(rating), review_datetime=when)
            known, _log = truth.review_card(known, Rating(rating), review_datetime=when)
            late = timedelta(days=rng.randint(1, 3)) if rng.random() < 0.25 else timedelta()
            when = max(when + timedelta(minutes=1), shown.due + late)
    return reviews


def random_ratings(*, cards: int, seed: int) -> list[Review]:
    """tests/study/test_schedule.py's history: each card reviewed when due, ratings at random."""
    rng = random.Random(seed)
    scheduler = Scheduler(enable_fuzzing=False)
    reviews: list[Review] = []
    for card_id in range(cards):
        state = Card(card_id=card_id, due=START)
        when = START + timedelta(days=rng.randint(0, 30))
        for _ in range(9):
            rating = rng.choices([1, 2, 3, 4], [0.08, 0.12, 0.7, 0.1])[0]
            state, _log = scheduler.review_card(state, Rating(rating), review_datetime=when)
            reviews.append((card_id, rating, when))
            when = max(when + timedelta(minutes=10), state.due)
    return reviews


def scheduler_log_loss(parameters: list[float], reviews: list[Review]) -> float:
    """The torch optimizer's loss, without torch: binary cross-entropy of the Scheduler's
    recall at each later-day review (log clamped at -100, as torch's BCELoss does)."""
    scheduler = Scheduler(parameters=parameters, enable_fuzzing=False)
    total, count = 0.0, 0
    cards: dict[int, Card] = {}
    for card_id, rating, when in sorted(reviews, key=lambda r: (r[0], r[2])):
        card = cards.get(card_id) or Card(card_id=card_id, due=when)
        if card.last_review and (when - card.last_review).days > 0:
            p = scheduler.get_card_retrievability(card, when)
            recalled = rating > 1
            total -= max(math.log(p if recalled else 1 - p) if 0 < p < 1 else -100.0, -100.0)
            count += 1
        cards[card_id], _log = scheduler.review_card(card, Rating(rating), review_datetime=when)
    return total / count


def fsrs_rs_log_loss(parameters: list[float], reviews: list[Review]) -> float:
    items, _cards = review_items(reviews)
    return FSRS(parameters).evaluate(items).log_loss


def torch_fit(reviews: list[Review]) -> list[float]:
    from fsrs import Optimizer

    logs = [
        FsrsReviewLog(card_id=c, rating=Rating(r), review_datetime=w, review_duration=None)
        for c, r, w in reviews
    ]
    return list(Optimizer(logs).compute_optimal_parameters())


def ours_fit(reviews: list[Review]) -> list[float]:
    """The product's fit (services.fsrs_optimize) for a student on the default parameters."""
    return fit_parameters(
        reviews, current=DEFAULTS, relearning_steps=len(Scheduler().relearning_steps)
    )


def measure(name: str, reviews: list[Review], fresh: list[Review]) -> dict:
    """Both fits on the whole history, scored on it and on the fresh one."""
    result: dict = {
        "history": name,
        "reviews": len(reviews),
        "later_day_reviews": len(review_items(reviews)[0]),
        "fresh_reviews": len(fresh),
    }
    fits: dict[str, Callable[[list[Review]], list[float]]] = {
        "ours": ours_fit,
        "baseline": torch_fit,
        "defaults": lambda _reviews: list(DEFAULTS),
    }
    for label, fit in fits.items():
        started = time.perf_counter()
        # Four decimals, as services.fsrs_optimize stores them.
        parameters = [round(float(p), 4) for p in fit(reviews)]
        result[label] = {
            "fit_seconds": round(time.perf_counter() - started, 2),
            "parameters": parameters,
            "scheduler_log_loss": round(scheduler_log_loss(parameters, reviews), 4),
            "scheduler_log_loss_fresh": round(scheduler_log_loss(parameters, fresh), 4),
            "fsrs_rs_log_loss": round(fsrs_rs_log_loss(parameters, reviews), 4),
            "fsrs_rs_log_loss_fresh": round(fsrs_rs_log_loss(parameters, fresh), 4),
        }
    return result


def table(results: list[dict]) -> str:
    lines = [
        "| history | reviews (later-day) | fit | scheduler log-loss, same / fresh "
        "| fsrs-rs log-loss, same / fresh | fit time |",
        "|---|---|---|---|---|---|",
    ]
    for row in results:
        for label in ("ours", "baseline", "defaults"):
            r = row[label]
            cells = [
                row["history"],
                f"{row['reviews']} ({row['later_day_reviews']})",
                label,
                f"{r['scheduler_log_loss']:.4f} / {r['scheduler_log_loss_fresh']:.4f}",
                f"{r['fsrs_rs_log_loss']:.4f} / {r['fsrs_rs_log_loss_fresh']:.4f}",
                f"{r['fit_seconds']:.2f} s",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--cards", type=int, default=600, help="cards per simulated student")
    args = parser.parse_args(argv)
    histories = {
        f"simulated, {name}": (
            simulated_student(memory, cards=args.cards, seed=21 + number),
            simulated_student(memory, cards=1000, seed=900 + number),
        )
        for number, (name, memory) in enumerate(STUDENTS.items())
    }
    histories["random ratings (test suite)"] = (
        random_ratings(cards=args.cards * 3 // 4, seed=27),
        random_ratings(cards=1000, seed=901),
    )
    results = []
    for name, (reviews, fresh) in histories.items():
        results.append(measure(name, reviews, fresh))
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
