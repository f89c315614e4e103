"""Reads on courses. Every selector takes the user, and scoping happens here.

A course exists, for a user, only while they are a current member of it (the
owner is one too): anyone else gets 404 from every course URL.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce

from accounts.models import User
from courses.models import Course, CourseMaterial, Invite, Membership, Unit
from materials.models import ContentReport, Material
from materials.selectors import material_list

MANAGERS = (Membership.Role.OWNER, Membership.Role.TEACHER)


def membership_list(*, user: User) -> QuerySet[Membership]:
    """The user's current memberships (removed ones are no longer any)."""
    return Membership.objects.filter(user=user, removed_at__isnull=True)


def course_list(*, user: User) -> QuerySet[Course]:
    """The courses the user is a current member of, with their role (`.my_role`)."""
    memberships = membership_list(user=user)
    return (
        Course.objects.filter(pk__in=memberships.values("course_id"))
        .select_related("owner")
        .prefetch_related(Prefetch("memberships", queryset=memberships, to_attr="my_memberships"))
    )


def course_list_managed(*, user: User) -> QuerySet[Course]:
    """The courses the user owns or teaches: the only ones they may change."""
    managed = membership_list(user=user).filter(role__in=MANAGERS)
    return Course.objects.filter(pk__in=managed.values("course_id"))


def role_of(*, user: User, course: Course) -> str | None:
    """The user's current role in the course, or None."""
    return membership_list(user=user).filter(course=course).values_list("role", flat=True).first()


def _with_entries(units: QuerySet[Unit]) -> QuerySet[Unit]:
    """Units in order, each with its materials (hidden ones left out)."""
    entries = (
        CourseMaterial.objects.filter(material__is_hidden=False)
        .select_related("material")
        .order_by("position", "pk")
    )
    return units.order_by("position", "pk").prefetch_related(Prefetch("entries", queryset=entries))


def unit_list(*, course: Course) -> QuerySet[Unit]:
    return _with_entries(Unit.objects.filter(course=course))


def unit_list_visible(*, user: User) -> QuerySet[Unit]:
    """Units of the courses the user is a current member of."""
    return _with_entries(Unit.objects.filter(course__in=course_list(user=user).values("pk")))


def unit_list_managed(*, user: User) -> QuerySet[Unit]:
    return Unit.objects.filter(course__in=course_list_managed(user=user))


def entry_list_managed(*, user: User) -> QuerySet[CourseMaterial]:
    return CourseMaterial.objects.filter(unit__course__in=course_list_managed(user=user))


def invite_list_managed(*, user: User) -> QuerySet[Invite]:
    return Invite.objects.filter(course__in=course_list_managed(user=user))


def member_list(*, user: User) -> QuerySet[Membership]:
    """Memberships of the courses the user owns or teaches, removed ones included."""
    return Membership.objects.filter(course__in=course_list_managed(user=user)).select_related(
        "user"
    )


def addable_materials(*, user: User) -> QuerySet[Material]:
    """What the user may put into a course: only their own materials."""
    return material_list(owner=user).order_by("title")


def report_list_managed(*, user: User, course: Course | None = None) -> QuerySet[ContentReport]:
    """Students' reports that reach the user as a course's owner or teacher, newest first.

    A report on a shared material of a course they manage (`course`, or any),
    on its shared cards or its quiz, sent by a member of that same course. A
    student's report of their own private card is not the teacher's: only the
    material owner's cards count. The reporter stays unnamed to the teacher.
    """
    courses = course_list_managed(user=user)
    if course is not None:
        courses = courses.filter(pk=course.pk)
    placed = CourseMaterial.objects.filter(
        unit__course__in=courses,
        material_id=OuterRef("target_material"),
        unit__course__memberships__user=OuterRef("reporter"),
    )
    return (
        ContentReport.objects.annotate(
            target_material=Coalesce(
                "flashcard__material_id", "question__material_id", "material_id"
            )
        )
        .filter(Exists(placed))
        .filter(Q(flashcard__isnull=True) | Q(flashcard__owner=F("flashcard__material__owner")))
        .select_related("flashcard__material", "question__material", "material")
        .order_by("-created_at", "-pk")
    )
