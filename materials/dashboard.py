"""The student's dashboard: what is due, the study streak, recent materials, quiz scores.

Read-only selectors; the chart is laid out here (plain numbers for an inline
SVG in the template), so no JavaScript chart library is needed and the maths
is tested without a browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from materials.models import Material, QuizAttempt, StudyProfile
from materials.selectors import material_list
from materials.study.selectors import (
    DueToday,
    as_seen,
    day_bounds,
    due_today,
    mistake_list,
    quiz_attempt_list,
    reviews_by,
    study_profile_get,
)

RECENT_MATERIALS = 5
RECENT_MISTAKES = 5
CHART_ATTEMPTS = 20
STREAK_WINDOW_DAYS = 366


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    percent: int
    label: str


@dataclass(frozen=True)
class ScoreChart:
    """Quiz scores as percentages, placed in a width × height box with room for labels."""

    width: int
    height: int
    points: list[ChartPoint] = field(default_factory=list)
    gridlines: list[tuple[float, int]] = field(default_factory=list)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Dashboard:
    due_count: int
    due: DueToday
    profile: StudyProfile
    review_count: int
    fsrs_min_reviews: int
    mistakes: list  # a few of the cards the student's mistakes brought back
    mistake_count: int

    @property
    def retention_percent(self) -> int:
        return round(self.profile.desired_retention * 100)

    streak: int
    studied_today: bool
    recent: list[Material]
    chart: ScoreChart
    attempt_count: int
    average_percent: int | None


def score_chart(
    attempts: Sequence[tuple[datetime, int, int]], *, width: int = 600, height: int = 180
) -> ScoreChart:
    """Lay out (when, score, total) attempts, oldest first, as a line from 0 to 100 %.

    Attempts with no questions are skipped (they have no percentage). One
    attempt is drawn in the middle, so a first score still shows as a dot.
    """
    left, right, top, bottom = 36, 12, 10, 24
    inner_w, inner_h = width - left - right, height - top - bottom
    scored = [(when, score, total) for when, score, total in attempts if total > 0]
    gridlines = [(top + inner_h * (1 - level / 100), level) for level in (0, 50, 100)]
    points = []
    for index, (when, score, total) in enumerate(scored):
        percent = round(100 * score / total)
        step = inner_w / (len(scored) - 1) if len(scored) > 1 else 0
        x = left + (index * step if len(scored) > 1 else inner_w / 2)
        y = top + inner_h * (1 - percent / 100)
        label = f"{timezone.localtime(when):%d.%m} · {score}/{total}"
        points.append(ChartPoint(x=x, y=y, percent=percent, label=label))
    return ScoreChart(width=width, height=height, points=points, gridlines=gridlines)


def study_days(*, owner: User, since: date) -> set[date]:
    """Local dates on which the student reviewed a card or took a quiz."""
    tz = timezone.get_current_timezone()
    reviews = (
        # Their own reviews, course cards too; never their students' on their cards.
        reviews_by(user=owner)
        .filter(reviewed_at__date__gte=since)
        .annotate(day=TruncDate("reviewed_at", tzinfo=tz))
        .values_list("day", flat=True)
    )
    quizzes = (
        QuizAttempt.objects.filter(owner=owner, created_at__date__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values_list("day", flat=True)
    )
    return set(reviews) | set(quizzes)


def streak_length(days: Iterable[date], *, today: date) -> int:
    """Consecutive study days ending today, or yesterday when today is not studied yet.

    A streak is not lost before the day is over, so a student who studied every
    day up to yesterday still sees it in the morning.
    """
    days = set(days)
    current = today if today in days else today - timedelta(days=1)
    count = 0
    while current in days:
        count += 1
        current -= timedelta(days=1)
    return count


def dashboard_get(*, owner: User, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = study_days(owner=owner, since=today - timedelta(days=STREAK_WINDOW_DAYS))
    attempts = list(
        quiz_attempt_list(owner=owner).values_list("created_at", "score", "total")[:CHART_ATTEMPTS]
    )
    attempts.reverse()
    profile = study_profile_get(user=owner)
    due = due_today(owner=owner, now=now, profile=profile)
    mistakes = mistake_list(owner=owner).select_related("material")
    _, end_of_today = day_bounds(now)
    # A course's shared card shows the student's own due date, not the teacher's.
    shown_mistakes = as_seen(mistakes[:RECENT_MISTAKES])
    for card in shown_mistakes:
        # For the page only: no column of the row.
        card.due_later = card.due > end_of_today  # type: ignore[attr-defined]
    scored = [(score, total) for _, score, total in attempts if total]
    average = round(100 * sum(s for s, _ in scored) / sum(t for _, t in scored)) if scored else None
    return Dashboard(
        due_count=due.total,
        due=due,
        profile=profile,
        # The student's own reviews: not their students' on their shared cards.
        review_count=reviews_by(user=owner).count(),
        fsrs_min_reviews=settings.STUDY_FSRS_MIN_REVIEWS,
        mistakes=shown_mistakes,
        mistake_count=mistakes.count(),
        streak=streak_length(days, today=today),
        studied_today=today in days,
        recent=list(material_list(owner=owner).order_by("-created_at", "-id")[:RECENT_MATERIALS]),
        chart=score_chart(attempts),
        attempt_count=quiz_attempt_list(owner=owner).count(),
        average_percent=average,
    )
