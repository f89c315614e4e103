"""Scheduling toward a course's exam: even new cards, every card once in the last 72 hours.

The simulation drives the real services (the due queue, flashcard_review)
day by day with their `now` parameter: no clock is frozen or mocked.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

import pytest
from django.db.models import Min
from django.test import Client
from django.utils import timezone
from fsrs import Card as FsrsCard
from fsrs import Scheduler
from fsrs import State as FsrsState

from courses.models import CourseMaterial
from courses.services import (
    course_create,
    course_join,
    invite_create,
    member_remove,
    unit_create,
)
from materials.models import CardState, ReviewLog
from materials.study.exam import daily_share, exam_start, window_start
from materials.study.selectors import due_today, flashcard_due_list
from materials.study.services import flashcard_review, study_profile_update
from tests.support.factories import UserFactory
from tests.support.reviews import many_cards

pytestmark = pytest.mark.django_db


def _first_day() -> datetime:
    """Tomorrow at 09:00: after the cards were made, whatever the hour the test runs."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, time(9)))


def _course(cards: int, exam_in_days: int | None, title: str = "Biology"):
    """A teacher's course of `cards` cards, its exam `exam_in_days` after the first day."""
    teacher = UserFactory()
    material = many_cards(teacher, cards, title=f"{title} notes")
    exam = _first_day().date() + timedelta(days=exam_in_days) if exam_in_days else None
    course = course_create(owner=teacher, title=title, exam_date=exam)
    unit = unit_create(course=course, title="Cells")
    CourseMaterial.objects.create(unit=unit, material=material)
    student = UserFactory()
    course_join(user=student, code=invite_create(course=course, by=teacher).code)
    return course, material, student


def _new_in_queue(student, now):
    return [card for card in flashcard_due_list(owner=student, now=now) if card.queue in (1, 2)]


def test_the_share_spreads_unlearned_cards_over_the_days_before_the_final_window():
    assert daily_share(30, 13) == 3  # ten learning days
    assert daily_share(31, 13) == 4
    assert daily_share(5, 4) == 5  # the last day before the window
    assert daily_share(5, 2) == 5  # inside the window: whatever is left, at once
    assert daily_share(0, 10) == 0


def test_the_exams_share_comes_first_then_other_new_cards_fill_the_daily_limit():
    course, material, student = _course(40, exam_in_days=13)
    own = many_cards(student, 30, title="My notes")
    now = _first_day()

    new = _new_in_queue(student, now)
    due = due_today(owner=student, now=now)

    assert [card.material_id for card in new[:4]] == [material.pk] * 4  # ceil(40 / 10)
    assert [card.material_id for card in new[4:]] == [own.pk] * 16  # the setting's 20 places
    assert due.new == 20 and due.new_waiting == 36 + 14
    (plan,) = due.exams
    assert (plan.title, plan.days_left, plan.unlearned, plan.share) == ("Biology", 13, 40, 4)


def test_the_share_goes_past_the_daily_limit_only_as_far_as_it_needs():
    _course_row, material, student = _course(40, exam_in_days=13)
    many_cards(student, 30, title="My notes")
    study_profile_update(user=student, new_cards_per_day=2)
    now = _first_day()

    new = _new_in_queue(student, now)

    assert [card.material_id for card in new] == [material.pk] * 4  # no own card today
    assert due_today(owner=student, now=now).new == 4


def test_the_share_is_fixed_for_the_day_as_cards_are_learned():
    _course_row, _material, student = _course(40, exam_in_days=13)
    now = _first_day()
    for card in _new_in_queue(student, now)[:3]:
        flashcard_review(card=card, rating=3, user=student, now=now)
        now += timedelta(seconds=30)

    (plan,) = due_today(owner=student, now=now).exams
    assert (plan.share, plan.started_today, plan.share_left, plan.unlearned) == (4, 3, 1, 37)
    assert len(_new_in_queue(student, now)) == 1


def test_a_review_past_the_window_is_brought_into_it_spread_over_its_three_days():
    course, material, student = _course(9, exam_in_days=6)
    now = _first_day()
    for card in material.flashcards.all():
        flashcard_review(card=card, rating=4, user=student, now=now)  # Easy: FSRS says weeks
        now += timedelta(seconds=30)

    opens, exam = window_start(course.exam_date), exam_start(course.exam_date)
    dues = [state.due for state in CardState.objects.filter(user=student)]
    assert all(opens <= due < exam for due in dues)
    assert Counter(timezone.localdate(due) for due in dues) == {
        course.exam_date - timedelta(days=days): 3 for days in (1, 2, 3)
    }


def test_no_cap_without_an_exam_ahead_or_once_removed_from_the_course():
    _no_exam, plain, student = _course(3, exam_in_days=None)
    course, material, removed = _course(3, exam_in_days=6, title="History")
    member_remove(membership=course.memberships.get(user=removed), by=course.owner)
    now = _first_day()
    card = plain.flashcards.first()
    flashcard_review(card=card, rating=4, user=student, now=now)
    other = material.flashcards.first()
    flashcard_review(card=other, rating=4, user=removed, now=now)

    # Easy on a new card: about eight days, six at the least with FSRS's fuzz;
    # capped, it would fall inside the window, before the exam starts.
    exam = exam_start(course.exam_date)
    assert CardState.objects.get(user=student, card=card).due > exam
    assert CardState.objects.get(user=removed, card=other).due > exam


def _study_the_day(student, now: datetime) -> int:
    """Review every card the queue holds today, answering Good; the number of reviews."""
    reviews = 0
    while True:
        queue = list(flashcard_due_list(owner=student, now=now))
        ready = [card for card in queue if card.my_due <= now]
        if not ready:
            if not queue:
                return reviews
            now = min(card.my_due for card in queue) + timedelta(seconds=1)
            continue
        for card in ready:
            flashcard_review(card=card, rating=3, user=student, now=now)
            reviews += 1
            now += timedelta(seconds=20)


@pytest.mark.parametrize(("days", "cards"), [(18, 45), (6, 12)])
def test_a_daily_student_learns_every_card_and_reviews_each_in_the_last_72_hours(days, cards):
    course, material, student = _course(cards, exam_in_days=days)
    first = _first_day()

    load = [_study_the_day(student, first + timedelta(days=day)) for day in range(days)]

    opens, exam = window_start(course.exam_date), exam_start(course.exam_date)
    logs = ReviewLog.objects.filter(user=student)
    assert logs.values("card").distinct().count() == cards  # every card learned
    first_seen = {
        row["card"]: row["reviewed_at"]
        for row in logs.values("card").order_by().annotate(reviewed_at=Min("reviewed_at"))
    }
    assert max(first_seen.values()) < opens  # learned before the final window
    in_window = set(
        logs.filter(reviewed_at__gte=opens, reviewed_at__lt=exam).values_list("card", flat=True)
    )
    assert in_window == set(material.flashcards.values_list("pk", flat=True))
    mean = sum(load) / len(load)
    print("LOAD", load)
    assert max(load) <= 2 * mean, load  # an even load, not dumped on the last days
    assert min(load) > 0, load  # and never a day off before the exam
    # FSRS's own forgetting curve: every card is still at the student's
    # desired retention or above when the exam starts.
    scheduler = Scheduler()
    recall = [
        scheduler.get_card_retrievability(
            FsrsCard(
                card_id=state.card_id,
                state=FsrsState(state.state),
                step=state.step,
                stability=state.stability,
                difficulty=state.difficulty,
                due=state.due,
                last_review=state.last_review,
            ),
            current_datetime=exam,
        )
        for state in CardState.objects.filter(user=student)
    ]
    assert min(recall) >= scheduler.desired_retention, min(recall)


def test_the_dashboard_shows_days_to_the_exam_cards_not_learned_and_todays_share():
    course = course_create(
        owner=UserFactory(),
        title="Biology",
        exam_date=timezone.localdate() + timedelta(days=13),
    )
    unit = unit_create(course=course, title="Cells")
    CourseMaterial.objects.create(unit=unit, material=many_cards(course.owner, 40))
    student = UserFactory()
    course_join(user=student, code=invite_create(course=course, by=course.owner).code)
    client = Client()
    client.force_login(student)

    page = client.get("/").content.decode()
    russian = client.get("/", headers={"accept-language": "ru"}).content.decode()

    assert "Exams ahead" in page and "Biology" in page
    assert "data-days-left>13<" in page and "data-unlearned>40<" in page
    assert "4 new cards" in page  # ceil(40 / (13 - 3))
    assert "Экзамены впереди" in russian and "4 новые карточки" in russian


def test_a_card_in_two_exam_courses_is_paced_by_the_soonest_exam_only():
    """The later course's share counts none of the cards the sooner exam paces."""
    soon, material, student = _course(70, exam_in_days=10)
    later = course_create(
        owner=soon.owner, title="Biology II", exam_date=soon.exam_date + timedelta(days=20)
    )
    CourseMaterial.objects.create(unit=unit_create(course=later, title="Cells"), material=material)
    course_join(user=student, code=invite_create(course=later, by=soon.owner).code)
    now = _first_day()

    plans = due_today(owner=student, now=now).exams

    assert len(_new_in_queue(student, now)) == 10  # ceil(70 / (10 - 3)), once
    assert [(plan.title, plan.unlearned) for plan in plans] == [("Biology", 70), ("Biology II", 0)]
