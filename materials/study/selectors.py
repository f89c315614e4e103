"""Reads on study content. Every selector takes the owner."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from materials.models import (
    CardState,
    Flashcard,
    Material,
    NoteSection,
    PrivateEdit,
    QuizAttempt,
    QuizQuestion,
    ReviewLog,
    StudyProfile,
    StudySet,
)
from materials.selectors import material_list_visible
from materials.study.exam import ExamPlan, exam_material_ids, exam_plans, paced_new_cards


def study_set_get(*, owner: User, material: Material) -> StudySet | None:
    if material.owner_id != owner.pk:
        return None
    return StudySet.objects.filter(material=material).first()


def note_section_list(*, owner: User, material: Material) -> QuerySet[NoteSection]:
    return NoteSection.objects.filter(
        material=material, material__owner=owner, material__is_hidden=False
    ).order_by("position")


def flashcard_list(
    *, owner: User, material: Material | None = None, include_suspended: bool = True
) -> QuerySet[Flashcard]:
    cards = Flashcard.objects.filter(owner=owner, is_hidden=False, material__is_hidden=False)
    if material is not None:
        cards = cards.filter(material=material)
    if not include_suspended:
        cards = cards.filter(is_suspended=False)
    return cards.select_related("material").order_by("material", "position", "id")


def flashcard_list_visible(*, user: User, material: Material | None = None) -> QuerySet[Flashcard]:
    """Cards the user may study: their own and those on their current courses' materials.

    The card rows are shared; each user's schedule on them is their CardState.
    """
    cards = Flashcard.objects.filter(
        material__in=material_list_visible(user=user), is_hidden=False
    ).filter(Q(owner=user) | Q(owner=F("material__owner"), is_suspended=False))
    if material is not None:
        cards = cards.filter(material=material)
    return cards.select_related("material").order_by("material", "position", "id")


def flashcard_list_shared(*, user: User) -> QuerySet[Flashcard]:
    """Course cards the user studies but does not own: the ones they may privately edit."""
    return flashcard_list_visible(user=user).exclude(owner=user)


def private_edit_get(*, user: User, card: Flashcard) -> PrivateEdit | None:
    """The user's private edit of a card; nobody else's is ever read."""
    return PrivateEdit.objects.filter(user=user, card=card).first()


def _hidden_by(user: User) -> Exists:
    return Exists(PrivateEdit.objects.filter(user=user, card=OuterRef("pk"), is_hidden=True))


def flashcard_list_studied(*, user: User, material: Material | None = None) -> QuerySet[Flashcard]:
    """What the user's review queue, due counts, exam plans and mistakes draw from.

    The visible cards less the suspended ones (a teacher's suspension hides a
    shared card from the class) and those the user hid for themselves.
    """
    return (
        flashcard_list_visible(user=user, material=material)
        .filter(is_suspended=False)
        .exclude(_hidden_by(user))
    )


def reviews_by(*, user: User) -> QuerySet[ReviewLog]:
    """The user's own reviews, on any card; a row without a reviewer is its card owner's."""
    return ReviewLog.objects.filter(Q(user=user) | Q(user__isnull=True, card__owner=user))


def study_profile_get(*, user: User) -> StudyProfile:
    """The student's study settings; unsaved, with the site's defaults, until they change them."""
    profile = StudyProfile.objects.filter(user=user).first()
    if profile is None:
        profile = StudyProfile(
            user=user,
            new_cards_per_day=settings.STUDY_NEW_CARDS_PER_DAY,
            desired_retention=settings.STUDY_DESIRED_RETENTION,
        )
    return profile


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The start of today and the last second of it, in the site's time zone."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, local.replace(hour=23, minute=59, second=59, microsecond=0)


# Brought back by a mistake and not reviewed since: "from your mistakes".
FROM_MISTAKE = Q(mistake_at__isnull=False) & (
    Q(last_review__isnull=True) | Q(last_review__lt=F("mistake_at"))
)


# On the reviewer's own state (annotated by _with_my_state). A card never
# reviewed is new: it costs a place in the day's new cards. One a mistake
# brought back comes as a review, whatever the day's new places.
_MY_NEW = Q(my_last_review__isnull=True, my_mistake_at__isnull=True)
_MY_FROM_MISTAKE = Q(my_mistake_at__isnull=False) & (
    Q(my_last_review__isnull=True) | Q(my_last_review__lt=F("my_mistake_at"))
)


def _with_my_state(cards: QuerySet[Flashcard], user: User) -> QuerySet[Flashcard]:
    """Each card with the user's schedule on it: own cards' columns, or their CardState.

    A shared card the user never reviewed has no CardState yet: it is new to
    them, due since it was made, whatever the teacher did with it.
    """
    mine = CardState.objects.filter(user=user, card=OuterRef("pk"))
    edit = PrivateEdit.objects.filter(user=user, card=OuterRef("pk"))
    own = Q(owner=user)
    return cards.annotate(
        # The user's private edit of a shared card (empty sides: the teacher's text).
        my_front=Subquery(edit.values("front")[:1]),
        my_back=Subquery(edit.values("back")[:1]),
        my_hidden=Coalesce(Subquery(edit.values("is_hidden")[:1]), Value(False)),
        my_due=Case(
            When(own, then=F("due")),
            default=Coalesce(Subquery(mine.values("due")[:1]), F("created_at")),
        ),
        my_last_review=Case(
            When(own, then=F("last_review")), default=Subquery(mine.values("last_review")[:1])
        ),
        my_mistake_at=Case(
            When(own, then=F("mistake_at")), default=Subquery(mine.values("mistake_at")[:1])
        ),
    )


def new_cards_started_today(*, owner: User, now: datetime | None = None) -> int:
    """How many cards the student saw for the first time today: own, courses', all counted."""
    start, _ = day_bounds(now or timezone.now())
    return (
        reviews_by(user=owner)
        .values("card")
        .annotate(first=Min("reviewed_at"))
        .filter(first__gte=start)
        .count()
    )


@dataclass(frozen=True)
class DueToday:
    """What the review queue holds today: reviews first, then the day's new cards."""

    reviews: int
    new: int
    new_left: int  # places left today for new cards (the setting less those started)
    new_waiting: int  # new cards beyond today's places, for the days after
    mistakes: int = 0  # of the reviews, those brought back by a mistake
    exams: tuple[ExamPlan, ...] = ()  # the student's courses with an exam ahead, soonest first

    @property
    def total(self) -> int:
        return self.reviews + self.new


@dataclass(frozen=True)
class _DueParts:
    due: QuerySet[Flashcard]  # due by the end of today, on the user's own schedule
    left: int  # today's places left for new cards, by the student's setting
    paced: list[int]  # today's share of the exam courses' new cards (exam.py)
    exam_materials: set[int]  # their materials: no other of their new cards today
    exams: list[ExamPlan]

    @property
    def others(self) -> int:
        """Places for other new cards: the setting less the exams' shares."""
        return max(0, self.left - len(self.paced))


_NONE = Q(pk__isnull=True)  # matches no card, where an empty IN would empty a whole query


def _among(field: str, ids: list[int] | set[int]) -> Q:
    return Q(**{f"{field}__in": list(ids)}) if ids else _NONE


def _due_parts(
    *,
    owner: User,
    now: datetime | None,
    material: Material | None,
    profile: StudyProfile | None = None,
) -> _DueParts:
    """The cards due by the end of today, today's places for new cards and the exams' shares."""
    now = now or timezone.now()
    _, end = day_bounds(now)
    # Own cards and the current courses' in one queue, each on the user's own schedule.
    every = _with_my_state(flashcard_list_studied(user=owner), owner).filter(_MY_NEW)
    exams = exam_plans(user=owner, new_cards=every, reviews=reviews_by(user=owner), now=now)
    visible = flashcard_list_studied(user=owner, material=material)
    cards = _with_my_state(visible, owner).filter(my_due__lte=end)  # type: ignore[misc]
    profile = profile or study_profile_get(user=owner)
    left = max(0, profile.new_cards_per_day - new_cards_started_today(owner=owner, now=now))
    return _DueParts(
        due=cards,
        left=left,
        paced=paced_new_cards(new_cards=every, plans=exams) if exams else [],
        exam_materials=exam_material_ids(exams),
        exams=exams,
    )


def flashcard_due_list(
    *, owner: User, now: datetime | None = None, material: Material | None = None
) -> QuerySet[Flashcard]:
    """The cards the student will see today: due reviews, oldest first, then new cards.

    New cards (never reviewed) are let in up to the student's new cards a day,
    less those already started today, in the order their materials came;
    the rest wait for the days after. A course with an exam ahead puts its
    day's share first, and only that share, even past the setting
    (materials/study/exam.py). Everything due by the end of today counts.
    """
    return flashcard_due_queue(owner=owner, now=now, material=material)[0]


def flashcard_due_queue(
    *, owner: User, now: datetime | None = None, material: Material | None = None
) -> tuple[QuerySet[Flashcard], list[ExamPlan]]:
    """`flashcard_due_list` and the exam plans it was paced by, read once for both."""
    now = now or timezone.now()
    parts = _due_parts(owner=owner, now=now, material=material)
    due = parts.due
    others = list(
        due.filter(_MY_NEW)  # type: ignore[misc]
        .exclude(_among("material_id", parts.exam_materials))
        .order_by("my_due", "material_id", "position", "id")
        .values_list("pk", flat=True)[: parts.others]
    )
    # Reviews due now, then the exams' new cards, then the other new cards,
    # then cards due later today (a card just seen comes back after its
    # learning step, not straight away).
    queue = Case(
        When(_among("pk", parts.paced), then=Value(1)),
        When(_MY_NEW, then=Value(2)),
        When(my_due__lte=now, then=Value(0)),
        default=Value(3),
    )
    cards = (
        due.filter(~_MY_NEW | _among("pk", parts.paced + others))  # type: ignore[misc]
        .annotate(queue=queue)
        .order_by("queue", "my_due", "material_id", "position", "id")
    )
    return cards, parts.exams


def due_today(
    *,
    owner: User,
    now: datetime | None = None,
    material: Material | None = None,
    profile: StudyProfile | None = None,
) -> DueToday:
    """The counts behind "due today", as the review queue will really show them."""
    parts = _due_parts(owner=owner, now=now, material=material, profile=profile)
    paced = _among("pk", parts.paced)
    other_new = _MY_NEW & ~_among("material_id", parts.exam_materials)
    counts = parts.due.aggregate(
        reviews=Count("pk", filter=~_MY_NEW),
        new=Count("pk", filter=_MY_NEW),
        paced=Count("pk", filter=paced),
        other_new=Count("pk", filter=other_new),
        mistakes=Count("pk", filter=~_MY_NEW & _MY_FROM_MISTAKE),
    )
    shown = counts["paced"] + min(parts.others, counts["other_new"])
    return DueToday(
        reviews=counts["reviews"],
        new=shown,
        new_left=parts.left,
        new_waiting=counts["new"] - shown,
        mistakes=counts["mistakes"],
        exams=tuple(parts.exams),
    )


def mistake_list(*, owner: User, material: Material | None = None) -> QuerySet[Flashcard]:
    """Cards brought back by the student's mistakes, not reviewed since, soonest first.

    Their own cards and their courses' cards alike, each on the student's
    own schedule (`as_seen` puts it on the rows).
    """
    visible = flashcard_list_studied(user=owner, material=material)
    return (
        _with_my_state(visible, owner)
        .filter(_MY_FROM_MISTAKE)
        .order_by("my_due", "-my_mistake_at", "id")  # type: ignore[misc]
    )


def flashcard_list_mine(*, user: User, material: Material) -> QuerySet[Flashcard]:
    """The material's cards as this user studies them, with their own schedule annotated."""
    return _with_my_state(flashcard_list_visible(user=user, material=material), user)


def as_seen(cards: Iterable[Flashcard]) -> list[Flashcard]:
    """The rows with the reader's own schedule in their columns, for display; never saved.

    For rows from `_with_my_state`: a course student sees their due date and
    mistakes on a shared card, never the teacher's.
    """
    rows = list(cards)
    for card in rows:
        # Annotations, no columns of the row: read by name.
        if hasattr(card, "my_due"):
            card.due = getattr(card, "my_due")  # noqa: B009
            card.last_review = getattr(card, "my_last_review")  # noqa: B009
            card.mistake_at = getattr(card, "my_mistake_at")  # noqa: B009
            # A student's private wording, side by side; the teacher's where none.
            card.private_front = bool(getattr(card, "my_front", ""))  # type: ignore[attr-defined]
            card.private_back = bool(getattr(card, "my_back", ""))  # type: ignore[attr-defined]
            card.front = getattr(card, "my_front", "") or card.front
            card.back = getattr(card, "my_back", "") or card.back
            card.hidden_for_me = bool(getattr(card, "my_hidden", False))  # type: ignore[attr-defined]
    return rows


def flashcard_seen(*, user: User, card: Flashcard) -> Flashcard:
    """One card as this user studies it (their schedule, their private wording)."""
    return as_seen(_with_my_state(Flashcard.objects.filter(pk=card.pk), user))[0]


def quiz_question_list(*, owner: User, material: Material | None = None) -> QuerySet[QuizQuestion]:
    questions = QuizQuestion.objects.filter(
        owner=owner,
        is_hidden=False,
        is_suspended=False,
        is_retired=False,
        material__is_hidden=False,
    )
    if material is not None:
        questions = questions.filter(material=material)
    return questions.order_by("material", "position")


def quiz_question_list_visible(*, user: User) -> QuerySet[QuizQuestion]:
    """Questions the user may answer: those of the materials they may read, by their owner."""
    return QuizQuestion.objects.filter(
        material__in=material_list_visible(user=user),
        owner=F("material__owner"),
        is_hidden=False,
        is_suspended=False,
        is_retired=False,
    )


def quiz_question_list_editable(
    *, owner: User, material: Material | None = None
) -> QuerySet[QuizQuestion]:
    """The questions the user may edit and hide: those of their own materials' quizzes.

    As with cards (`flashcard_list`), only the owner changes them: a course's
    co-teacher who does not own the material gets 404, like with its cards.
    The owner's hidden ones are in, so they can be shown again; a moderator's
    flag and retired questions are not.
    """
    questions = QuizQuestion.objects.filter(
        owner=owner,
        material__owner=owner,
        is_hidden=False,
        is_retired=False,
        material__is_hidden=False,
    )
    if material is not None:
        questions = questions.filter(material=material)
    return questions.select_related("material").order_by("material", "position")


def flashcard_list_exported(*, user: User, material: Material) -> list[Flashcard]:
    """The material's cards as the user's CSV or Anki download holds them.

    The owner's own cards as they are (suspended ones too, as before). A
    course student's: the shared cards the teacher did not hide, less those
    the student hid, in the student's private wording, and their own cards.
    """
    if material.owner_id == user.pk:
        return list(flashcard_list(owner=user, material=material))
    cards = flashcard_list_visible(user=user, material=material).exclude(_hidden_by(user))
    return as_seen(_with_my_state(cards, user))


def quiz_attempt_list(*, owner: User, material: Material | None = None) -> QuerySet[QuizAttempt]:
    attempts = QuizAttempt.objects.filter(owner=owner, material__is_hidden=False)
    if material is not None:
        attempts = attempts.filter(material=material)
    return attempts.select_related("material").order_by("-created_at", "-id")
