"""A course shares its owner's materials with its members, read-only.

A material keeps its one owner, who alone edits or reprocesses it; a course
only grants its current members read access (materials.selectors
.material_list_visible), so a shared material is processed once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from materials.models import Material


class Course(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_courses"
    )
    title = models.CharField(_("title"), max_length=200)
    exam_date = models.DateField(_("exam date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self) -> str:
        return self.title


class Unit(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="units")
    title = models.CharField(_("title"), max_length=200)
    position = models.PositiveIntegerField(default=0)
    due_date = models.DateField(_("due date"), null=True, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.title


class CourseMaterial(models.Model):
    """One of the course owner's (or a teacher's) materials, placed in a unit."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="entries")
    # The material's owner deleting it takes it out of every course.
    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="course_entries")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("course material")
        verbose_name_plural = _("course materials")
        constraints = [
            models.UniqueConstraint(fields=["unit", "material"], name="course_material_once")
        ]

    def __str__(self) -> str:
        return f"{self.unit} / {self.material_id}"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        TEACHER = "teacher", _("Teacher")
        STUDENT = "student", _("Student")

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.STUDENT)
    # A removed student's row stays, so an invite that is still valid cannot
    # bring them back; leaving deletes the row, and they may join again.
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="membership_once_per_course")
        ]
        indexes = [models.Index(fields=["user", "course"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.course} ({self.role})"

    @property
    def is_current(self) -> bool:
        return self.removed_at is None


class Invite(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="invites")
    code = models.CharField(_("code"), max_length=32, unique=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("invite")
        verbose_name_plural = _("invites")

    def __str__(self) -> str:
        return self.code
