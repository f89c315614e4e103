"""DRF endpoints for courses: validate, call a service, shape.

Every object comes from a selector that takes request.user: a course the user
is no current member of, and any teacher's action asked by a student, is 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import AuthenticatedRequest
from courses import selectors, services
from courses.exports import FORMATS, export_response
from courses.models import Course, CourseMaterial, Invite, Membership, Unit
from courses.progress import ON_TIME_SHARE, RETENTION_DAYS, course_progress
from courses.serializers import (
    CourseProgressSerializer,
    CourseReportSerializer,
    CourseSerializer,
    CourseWriteSerializer,
    EntryCreateSerializer,
    EntrySerializer,
    InviteCreateSerializer,
    InviteSerializer,
    JoinSerializer,
    MembershipSerializer,
    RoleSerializer,
    UnitSerializer,
    UnitWriteSerializer,
    validated,
)
from eduplatform import quota
from eduplatform.ownership import owned, readable
from eduplatform.throttling import user_throttle
from materials.selectors import material_list
from materials.serializers import as_drf_error


def _fake(view: Any) -> bool:
    return getattr(view, "swagger_fake_view", False)  # schema generation has no user


class CourseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The courses the user is a member of. Changes: owner and teachers; delete: owner."""

    serializer_class = CourseSerializer
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[Course]:
        if _fake(self):
            return Course.objects.none()
        return selectors.course_list(user=self.request.user)

    def get_object(self) -> Course:
        return readable(selectors.course_list, self.request.user, self.kwargs["pk"])

    def _managed(self) -> Course:
        return readable(selectors.course_list_managed, self.request.user, self.kwargs["pk"])

    @extend_schema(request=CourseWriteSerializer, responses={201: CourseSerializer})
    def create(self, request: AuthenticatedRequest) -> Response:
        data = validated(CourseWriteSerializer, request.data)
        try:
            course = services.course_create(owner=request.user, **data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        body = CourseSerializer(course, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=CourseWriteSerializer, responses={200: CourseSerializer})
    def partial_update(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        course = self._managed()
        body = request.data if isinstance(request.data, dict) else {}
        # A PATCH may leave the title out; .get reads a form's single values too.
        data = validated(
            CourseWriteSerializer,
            {"title": course.title, "exam_date": course.exam_date}
            | {key: body.get(key) for key in body},
        )
        try:
            services.course_update(
                course=course, title=data["title"], exam_date=data.get("exam_date")
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(CourseSerializer(course, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Only the owner deletes a course; the materials stay theirs."""
        owned(Course, request.user, pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def leave(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Leave the course (not its owner); an invite brings you back."""
        try:
            services.course_leave(user=request.user, course=self.get_object())
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses={200: UnitSerializer(many=True)})
    @extend_schema(methods=["POST"], request=UnitWriteSerializer, responses={201: UnitSerializer})
    @action(detail=True, methods=["get", "post"])
    def units(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """The course's units with their materials; POST adds one (owner and teachers)."""
        if request.method == "POST":
            # The course first: a student's bad body is a 404 too, never a 400 that tells more.
            course = self._managed()
            data = validated(UnitWriteSerializer, request.data)
            try:
                unit = services.unit_create(course=course, **data)
            except DjangoValidationError as exc:
                raise as_drf_error(exc) from exc
            return Response(UnitSerializer(unit).data, status=status.HTTP_201_CREATED)
        units = selectors.unit_list(course=self.get_object())
        page = self.paginate_queryset(units)
        return self.get_paginated_response(UnitSerializer(page, many=True).data)

    @extend_schema(responses={200: MembershipSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def memberships(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """The course's members, removed ones included (owner and teachers only)."""
        course = self._managed()
        members = selectors.member_list(user=request.user).filter(course=course)
        page = self.paginate_queryset(members)
        return self.get_paginated_response(MembershipSerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses={200: InviteSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=InviteCreateSerializer, responses={201: InviteSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def invites(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """The course's invites; POST makes one, with an optional expiry (owner and teachers)."""
        course = self._managed()
        context = {"request": request}
        if request.method == "POST":
            data = validated(InviteCreateSerializer, request.data)
            try:
                invite = services.invite_create(
                    course=course, by=request.user, expires_at=data.get("expires_at")
                )
            except DjangoValidationError as exc:
                raise as_drf_error(exc) from exc
            body = InviteSerializer(invite, context=context).data
            return Response(body, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(course.invites.all())
        return self.get_paginated_response(InviteSerializer(page, many=True, context=context).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=sorted(FORMATS)),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            429: quota.RATE_RESPONSE,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"export/(?P<fmt>[^/]+)",
        throttle_classes=[user_throttle(quota.EXPORT)],
    )
    def export(self, request: AuthenticatedRequest, pk: str | None = None, fmt: str = "") -> Any:
        """The course's quiz as Moodle XML or GIFT, each question with its source page."""
        return export_response(self._managed(), fmt, request.build_absolute_uri("/"))

    @extend_schema(responses={200: CourseProgressSerializer})
    @action(detail=True, methods=["get"])
    def progress(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Each unit's figures on the shared cards and quiz (owner and teachers only).

        Aggregates over the current students, plus those behind schedule on
        units whose due date has passed; nothing of a student's own study.
        """
        progress = course_progress(course=self._managed())
        body = CourseProgressSerializer(
            {
                "course": progress.course,
                "student_count": progress.student_count,
                "retention_days": RETENTION_DAYS,
                "on_time_share": ON_TIME_SHARE,
                "since": progress.since,
                "units": progress.units,
            }
        ).data
        return Response(body)

    @extend_schema(responses={200: CourseReportSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def reports(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Students' reports on the course's shared materials, cards and questions.

        Owner and teachers only; the reporter is not named.
        """
        reports = selectors.report_list_managed(user=request.user, course=self._managed())
        return Response(CourseReportSerializer(reports, many=True).data)

    @extend_schema(request=None, responses={200: CourseReportSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"reports/(?P<report_pk>[0-9]+)/resolve",
        url_name="report-resolve",
    )
    def resolve_report(
        self, request: AuthenticatedRequest, pk: str | None = None, report_pk: str = ""
    ) -> Response:
        """Mark a student's report resolved (for the moderators too)."""
        scope = selectors.report_list_managed(user=request.user, course=self._managed())
        report = services.report_resolve(report=get_object_or_404(scope, pk=report_pk))
        return Response(CourseReportSerializer(report).data)


class UnitViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A unit of one of the user's courses; delete and add materials: owner and teachers."""

    serializer_class = UnitSerializer
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[Unit]:
        if _fake(self):
            return Unit.objects.none()
        return selectors.unit_list_visible(user=self.request.user)

    def get_object(self) -> Unit:
        return readable(selectors.unit_list_visible, self.request.user, self.kwargs["pk"])

    def _managed(self) -> Unit:
        return readable(selectors.unit_list_managed, self.request.user, self.kwargs["pk"])

    def destroy(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        services.unit_delete(unit=self._managed())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=EntryCreateSerializer, responses={201: EntrySerializer})
    @action(detail=True, methods=["post"])
    def materials(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Put one of your own materials into the unit; another user's material is 404."""
        unit = self._managed()
        data = validated(EntryCreateSerializer, request.data)
        material = owned(material_list, request.user, data["material"])
        try:
            entry = services.course_material_add(unit=unit, material=material, by=request.user)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class CourseMaterialViewSet(mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """A material's place in a unit: owner and teachers take it out (the material stays)."""

    serializer_class = EntrySerializer
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[CourseMaterial]:
        if _fake(self):
            return CourseMaterial.objects.none()
        return selectors.entry_list_managed(user=self.request.user)

    def get_object(self) -> CourseMaterial:
        return readable(selectors.entry_list_managed, self.request.user, self.kwargs["pk"])

    def perform_destroy(self, instance: CourseMaterial) -> None:
        services.course_material_remove(entry=instance)


class MembershipViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Members of the courses the user owns or teaches. DELETE removes at once."""

    serializer_class = MembershipSerializer
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[Membership]:
        if _fake(self):
            return Membership.objects.none()
        return selectors.member_list(user=self.request.user)

    def get_object(self) -> Membership:
        return readable(selectors.member_list, self.request.user, self.kwargs["pk"])

    @extend_schema(request=RoleSerializer, responses={200: MembershipSerializer})
    def partial_update(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """The owner makes a student a teacher, or a teacher a student."""
        membership = self.get_object()
        data = validated(RoleSerializer, request.data)
        try:
            services.member_set_role(membership=membership, role=data["role"], by=request.user)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(MembershipSerializer(membership).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Remove the member: their next request no longer sees the course."""
        try:
            services.member_remove(membership=self.get_object(), by=request.user)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class InviteViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Invites of the courses the user owns or teaches."""

    serializer_class = InviteSerializer
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[Invite]:
        if _fake(self):
            return Invite.objects.none()
        return selectors.invite_list_managed(user=self.request.user)

    def get_object(self) -> Invite:
        return readable(selectors.invite_list_managed, self.request.user, self.kwargs["pk"])

    @extend_schema(request=None, responses={200: InviteSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """The invite stops working at once; members who joined with it stay."""
        invite = services.invite_revoke(invite=self.get_object())
        return Response(InviteSerializer(invite, context={"request": request}).data)


class JoinApi(APIView):
    """Join a course by its invite code, as a student.

    400 with `code` "invalid", "expired", "revoked" or "removed" and a message
    in the request's language; joining twice answers the same membership.
    """

    request: AuthenticatedRequest

    @extend_schema(request=JoinSerializer, responses={201: MembershipSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = validated(JoinSerializer, request.data)
        try:
            membership = services.course_join(user=request.user, code=data["code"])
        except DjangoValidationError as exc:
            return Response(
                {"code": exc.code or "invalid", "detail": " ".join(exc.messages)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)
