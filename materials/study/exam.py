"""Scheduling toward a course's exam date: even new cards, then every card in the last 72 hours.

A student who studies daily has learned every card of the course before its
final window, and reviews each card once inside it. The rules, for a course
whose exam date is still ahead and that the student is a current member of
(owner, teacher or student); the exam starts at 00:00 of its date, site time:

- **New cards.** The final window is the three days before the exam (72
  hours). The course's cards the student has never reviewed are spread over
  the days left before it: today's share is
  ``ceil(unlearned at the start of today / max(1, days_left - 3))``, where
  days_left counts the days from today to the exam date. The share comes
  first among the day's new cards and is also the most the course gets that
  day: more would bunch the learning, and the reviews that follow it, at the
  start, fewer would leave it for the last days. The student's new cards a
  day still counts every card started today, the course's included: a share
  goes past it only by what the share needs, and other new cards (own
  uploads, courses without an exam) get only the places the shares leave.
- **Reviews.** When FSRS puts a card's next review after the window opens,
  the review is moved into the window, onto one of its three days picked by
  the card's id, so each window day holds a third of the course rather than
  all of it on one day. A review FSRS puts early in the window can so land
  up to two days later, still inside it: taking the sooner of the two dates
  piled those cards onto the window's first day (the simulation's busiest
  day then passed twice the mean). A review made inside the window is left
  as FSRS scheduled it: that was the card's final review.

A card in several such courses follows the soonest exam. Courses are reached
through the ORM's reverse relations (``user.memberships``,
``material.course_entries``), as materials.selectors.material_list_visible
does: materials imports no courses module.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from accounts.models import User
from materials.models import Flashcard, Material, ReviewLog

FINAL_WINDOW_DAYS = 3  # the 72 hours before the exam


def exam_start(exam_date: date) -> datetime:
    """The exam's moment: the start of its date in the site's time zone."""
    return timezone.make_aware(datetime.combine(exam_date, time.min))


def window_start(exam_date: date) -> datetime:
    """When the final window opens: the start of the third day before the exam."""
    return exam_start(exam_date - timedelta(days=FINAL_WINDOW_DAYS))


def daily_share(unlearned: int, days_left: int) -> int:
    """New cards to learn today so the last are learned the day before the final window."""
    if unlearned <= 0:
        return 0
    return math.ceil(unlearned / max(1, days_left - FINAL_WINDOW_DAYS))


@dataclass(frozen=True)
class ExamPlan:
    """One course's exam, as it stands for one student today."""

    course_id: int
    title: str
    exam_date: date
    days_left: int  # from today to the exam date
    unlearned: int  # the course's cards the student has never reviewed
    started_today: int  # the course's cards the student saw for the first time today
    material_ids: tuple[int, ...]

    @property
    def share(self) -> int:
        """Today's new cards of the course, fixed for the day (counted from its start)."""
        return daily_share(self.unlearned + self.started_today, self.days_left)

    @property
    def share_left(self) -> int:
        return max(0, self.share - self.started_today)

    @property
    def in_final_window(self) -> bool:
        return self.days_left <= FINAL_WINDOW_DAYS


def _exam_courses(user: User, today: date) -> list[tuple[int, str, date]]:
    """(course id, title, exam date) of the user's current courses with an exam ahead."""
    rows = (
        user.memberships.filter(removed_at__isnull=True, course__exam_date__gt=today)
        .order_by("course__exam_date", "course_id")
        .values_list("course_id", "course__title", "course__exam_date")
    )
    return [(course_id, title, exam) for course_id, title, exam in rows if exam is not None]


def exam_plans(
    *,
    user: User,
    new_cards: QuerySet[Flashcard],
    reviews: QuerySet[ReviewLog],
    now: datetime,
) -> list[ExamPlan]:
    """The user's courses with an exam ahead, soonest first, with today's share of each.

    `new_cards` are the cards the user may study and has never reviewed
    (suspended ones left out); `reviews` are the user's own reviews. One
    query when no course has an exam ahead, four otherwise.
    """
    local = timezone.localtime(now)
    today = local.date()
    courses = _exam_courses(user, today)
    if not courses:
        return []
    materials: dict[int, set[int]] = defaultdict(set)
    # One join path in filter and values: Django reuses it, so each pair is real.
    for course_id, material_id in Material.objects.filter(
        course_entries__unit__course_id__in=[course_id for course_id, _, _ in courses],
        is_hidden=False,
    ).values_list("course_entries__unit__course_id", "pk"):
        materials[course_id].add(material_id)
    # A card follows its soonest exam: a later course paces only what no sooner one does.
    claimed: set[int] = set()
    for course_id, _, _ in courses:
        materials[course_id] -= claimed
        claimed |= materials[course_id]
    every = set().union(*materials.values())
    unlearned = dict(
        new_cards.filter(material_id__in=every)
        .order_by()
        .values("material_id")
        .annotate(n=Count("pk", distinct=True))
        .values_list("material_id", "n")
    )
    start_of_today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    started: dict[int, int] = defaultdict(int)
    for material_id in (
        reviews.filter(card__material_id__in=every)
        .order_by()
        .values("card_id", "card__material_id")
        .annotate(first=Min("reviewed_at"))
        .filter(first__gte=start_of_today)
        .values_list("card__material_id", flat=True)
    ):
        started[material_id] += 1
    return [
        ExamPlan(
            course_id=course_id,
            title=title,
            exam_date=exam_date,
            days_left=(exam_date - today).days,
            unlearned=sum(unlearned.get(m, 0) for m in materials[course_id]),
            started_today=sum(started[m] for m in materials[course_id]),
            material_ids=tuple(sorted(materials[course_id])),
        )
        for course_id, title, exam_date in courses
    ]


def exam_material_ids(plans: Iterable[ExamPlan]) -> set[int]:
    """The materials whose new cards the exams pace (and the daily limit then does not)."""
    return {material_id for plan in plans for material_id in plan.material_ids}


def paced_new_cards(*, new_cards: QuerySet[Flashcard], plans: Iterable[ExamPlan]) -> list[int]:
    """Today's share of each exam's new cards, soonest exam first, in the course's order."""
    chosen: list[int] = []
    for plan in plans:
        if not plan.share_left:
            continue
        chosen += (
            new_cards.filter(material_id__in=plan.material_ids)
            .exclude(pk__in=chosen)
            .order_by("material_id", "position", "id")
            .values_list("pk", flat=True)[: plan.share_left]
        )
    return chosen


def exam_due(*, user: User, card: Flashcard, due: datetime, now: datetime) -> datetime:
    """FSRS's next due date of the card, moved into the final window of its soonest exam.

    Unchanged when the card is in no course of the user with an exam ahead,
    when this review is itself in the window, or when FSRS's date comes before
    the window opens (the card is reviewed before it, and then again).
    """
    today = timezone.localdate(now)
    exam_date = user.memberships.filter(
        removed_at__isnull=True,
        course__exam_date__gt=today,
        course__units__entries__material_id=card.material_id,
    ).aggregate(first=Min("course__exam_date"))["first"]
    if exam_date is None:
        return due
    opens = window_start(exam_date)
    if now >= opens or due <= opens:
        return due
    day = exam_date - timedelta(days=FINAL_WINDOW_DAYS - card.pk % FINAL_WINDOW_DAYS)
    return exam_start(day)
