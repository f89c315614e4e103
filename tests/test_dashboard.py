"""The study dashboard: due cards, streak, recent materials and the quiz score chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from materials.dashboard import dashboard_get, score_chart, streak_length
from materials.models import Flashcard, QuizAttempt, ReviewLog
from tests.support.factories import MaterialFactory, UserFactory

TODAY = date(2026, 3, 10)


def days_before(*offsets: int) -> set[date]:
    return {TODAY - timedelta(days=n) for n in offsets}


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (days_before(0, 1, 2), 3),
        (days_before(1, 2), 2),  # not studied yet today: the streak still stands
        (days_before(0, 2, 3), 1),  # a missed day ends it
        (days_before(2, 3), 0),
        (set(), 0),
    ],
)
def test_streak_counts_consecutive_days(days, expected):
    assert streak_length(days, today=TODAY) == expected


def test_chart_places_scores_from_left_to_right_and_bottom_to_top():
    when = datetime(2026, 3, 1, 12, tzinfo=UTC)
    chart = score_chart([(when, 1, 2), (when, 0, 0), (when, 4, 4)], width=200, height=100)
    assert [p.percent for p in chart.points] == [50, 100]  # the empty attempt is skipped
    first, last = chart.points
    assert first.x < last.x and last.y < first.y
    assert chart.gridlines[0][1] == 0 and chart.gridlines[-1][1] == 100
    assert chart.gridlines[-1][0] == pytest.approx(last.y)  # 100 % sits on the top line
    assert chart.polyline == f"{first.x:.1f},{first.y:.1f} {last.x:.1f},{last.y:.1f}"
    (single,) = score_chart([(when, 3, 4)], width=200, height=100).points
    assert single.percent == 75 and single.label.endswith("3/4")


@pytest.mark.django_db
def test_dashboard_counts_only_the_students_own_study(user, other_user):
    now = timezone.now()
    mine = MaterialFactory(owner=user, status="ready")
    theirs = MaterialFactory(owner=other_user, status="ready")
    for owner, material in ((user, mine), (other_user, theirs)):
        for n in range(3):
            Flashcard.objects.create(
                owner=owner, material=material, front=f"q{n}", back="a", due=now, page=1
            )
        Flashcard.objects.create(
            owner=owner, material=material, front="later", back="a", due=now + timedelta(days=5)
        )
    card = mine.flashcards.first()
    for back in (0, 1):
        ReviewLog.objects.create(
            card=card, rating=3, reviewed_at=now - timedelta(days=back), due_after=now
        )
    QuizAttempt.objects.create(owner=user, material=mine, score=1, total=4)
    QuizAttempt.objects.create(owner=user, material=mine, score=3, total=4)
    QuizAttempt.objects.create(owner=other_user, material=theirs, score=0, total=4)

    board = dashboard_get(owner=user, now=now)
    assert board.due_count == 3
    assert board.streak == 2 and board.studied_today
    assert board.recent == [mine]
    assert [p.percent for p in board.chart.points] == [25, 75]  # oldest first
    assert board.attempt_count == 2 and board.average_percent == 50

    empty = dashboard_get(owner=UserFactory(), now=now)
    assert (empty.due_count, empty.streak, empty.recent, empty.chart.points) == (0, 0, [], [])
    assert empty.average_percent is None


@pytest.mark.django_db
def test_dashboard_page_shows_the_chart_and_empty_states(logged_in, user):
    page = logged_in.get("/").content.decode()
    assert "No materials yet" in page and "Take a quiz on one of your materials" in page
    mine = MaterialFactory(owner=user, status="ready")
    QuizAttempt.objects.create(owner=user, material=mine, score=2, total=4)
    QuizAttempt.objects.create(owner=user, material=mine, score=4, total=4)
    page = logged_in.get("/").content.decode()
    assert '<svg class="chart"' in page and page.count('<circle class="dot"') == 2
    assert "<polyline" in page and mine.title in page
