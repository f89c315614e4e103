"""Writes on courses: create, fill, invite, join, leave, remove.

Adding a material to a course copies nothing and queues nothing: students
read the owner's processed material through materials.selectors
.material_list_visible, so no student ever triggers extraction, embedding or
generation.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from courses.models import Course, CourseMaterial, Invite, Membership, Unit
from materials.models import ContentReport, Material

# No 0/O, 1/I/L: a code read aloud in class or copied from a board is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10, about 2**50: not guessable by trying


@transaction.atomic
def course_create(*, owner: User, title: str, exam_date: date | None = None) -> Course:
    """A course and its owner's membership, which every course read goes through."""
    title = title.strip()
    if not title:
        raise ValidationError({"title": _("Give the course a title.")})
    course = Course.objects.create(owner=owner, title=title[:200], exam_date=exam_date)
    Membership.objects.create(course=course, user=owner, role=Membership.Role.OWNER)
    return course


def course_update(*, course: Course, title: str, exam_date: date | None) -> Course:
    title = title.strip()
    if not title:
        raise ValidationError({"title": _("Give the course a title.")})
    course.title, course.exam_date = title[:200], exam_date
    course.save(update_fields=["title", "exam_date", "updated_at"])
    return course


def unit_create(*, course: Course, title: str, due_date: date | None = None) -> Unit:
    title = title.strip()
    if not title:
        raise ValidationError({"title": _("Give the unit a title.")})
    last = course.units.aggregate(last=Max("position"))["last"]
    return Unit.objects.create(
        course=course, title=title[:200], due_date=due_date, position=(last or 0) + 1
    )


def unit_delete(*, unit: Unit) -> None:
    unit.delete()


def course_material_add(*, unit: Unit, material: Material, by: User) -> CourseMaterial:
    """Place one of `by`'s own materials in the unit; a material twice is an error."""
    if material.owner_id != by.pk:
        # Callers look the material up among `by`'s own; this keeps a slip from sharing.
        raise Material.DoesNotExist
    last = unit.entries.aggregate(last=Max("position"))["last"]
    try:
        with transaction.atomic():
            return CourseMaterial.objects.create(
                unit=unit, material=material, position=(last or 0) + 1
            )
    except IntegrityError as exc:
        raise ValidationError(_("This material is already in this unit.")) from exc


def course_material_remove(*, entry: CourseMaterial) -> None:
    entry.delete()


def invite_create(*, course: Course, by: User, expires_at: datetime | None = None) -> Invite:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("Choose a time in the future.")})
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return Invite.objects.create(course=course, code=code, expires_at=expires_at, created_by=by)


def invite_revoke(*, invite: Invite) -> Invite:
    invite.revoked = True
    invite.save(update_fields=["revoked"])
    return invite


def normalize_code(code: str) -> str:
    """A code as typed (spaces, dashes, lower case) in its stored form."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def invite_check(*, code: str) -> Invite:
    """The invite a code names, if it can still be used; else a ValidationError saying why."""
    invite = (
        Invite.objects.select_related("course").filter(code=normalize_code(code)).first()
        if code
        else None
    )
    if invite is None:
        raise ValidationError(_("No course has this invite code."), code="invalid")
    if invite.revoked:
        raise ValidationError(
            _("This invite was withdrawn. Ask your teacher for a new one."), code="revoked"
        )
    if invite.expires_at is not None and invite.expires_at <= timezone.now():
        raise ValidationError(
            _("This invite has expired. Ask your teacher for a new one."), code="expired"
        )
    return invite


@transaction.atomic
def course_join(*, user: User, code: str) -> Membership:
    """Join the invite's course as a student; joining twice keeps the first membership.

    A student the course removed stays out, whatever invite they hold.
    """
    invite = invite_check(code=code)
    membership = (
        Membership.objects.select_for_update().filter(course=invite.course, user=user).first()
    )
    if membership is not None:
        if membership.removed_at is not None:
            raise ValidationError(
                _("You were removed from this course. Ask your teacher to add you again."),
                code="removed",
            )
        return membership
    try:
        with transaction.atomic():
            return Membership.objects.create(
                course=invite.course, user=user, role=Membership.Role.STUDENT
            )
    except IntegrityError:
        # The same student's second tab joined first: theirs is the one membership.
        return Membership.objects.get(course=invite.course, user=user)


def course_leave(*, user: User, course: Course) -> None:
    """The student (or teacher) leaves; they may join again with an invite."""
    membership = Membership.objects.filter(
        course=course, user=user, removed_at__isnull=True
    ).first()
    if membership is None:
        raise Membership.DoesNotExist
    if membership.role == Membership.Role.OWNER:
        raise ValidationError(_("The owner cannot leave their own course."), code="owner")
    membership.delete()


def member_remove(*, membership: Membership, by: User) -> Membership:
    """Remove a member at once: their next request no longer sees the course.

    Teachers remove students; only the owner removes a teacher; nobody removes
    the owner. The row stays, marked, so an invite cannot bring them back.
    """
    if membership.role == Membership.Role.OWNER:
        raise ValidationError(_("The owner cannot be removed."), code="owner")
    if membership.role == Membership.Role.TEACHER and membership.course.owner_id != by.pk:
        raise ValidationError(_("Only the owner can remove a teacher."), code="teacher")
    if membership.removed_at is None:
        membership.removed_at = timezone.now()
        membership.save(update_fields=["removed_at"])
    return membership


def member_restore(*, membership: Membership) -> Membership:
    """Let a removed student back in (the removal is otherwise final)."""
    membership.removed_at = None
    membership.save(update_fields=["removed_at"])
    return membership


def member_set_role(*, membership: Membership, role: str, by: User) -> Membership:
    """The owner makes a student a teacher or back; the owner's own role never changes."""
    if membership.course.owner_id != by.pk:
        raise ValidationError(_("Only the owner can change roles."), code="not_owner")
    if membership.role == Membership.Role.OWNER or role not in (
        Membership.Role.TEACHER,
        Membership.Role.STUDENT,
    ):
        raise ValidationError(_("This role cannot be given."), code="role")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def report_resolve(*, report: ContentReport) -> ContentReport:
    """The teacher has dealt with a student's report (fixed or hid the card, or found it right).

    Resolved for the moderators too: one report, one queue of work.
    """
    report.status = ContentReport.Status.RESOLVED
    report.save(update_fields=["status"])
    return report
