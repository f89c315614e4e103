from collections.abc import Sequence
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from materials.models import (
    Chunk,
    ContentReport,
    Flashcard,
    Material,
    QuizAttempt,
    QuizQuestion,
    StudyProfile,
    StudySet,
)
from materials.services import material_reprocess


class ReportedFilter(admin.SimpleListFilter):
    """Items students reported as wrong: with an open report, or with any report."""

    title = _("reported")
    parameter_name = "reported"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("open", _("Open reports")), ("any", _("Any report"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "open":
            return queryset.filter(reports__status=ContentReport.Status.OPEN).distinct()
        if self.value() == "any":
            return queryset.filter(reports__isnull=False).distinct()
        return queryset


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "owner",
        "kind",
        "status",
        "stage",
        "progress",
        "error_text",
        "is_hidden",
        "created_at",
    )
    list_filter = (
        "status",
        ReportedFilter,
        "kind",
        "stage",
        "is_hidden",
        "language",
        "created_at",
    )
    search_fields = ("title", "owner__email", "youtube_url", "original_filename")
    readonly_fields = (
        "owner",
        "kind",
        "file",
        "original_filename",
        "youtube_url",
        "video_id",
        "status",
        "stage",
        "progress",
        "error_code",
        "error_detail",
        "attempts",
        "job_id",
        "heartbeat_at",
        "retry_at",
        "retry_number",
        "requeues",
        "page_count",
        "duration_seconds",
        "language",
        "embedding_model",
        "created_at",
        "updated_at",
        "processed_at",
    )
    list_select_related = ("owner",)
    actions = ("reprocess", "hide", "unhide")

    @admin.display(description=_("error"), ordering="error_code")
    def error_text(self, material: Material) -> str:
        """What went wrong, in the moderator's language (the code and detail are on the page)."""
        return material.error if material.error_code else ""

    @admin.action(description=_("Reprocess selected materials"), permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[Material]) -> None:
        # A moderator's request: it supersedes a run in flight and costs the student nothing.
        for material in queryset:
            material_reprocess(material=material)
        self.message_user(request, _("Queued for processing."), messages.SUCCESS)

    @admin.action(description=_("Hide selected materials"), permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Material]) -> None:
        queryset.update(is_hidden=True)

    @admin.action(description=_("Unhide selected materials"), permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Material]) -> None:
        queryset.update(is_hidden=False)


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = (
        "material",
        "position",
        "page_start",
        "page_end",
        "start_seconds",
        "language",
        "embedding_model",
    )
    list_filter = ("language", "embedding_model")
    search_fields = ("text", "material__title")
    raw_id_fields = ("material", "owner")
    # Derived from the text: the vector and the stored sentences (search's
    # second stage) are not edited here.
    exclude = ("embedding", "sentences")
    readonly_fields = ("search_vector",)

    def save_model(self, request: HttpRequest, obj: Chunk, form, change: bool) -> None:
        if "text" in form.changed_data:
            obj.sentences = None  # cut and stemmed at search time until stored again
        super().save_model(request, obj, form, change)


# --- study content ------------------------------------------------------------


class HideActionsMixin:
    # As loose as ModelAdmin.actions in the stubs, which it stands in for.
    actions: Sequence[Any] | None = ("hide", "unhide")

    @admin.action(description=_("Hide selected items from students"), permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet) -> None:
        queryset.update(is_hidden=True)

    @admin.action(description=_("Show selected items to students again"), permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet) -> None:
        queryset.update(is_hidden=False)


@admin.register(StudySet)
class StudySetAdmin(admin.ModelAdmin):
    list_display = ("material", "status", "generator", "error_code", "generated_at")
    list_filter = ("status", "generator")
    search_fields = ("material__title",)
    raw_id_fields = ("material",)
    readonly_fields = ("stats", "tokens_used", "generated_at", "error_detail")


@admin.register(Flashcard)
class FlashcardAdmin(HideActionsMixin, admin.ModelAdmin):
    list_display = ("front", "back", "material", "owner", "origin", "kind", "is_hidden", "due")
    list_filter = (
        "is_hidden",
        ReportedFilter,
        "origin",
        "kind",
        "is_suspended",
        "source_changed",
        "generator",
    )
    search_fields = ("front", "back", "material__title", "owner__email")
    raw_id_fields = ("material", "owner")
    list_select_related = ("material", "owner")
    readonly_fields = ("state", "step", "stability", "difficulty", "due", "last_review")


@admin.register(QuizQuestion)
class QuizQuestionAdmin(HideActionsMixin, admin.ModelAdmin):
    list_display = (
        "question",
        "material",
        "owner",
        "answer_index",
        "generator",
        "is_hidden",
        "is_retired",
    )
    list_filter = (
        "is_hidden",
        ReportedFilter,
        "is_suspended",
        "is_retired",
        "source_changed",
        "generator",
    )
    search_fields = ("question", "explanation", "material__title", "owner__email")
    raw_id_fields = ("material", "owner")
    list_select_related = ("material", "owner")
    # Set by the owner's editor: a regeneration keeps an edited question.
    readonly_fields = ("edited_at",)


@admin.register(QuizAttempt)
class QuizAttemptAdmin(admin.ModelAdmin):
    list_display = ("material", "owner", "score", "total", "created_at")
    raw_id_fields = ("material", "owner")
    readonly_fields = ("results",)


@admin.register(ContentReport)
class ContentReportAdmin(admin.ModelAdmin):
    list_display = (
        "reason",
        "material",
        "flashcard",
        "question",
        "reporter",
        "status",
        "created_at",
    )
    list_filter = ("status", "created_at")
    search_fields = (
        "reason",
        "material__title",
        "flashcard__front",
        "question__question",
        "reporter__email",
    )
    raw_id_fields = ("material", "flashcard", "question", "reporter")
    actions = ("resolve", "hide_target")

    def has_hide_targets_permission(self, request: HttpRequest) -> bool:
        """Hiding writes the reported rows too, so it needs the right to change them."""
        return request.user.has_perms(
            [
                "materials.change_contentreport",
                "materials.change_material",
                "materials.change_flashcard",
                "materials.change_quizquestion",
            ]
        )

    @admin.action(description=_("Mark selected reports resolved"), permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[ContentReport]) -> None:
        queryset.update(status=ContentReport.Status.RESOLVED)

    @admin.action(
        description=_("Hide the reported materials, cards and questions, and resolve"),
        permissions=["hide_targets"],
    )
    def hide_target(self, request: HttpRequest, queryset: QuerySet[ContentReport]) -> None:
        Material.objects.filter(reports__in=queryset).update(is_hidden=True)
        Flashcard.objects.filter(reports__in=queryset).update(is_hidden=True)
        QuizQuestion.objects.filter(reports__in=queryset).update(is_hidden=True)
        queryset.update(status=ContentReport.Status.RESOLVED)


@admin.register(StudyProfile)
class StudyProfileAdmin(admin.ModelAdmin):
    """A student's schedule settings and fitted FSRS parameters (read-only fit)."""

    list_display = ["user", "new_cards_per_day", "desired_retention", "optimized_reviews"]
    search_fields = ["user__email"]
    readonly_fields = ["fsrs_parameters", "optimized_reviews", "optimized_at"]
