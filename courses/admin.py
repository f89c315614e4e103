"""Moderators list courses and their members, and can remove a member at once."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from courses.models import Course, Invite, Membership, Unit


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "removed_at", "created_at")
    readonly_fields = ("user", "created_at")
    extra = 0
    can_delete = False


class UnitInline(admin.TabularInline):
    model = Unit
    fields = ("title", "position", "due_date")
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "exam_date", "member_count", "created_at")
    search_fields = ("title", "owner__email")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    inlines = [UnitInline, MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        current = Q(memberships__removed_at__isnull=True)
        return super().get_queryset(request).annotate(members=Count("memberships", filter=current))

    @admin.display(description=_("members"), ordering="members")
    def member_count(self, course: Course) -> int:
        return course.members  # type: ignore[attr-defined]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "course", "role", "removed_at", "created_at")
    list_filter = ("role", ("removed_at", admin.EmptyFieldListFilter))
    search_fields = ("user__email", "course__title")
    list_select_related = ("user", "course")
    raw_id_fields = ("user", "course")
    actions = ["remove_members"]

    @admin.action(description=_("Remove the selected members from their courses"))
    def remove_members(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        # The owner is never removed: a course without one could not be managed.
        count = (
            queryset.filter(removed_at__isnull=True)
            .exclude(role=Membership.Role.OWNER)
            .update(removed_at=timezone.now())
        )
        self.message_user(
            request,
            ngettext("%(count)d member removed.", "%(count)d members removed.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("code", "course", "expires_at", "revoked", "created_at")
    list_filter = ("revoked",)
    search_fields = ("code", "course__title")
    list_select_related = ("course",)
    raw_id_fields = ("course", "created_by")
