"""A course's progress, as its owner and teachers see it: aggregates on shared items only.

What counts is the course's shared study content: the cards and quiz
questions of the unit's materials that belong to the material's owner and
that a student is shown (not hidden, not suspended, not retired). A student's
own cards on a shared material, their mistake cards, tutor conversations,
uploads and edits never enter these figures; only the current students'
(Membership role student, not removed) answers on those shared items do.

The figures come from a handful of grouped queries per course (not per unit
or per student): the rows that reach Python are already counts.

Definitions (the page and the CSV say the same):
- a card is *learned* by a student when their FSRS state of it is "review"
  (it graduated from the learning steps and has not lapsed since);
- *retention* is the share of the students' reviews on the unit's cards in
  the last RETENTION_DAYS days that were not "Again";
- a student is *behind schedule* on a unit whose due date has passed when
  they have learned less than ON_TIME_SHARE of its cards.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Func, JSONField, Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from courses.models import Course, CourseMaterial, Membership, Unit
from materials.models import CardState, Flashcard, QuizAttempt, QuizQuestion, ReviewLog

RETENTION_DAYS = 30
ON_TIME_SHARE = 0.8
TOP = 5
AGAIN = 1


@dataclass(frozen=True)
class HardCard:
    card_id: int
    front: str
    again: int


@dataclass(frozen=True)
class MissedQuestion:
    question_id: int
    question: str
    answers: int
    wrong: int
    # The wrong choice picked most often, and how many times it was picked.
    wrong_choice: str
    wrong_choice_count: int


@dataclass
class StudentProgress:
    """One student's figures on one unit (for the CSV and the behind-schedule list)."""

    user_id: int
    name: str
    email: str
    learned: int = 0
    share: float | None = None
    reviews: int = 0
    again: int = 0
    quiz_answers: int = 0
    quiz_wrong: int = 0
    behind: bool = False

    @property
    def retention(self) -> float | None:
        return _ratio(self.reviews - self.again, self.reviews)

    @property
    def share_percent(self) -> int | None:
        return percent(self.share)

    @property
    def retention_percent(self) -> int | None:
        return percent(self.retention)


@dataclass
class UnitProgress:
    unit: Unit
    cards: int = 0
    questions: int = 0
    learned_share: float | None = None
    reviews: int = 0
    again: int = 0
    quiz_answers: int = 0
    quiz_wrong: int = 0
    overdue: bool = False
    hardest: list[HardCard] = field(default_factory=list)
    missed: list[MissedQuestion] = field(default_factory=list)
    students: list[StudentProgress] = field(default_factory=list)

    @property
    def retention(self) -> float | None:
        return _ratio(self.reviews - self.again, self.reviews)

    @property
    def retention_percent(self) -> int | None:
        return percent(self.retention)

    @property
    def learned_percent(self) -> int | None:
        return percent(self.learned_share)

    @property
    def behind(self) -> list[StudentProgress]:
        return sorted((s for s in self.students if s.behind), key=lambda s: (s.share or 0, s.name))


@dataclass(frozen=True)
class CourseProgress:
    course: Course
    student_count: int
    since: datetime  # the start of the retention window
    today: date
    units: list[UnitProgress]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percent(share: float | None) -> int | None:
    """A share as a whole percent for people (the API keeps the exact share)."""
    return round(share * 100) if share is not None else None


def display_name(user: User) -> str:
    """The name a teacher knows the student by: their full name, else their email."""
    return user.get_full_name() or user.email


def course_students(*, course: Course) -> QuerySet[User]:
    """The course's current students: teachers, the owner and removed students are not counted."""
    current = Membership.objects.filter(
        course=course, role=Membership.Role.STUDENT, removed_at__isnull=True
    )
    return User.objects.filter(pk__in=current.values("user_id")).order_by("email")


def shared_cards(*, material_ids: list[int]) -> QuerySet[Flashcard]:
    """The cards a course student is shown: the material owner's, not hidden or suspended.

    A student's own cards on a shared material (by hand or from a mistake) are
    theirs alone (owner is the student), so they never count.
    """
    return Flashcard.objects.filter(
        material_id__in=material_ids,
        material__is_hidden=False,
        owner=F("material__owner"),
        is_hidden=False,
        is_suspended=False,
    )


def shared_questions(*, material_ids: list[int]) -> QuerySet[QuizQuestion]:
    """The questions in the course's quiz: the owner's, not hidden or retired."""
    return QuizQuestion.objects.filter(
        material_id__in=material_ids,
        material__is_hidden=False,
        owner=F("material__owner"),
        is_hidden=False,
        is_suspended=False,
        is_retired=False,
    )


class _ResultItems(Func):
    """One row per answered question of a quiz attempt's results (a JSON list)."""

    function = "jsonb_array_elements"
    output_field = JSONField()
    set_returning = True


class _ChosenText(Func):
    """The text of the choice a result picked, from that attempt's own copy of the choices.

    Not the question's current choices: once the owner edits them, an old
    pick's index may point at another choice (materials.study.questions).
    """

    output_field = TextField()

    def as_sql(
        self, compiler: Any, connection: Any, *args: Any, **extra_context: Any
    ) -> tuple[str, tuple[Any, ...]]:
        # The result item twice, so its parameters twice (a template would pass them once).
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(({sql}) -> 'choices') ->> ((({sql}) ->> 'chosen')::int)",
            (*params, *params),
        )


def _quiz_answer_counts(*, student_ids: list[int], material_ids: list[int]) -> list[dict[str, Any]]:
    """The students' quiz answers, counted by (student, question, choice, graded correct).

    The choice is counted by its text as the student saw it (`chosen_text`).
    PostgreSQL may group by, but not filter on, the expanded results, so rows
    of questions no longer in the quiz are dropped by the caller.
    """
    counts = (
        QuizAttempt.objects.filter(owner_id__in=student_ids, material_id__in=material_ids)
        .annotate(item=_ResultItems("results"))
        .values(
            "owner_id",
            question=KT("item__question"),
            chosen=KT("item__chosen"),
            chosen_text=_ChosenText("item"),
            correct=KT("item__correct"),
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [dict(row) for row in counts]


def _units_by_material(course: Course) -> tuple[list[Unit], dict[int, list[int]]]:
    """The course's units in order, and each material's units (a material may be in two)."""
    units = list(course.units.order_by("position", "pk"))
    in_units: dict[int, list[int]] = defaultdict(list)
    entries = CourseMaterial.objects.filter(unit__course=course, material__is_hidden=False)
    for unit_id, material_id in entries.values_list("unit_id", "material_id"):
        in_units[material_id].append(unit_id)
    return units, in_units


def course_progress(*, course: Course, now: datetime | None = None) -> CourseProgress:
    """Every unit's figures for the teacher's progress page, CSV and API.

    The caller checks that the asking user owns or teaches the course
    (courses.selectors.course_list_managed): this function reads students' rows.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    since = now - timedelta(days=RETENTION_DAYS)
    units, in_units = _units_by_material(course)
    material_ids = list(in_units)
    students = list(course_students(course=course))
    # Ids, not subqueries, below: given a subquery of the shared cards the
    # planner guessed 25 cards for 500 and paired every student with every
    # card in a nested loop (3.8 s for 200 students on `bench.classroom`).
    student_ids = [s.pk for s in students]
    by_unit = {unit.pk: UnitProgress(unit=unit) for unit in units}
    for progress in by_unit.values():
        progress.overdue = progress.unit.due_date is not None and progress.unit.due_date < today
        progress.students = [
            StudentProgress(user_id=s.pk, name=display_name(s), email=s.email) for s in students
        ]
    rows = {unit_id: {s.user_id: s for s in p.students} for unit_id, p in by_unit.items()}

    def units_of(material_id: int) -> list[int]:
        return in_units.get(material_id, [])

    cards = shared_cards(material_ids=material_ids)
    for counted in cards.values("material_id").annotate(n=Count("pk")).order_by():
        for unit_id in units_of(counted["material_id"]):
            by_unit[unit_id].cards += counted["n"]
    questions = {
        q.pk: q
        for q in shared_questions(material_ids=material_ids).only(
            "pk", "material_id", "question", "choices", "answer_index"
        )
    }
    for question in questions.values():
        for unit_id in units_of(question.material_id):
            by_unit[unit_id].questions += 1

    card_ids = list(cards.values_list("pk", flat=True))
    _add_learned(rows, card_ids, student_ids, units_of)
    reviews = ReviewLog.objects.filter(
        card_id__in=card_ids, user_id__in=student_ids, reviewed_at__gte=since
    )
    _add_reviews(rows, reviews, units_of)
    _add_hardest(by_unit, reviews, units_of)
    _add_quiz(by_unit, rows, questions, student_ids, material_ids, units_of)
    for progress in by_unit.values():
        _total(progress, len(students))
    return CourseProgress(
        course=course,
        student_count=len(students),
        since=since,
        today=today,
        units=[by_unit[unit.pk] for unit in units],
    )


Rows = dict[int, dict[int, StudentProgress]]  # unit id -> user id -> their figures
UnitsOf = Callable[[int], list[int]]  # material id -> the units it is in


def _add_learned(
    rows: Rows, card_ids: list[int], student_ids: list[int], units_of: UnitsOf
) -> None:
    learned = (
        CardState.objects.filter(
            card_id__in=card_ids, user_id__in=student_ids, state=Flashcard.State.REVIEW
        )
        .values("user_id", "card__material_id")
        .annotate(n=Count("*"))
        .order_by()
    )
    for row in learned:
        for unit_id in units_of(row["card__material_id"]):
            rows[unit_id][row["user_id"]].learned += row["n"]


def _add_reviews(rows: Rows, reviews: QuerySet[ReviewLog], units_of: UnitsOf) -> None:
    per_student = (
        reviews.values("user_id", "card__material_id")
        .annotate(n=Count("*"), again=Count("rating", filter=Q(rating=AGAIN)))
        .order_by()
    )
    for row in per_student:
        for unit_id in units_of(row["card__material_id"]):
            student = rows[unit_id][row["user_id"]]
            student.reviews += row["n"]
            student.again += row["again"]


def _total(progress: UnitProgress, student_count: int) -> None:
    """The unit's totals from its students' figures, and who is behind schedule."""
    for student in progress.students:
        student.share = _ratio(student.learned, progress.cards)
        student.behind = (
            progress.overdue and progress.cards > 0 and (student.share or 0) < ON_TIME_SHARE
        )
    progress.reviews = sum(s.reviews for s in progress.students)
    progress.again = sum(s.again for s in progress.students)
    progress.quiz_answers = sum(s.quiz_answers for s in progress.students)
    progress.quiz_wrong = sum(s.quiz_wrong for s in progress.students)
    # The mean of the students' shares: every student over the same cards.
    progress.learned_share = _ratio(
        sum(s.learned for s in progress.students), progress.cards * student_count
    )


def _add_hardest(
    by_unit: dict[int, UnitProgress], reviews: QuerySet[ReviewLog], units_of: UnitsOf
) -> None:
    """Each unit's cards with the most "Again" answers (only cards with at least one)."""
    again = (
        reviews.filter(rating=AGAIN)
        .values("card_id", "card__material_id", "card__front")
        .annotate(n=Count("*"))
        .order_by("-n", "card_id")
    )
    for row in again:
        for unit_id in units_of(row["card__material_id"]):
            hardest = by_unit[unit_id].hardest
            if len(hardest) < TOP:
                hardest.append(HardCard(row["card_id"], row["card__front"], row["n"]))


def _add_quiz(
    by_unit: dict[int, UnitProgress],
    rows: Rows,
    questions: dict[int, QuizQuestion],
    student_ids: list[int],
    material_ids: list[int],
    units_of: UnitsOf,
) -> None:
    """Quiz answers per student, and each unit's most missed questions with their lure.

    An answer counts when the question is still in the quiz; a skipped
    question is no answer; "wrong" is what the attempt was graded. The lure
    is counted by the picked choice's text in the attempt, so an edit of the
    question's choices never moves old picks onto another choice.
    """
    answers: dict[int, int] = defaultdict(int)
    wrong: dict[int, int] = defaultdict(int)
    picks: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in _quiz_answer_counts(student_ids=student_ids, material_ids=material_ids):
        question = questions.get(_int(row["question"]) or 0)
        chosen = _int(row["chosen"])
        if question is None or chosen is None:
            continue
        is_wrong = row["correct"] != "true"
        answers[question.pk] += row["n"]
        if is_wrong:
            wrong[question.pk] += row["n"]
            picks[question.pk][row["chosen_text"] or ""] += row["n"]
        for unit_id in units_of(question.material_id):
            student = rows[unit_id][row["owner_id"]]
            student.quiz_answers += row["n"]
            student.quiz_wrong += row["n"] if is_wrong else 0
    missed = sorted((pk for pk in wrong if wrong[pk]), key=lambda pk: (-wrong[pk], pk))
    for pk in missed:
        question = questions[pk]
        text, count = max(picks[pk].items(), key=lambda item: (item[1], _order(question, item[0])))
        item = MissedQuestion(pk, question.question, answers[pk], wrong[pk], text, count)
        for unit_id in units_of(question.material_id):
            if len(by_unit[unit_id].missed) < TOP:
                by_unit[unit_id].missed.append(item)


def _order(question: QuizQuestion, text: str) -> int:
    """Of two lures picked as often, the one earlier among the current choices wins
    (a text no longer among them comes last)."""
    choices = [str(choice) for choice in question.choices]
    return -choices.index(text) if text in choices else -len(choices)


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


# A cell a spreadsheet would run as a formula (CSV injection): shown as text instead.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def progress_csv(progress: CourseProgress) -> bytes:
    """One row per unit and student, after a row for all students of the unit.

    UTF-8 with a byte order mark and a comma: Excel then reads Cyrillic
    names right, and LibreOffice and Google Sheets open it as they do any CSV.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Unit"),
            _("Due date"),
            _("Student"),
            _("Email"),
            _("Cards"),
            _("Cards learned"),
            _("Learned, %"),
            _("Reviews, last %(days)s days") % {"days": RETENTION_DAYS},
            _("Retention, %"),
            _("Quiz answers"),
            _("Wrong quiz answers"),
            _("Behind schedule"),
        ]
    )
    for unit in progress.units:
        due = unit.unit.due_date.isoformat() if unit.unit.due_date else ""
        learned = sum(s.learned for s in unit.students)
        writer.writerow(
            [
                _cell(unit.unit.title),
                due,
                _("All students (%(count)s)") % {"count": progress.student_count},
                "",
                unit.cards,
                learned,
                _cell(unit.learned_percent),
                unit.reviews,
                _cell(unit.retention_percent),
                unit.quiz_answers,
                unit.quiz_wrong,
                len(unit.behind) if unit.overdue else "",
            ]
        )
        for student in unit.students:
            writer.writerow(
                [
                    _cell(unit.unit.title),
                    due,
                    _cell(student.name),
                    _cell(student.email),
                    unit.cards,
                    student.learned,
                    _cell(student.share_percent),
                    student.reviews,
                    _cell(student.retention_percent),
                    student.quiz_answers,
                    student.quiz_wrong,
                    (_("yes") if student.behind else _("no")) if unit.overdue else "",
                ]
            )
    return out.getvalue().encode("utf-8-sig")
