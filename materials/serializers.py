from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from materials.models import Material


def as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A service's validation error as DRF's, so the API answers 400 with the same fields."""
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    )


class ReportSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False)


class MaterialSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()
    # True once the text is in: search and the tutor answer before processing ends.
    searchable = serializers.BooleanField(source="is_searchable", read_only=True)

    class Meta:
        model = Material
        fields = [
            "id",
            "title",
            "kind",
            "status",
            "stage",
            "progress",
            "searchable",
            "error",
            "page_count",
            "duration_seconds",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_error(self, material: Material) -> str:
        return material.error


class MaterialCreateSerializer(serializers.Serializer):
    """Either a `file` (multipart) or a `youtube_url`, with an optional title.

    `file` takes a PDF, slides (.pptx) or a handout (.docx); the kind is read
    from the bytes, so clients that sent PDFs here keep working unchanged.
    """

    file = serializers.FileField(
        required=False,
        help_text=_("A PDF, PowerPoint slides (.pptx) or a Word handout (.docx)."),
    )
    youtube_url = serializers.CharField(required=False, max_length=500)
    subtitles = serializers.FileField(required=False)
    title = serializers.CharField(required=False, allow_blank=True, max_length=300)

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("file")) == bool(attrs.get("youtube_url")):
            raise serializers.ValidationError(
                {"file": [_("Send either a file (PDF, PPTX or DOCX) or a YouTube link.")]}
            )
        return attrs
