from django.contrib import admin
from django.http import HttpRequest

from tutor.models import Conversation, Message


# Django's admin classes take no type arguments at run time (only django-stubs-ext's
# monkeypatch, a run-time dependency for the checker's sake, would let them).
class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Moderators read conversations; only their owner writes them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MessageInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Message
    fields = ("role", "content", "citations", "generator", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "owner", "material", "created_at", "updated_at")
    list_filter = ("created_at",)
    search_fields = ("title", "owner__email", "material__title", "messages__content")
    list_select_related = ("owner", "material")
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "role", "conversation", "generator", "created_at")
    list_filter = ("role", "generator", "created_at")
    search_fields = ("content", "conversation__title", "conversation__owner__email")
    list_select_related = ("conversation",)
