"""DRF endpoints for materials: validate, call a service, shape."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.types import AuthenticatedRequest
from eduplatform.body_limit import body_limit
from eduplatform.ownership import readable
from eduplatform.quota import QUOTA_RESPONSE
from materials.errors import IN_FLIGHT_RESPONSE
from materials.models import Material
from materials.selectors import material_list, material_list_visible
from materials.serializers import (
    MaterialCreateSerializer,
    MaterialSerializer,
    ReportSerializer,
    as_drf_error,
)
from materials.services import (
    material_create_file,
    material_create_youtube,
    material_delete,
    material_reprocess,
)


class MaterialViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MaterialSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Material.objects.none()
        # A moderator's flag hides a material from its owner, but never stops its deletion.
        return material_list(owner=self.request.user, include_hidden=self.action == "destroy")

    # Read by eduplatform.body_limit before the body is: a multipart body may
    # carry a PDF or a subtitle file; a JSON one (a YouTube link) is fields only.
    @body_limit(lambda: settings.MAX_UPLOAD_MB)
    @extend_schema(
        request=MaterialCreateSerializer, responses={201: MaterialSerializer, 429: QUOTA_RESPONSE}
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        serializer = MaterialCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            if data.get("file"):
                material = material_create_file(
                    owner=request.user, file=data["file"], title=data.get("title", "")
                )
            else:
                material = material_create_youtube(
                    owner=request.user,
                    url=data["youtube_url"],
                    title=data.get("title", ""),
                    subtitles=data.get("subtitles"),
                )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(MaterialSerializer(material).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Material) -> None:
        material_delete(material=instance)

    @extend_schema(
        request=None,
        responses={202: MaterialSerializer, 409: IN_FLIGHT_RESPONSE, 429: QUOTA_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def reprocess(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Process again: one of today's uploads and AI calls; 409 while a run is in flight."""
        material = material_reprocess(material=self.get_object(), by_student=True)
        return Response(MaterialSerializer(material).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ReportSerializer, responses={201: None})
    @action(detail=True, methods=["post"])
    def report(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Flag the material as wrong for the moderators (and a course's, for its teachers)."""
        from materials.study.services import content_report_create

        # The scope check comes first: a material the user may not read is a
        # 404 whatever the body, never a 400 that tells it exists.
        material = readable(material_list_visible, request.user, pk)
        data = ReportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = content_report_create(
            reporter=request.user,
            material=material,
            reason=data.validated_data.get("reason", ""),
        )
        return Response({"id": report.pk}, status=status.HTTP_201_CREATED)
