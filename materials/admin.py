from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from materials.models import Chunk, Material
from materials.services import material_reprocess


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "owner",
        "kind",
        "status",
        "stage",
        "progress",
        "error_code",
        "is_hidden",
        "created_at",
    )
    list_filter = ("status", "kind", "stage", "is_hidden", "language", "created_at")
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

    @admin.action(description=_("Reprocess selected materials"))
    def reprocess(self, request: HttpRequest, queryset: QuerySet[Material]) -> None:
        for material in queryset:
            material_reprocess(material=material)
        self.message_user(request, _("Queued for processing."), messages.SUCCESS)

    @admin.action(description=_("Hide selected materials"))
    def hide(self, request: HttpRequest, queryset: QuerySet[Material]) -> None:
        queryset.update(is_hidden=True)

    @admin.action(description=_("Unhide selected materials"))
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
    exclude = ("embedding",)
    readonly_fields = ("search_vector",)
