"""DRF endpoints for study content: validate, call a selector or service, shape.

Every object is looked up through a selector that takes request.user, so
another student's material, card, question or attempt is a 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils.text import slugify
from django.utils.translation import ngettext
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import AuthenticatedRequest
from eduplatform import quota
from eduplatform.ownership import owned, readable
from eduplatform.throttling import UserRateThrottle, throttle, user_throttle
from materials.errors import IN_FLIGHT_RESPONSE
from materials.models import Flashcard, Material, QuizQuestion, StudyProfile
from materials.selectors import material_list, material_list_visible
from materials.serializers import ReportSerializer, as_drf_error
from materials.study import selectors, services
from materials.study.exports import cards_to_apkg, cards_to_csv, notes_to_markdown
from materials.study.generation import generation_error_message, study_regenerate

# --- serializers ------------------------------------------------------------


class SourceSerializer(serializers.Serializer):
    page = serializers.IntegerField(allow_null=True)
    start_seconds = serializers.FloatField(allow_null=True)


class SummarySentenceSerializer(serializers.Serializer):
    text = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    start_seconds = serializers.FloatField(allow_null=True)
    quote = serializers.CharField()


class SummarySectionSerializer(serializers.Serializer):
    heading = serializers.CharField()
    sentences = SummarySentenceSerializer(many=True)


class SummarySerializer(serializers.Serializer):
    text = serializers.CharField()
    generator = serializers.CharField()
    status = serializers.CharField()
    error = serializers.CharField()
    # The same summary by top-level section, each sentence with the place it links to.
    sections = SummarySectionSerializer(many=True)


class NoteSectionSerializer(serializers.Serializer):
    heading = serializers.CharField()
    points = serializers.ListField(child=serializers.CharField())
    pages = serializers.ListField(child=serializers.IntegerField())
    sources = SourceSerializer(many=True)


class NotesSerializer(serializers.Serializer):
    sections = NoteSectionSerializer(many=True)
    generator = serializers.CharField()


class FlashcardSerializer(serializers.ModelSerializer):
    # A field named like Field.source, which the stubs type as a str.
    source = serializers.SerializerMethodField()  # type: ignore[assignment]
    suspended = serializers.BooleanField(source="is_suspended", required=False)
    # Never reviewed (one of a day's new cards), and brought back by a mistake.
    is_new = serializers.SerializerMethodField()
    from_mistake = serializers.BooleanField(read_only=True)
    # A course student's private edit of a shared card, seen by them alone.
    hidden_for_me = serializers.SerializerMethodField()
    private_text = serializers.SerializerMethodField()

    class Meta:
        model = Flashcard
        fields = [
            "id", "material", "front", "back", "source", "due", "suspended", "origin",
            "source_changed", "is_new", "from_mistake", "hidden_for_me", "private_text",
        ]  # fmt: skip
        read_only_fields = ["id", "material", "source", "due", "origin", "source_changed"]

    def get_is_new(self, card: Flashcard) -> bool:
        return card.last_review is None and card.mistake_at is None

    def get_hidden_for_me(self, card: Flashcard) -> bool:
        return getattr(card, "hidden_for_me", False)

    def get_private_text(self, card: Flashcard) -> bool:
        """The front or back shown is the student's own wording, not the teacher's."""
        return getattr(card, "private_front", False) or getattr(card, "private_back", False)

    def get_source(self, card: Flashcard) -> dict:
        return {"page": card.page, "start_seconds": card.start_seconds}


class FlashcardCreateSerializer(serializers.Serializer):
    front = serializers.CharField(max_length=2000)
    back = serializers.CharField(max_length=2000)


class ReviewSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=4)
    # At most a day: larger values are typos and would overflow the column.
    duration_ms = serializers.IntegerField(min_value=0, max_value=86_400_000, required=False)


class QuestionSerializer(serializers.ModelSerializer):
    # A field named like Field.source, which the stubs type as a str.
    source = serializers.SerializerMethodField()  # type: ignore[assignment]

    class Meta:
        model = QuizQuestion
        fields = ["id", "question", "choices", "answer_index", "explanation", "source"]

    def get_source(self, question: QuizQuestion) -> dict:
        return {"page": question.page, "start_seconds": question.start_seconds}


class QuizSerializer(serializers.Serializer):
    questions = QuestionSerializer(many=True)
    generator = serializers.CharField()


class StudySettingsSerializer(serializers.Serializer):
    new_cards_per_day = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    desired_retention = serializers.FloatField(min_value=0.7, max_value=0.97, required=False)
    # The schedule as fitted to the student: empty parameters are FSRS's defaults.
    fsrs_parameters = serializers.ListField(child=serializers.FloatField(), read_only=True)
    personal_parameters = serializers.SerializerMethodField()
    optimized_reviews = serializers.IntegerField(read_only=True)
    optimized_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_personal_parameters(self, profile: StudyProfile) -> bool:
        return bool(profile.fsrs_parameters)


class AttemptCreateSerializer(serializers.Serializer):
    answers = serializers.DictField(child=serializers.IntegerField(allow_null=True))


class AttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    material = serializers.IntegerField(source="material_id")
    score = serializers.IntegerField()
    total = serializers.IntegerField()
    results = serializers.ListField(child=serializers.DictField())
    created_at = serializers.DateTimeField()


# --- helpers ------------------------------------------------------------------


def _paginated(
    view: APIView, request: AuthenticatedRequest, queryset, serializer_class
) -> Response:
    paginator = PageNumberPagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    # Annotated cards carry the reader's own schedule on shared ones.
    rows = selectors.as_seen(page or []) if serializer_class is FlashcardSerializer else page
    return paginator.get_paginated_response(serializer_class(rows, many=True).data)


# --- summary and notes ----------------------------------------------------------


class SummaryApi(APIView):
    @extend_schema(responses={200: SummarySerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        # A course student reads the shared material's summary; only its owner changes it.
        material = readable(material_list_visible, request.user, pk)
        study_set = selectors.study_set_get(owner=material.owner, material=material)
        return Response(
            {
                "text": study_set.summary if study_set else "",
                "generator": study_set.generator if study_set else "",
                "status": study_set.status if study_set else "pending",
                "error": generation_error_message(study_set.error_code) if study_set else "",
                "sections": study_set.summary_sections if study_set else [],
            }
        )


class NotesApi(APIView):
    @extend_schema(responses={200: NotesSerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        material = readable(material_list_visible, request.user, pk)
        sections = selectors.note_section_list(owner=material.owner, material=material)
        study_set = selectors.study_set_get(owner=material.owner, material=material)
        return Response(
            {
                "sections": [
                    {
                        "heading": section.heading,
                        "points": [point["text"] for point in section.points],
                        "pages": section.pages,
                        "sources": [
                            {"page": p.get("page"), "start_seconds": p.get("start_seconds")}
                            for p in section.points
                        ],
                    }
                    for section in sections
                ],
                "generator": study_set.generator if study_set else "",
            }
        )


class RegenerateApi(APIView):
    """Make the study content again (e.g. after "could not be generated")."""

    @extend_schema(
        request=None,
        responses={202: SummarySerializer, 409: IN_FLIGHT_RESPONSE, 429: quota.QUOTA_RESPONSE},
    )
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        material = owned(material_list, request.user, pk)
        if material.status not in (Material.Status.READY, *Material.IN_FLIGHT):
            raise serializers.ValidationError({"material": ["The material is not ready yet."]})
        # In flight: 409; over budget: 429, each with the reason.
        study_set = study_regenerate(material=material)
        return Response(
            {
                "text": study_set.summary,
                "generator": study_set.generator,
                "status": "pending",
                "error": "",
                "sections": study_set.summary_sections,
            },
            status=status.HTTP_202_ACCEPTED,
        )


# --- flashcards -------------------------------------------------------------------


class MaterialFlashcardsApi(APIView):
    pagination_class = PageNumberPagination  # so the schema shows the paginated envelope

    @extend_schema(responses={200: FlashcardSerializer(many=True)})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        # A course student gets the shared cards and their own, on their own schedule.
        material = readable(material_list_visible, request.user, pk)
        cards = selectors.flashcard_list_mine(user=request.user, material=material)
        return _paginated(self, request, cards, FlashcardSerializer)

    @extend_schema(request=FlashcardCreateSerializer, responses={201: FlashcardSerializer})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        material = owned(material_list, request.user, pk)
        data = FlashcardCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            card = services.flashcard_create(
                owner=request.user, material=material, **data.validated_data
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(FlashcardSerializer(card).data, status=status.HTTP_201_CREATED)


class FlashcardApi(APIView):
    @extend_schema(responses={200: FlashcardSerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        return Response(FlashcardSerializer(owned(selectors.flashcard_list, request.user, pk)).data)

    @extend_schema(request=FlashcardSerializer, responses={200: FlashcardSerializer})
    def patch(self, request: AuthenticatedRequest, pk: int) -> Response:
        card = owned(selectors.flashcard_list, request.user, pk)
        data = FlashcardSerializer(card, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            card = services.flashcard_update(
                card=card,
                front=data.validated_data.get("front"),
                back=data.validated_data.get("back"),
                is_suspended=data.validated_data.get("is_suspended"),
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(FlashcardSerializer(card).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, pk: int) -> Response:
        services.flashcard_delete(card=owned(selectors.flashcard_list, request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReviewMinuteThrottle(UserRateThrottle):
    scope = "review"
    setting = "STUDY_REVIEWS_PER_MINUTE"
    period = "m"

    def message(self) -> str:
        return ngettext(
            "You are rating more than %(limit)d card a minute. Wait a minute, then go on.",
            "You are rating more than %(limit)d cards a minute. Wait a minute, then go on.",
            self.limit,
        ) % {"limit": self.limit}


class ReviewDayThrottle(UserRateThrottle):
    scope = "review_day"
    setting = "STUDY_REVIEWS_PER_DAY"
    period = "d"

    def message(self) -> str:
        return ngettext(
            "You have rated %(limit)d card in the last 24 hours, the most one student may. "
            "You can go on later.",
            "You have rated %(limit)d cards in the last 24 hours, the most one student may. "
            "You can go on later.",
            self.limit,
        ) % {"limit": self.limit}


# Ratings a student may make, the review page and the API counted together.
REVIEW_THROTTLES = (ReviewMinuteThrottle, ReviewDayThrottle)
REVIEW_LIMIT_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        "ReviewLimitError",
        {"detail": serializers.CharField(), "code": serializers.CharField()},
    ),
    description="Rating faster than a student may (code rate_limit; see Retry-After).",
)


class FlashcardReviewApi(APIView):
    @extend_schema(
        request=ReviewSerializer, responses={200: FlashcardSerializer, 429: REVIEW_LIMIT_RESPONSE}
    )
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        card = readable(selectors.flashcard_list_visible, request.user, pk)
        throttle(request, REVIEW_THROTTLES)
        data = ReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        card = services.flashcard_review(
            card=card,
            user=request.user,
            rating=data.validated_data["rating"],
            duration_ms=data.validated_data.get("duration_ms"),
        )
        seen = selectors.flashcard_seen(user=request.user, card=card)
        return Response(FlashcardSerializer(seen).data)


class ExamPlanSerializer(serializers.Serializer):
    """One course's exam as it stands for the student today (materials/study/exam.py)."""

    course = serializers.IntegerField(source="course_id")
    title = serializers.CharField()
    exam_date = serializers.DateField()
    days_left = serializers.IntegerField()
    unlearned = serializers.IntegerField(help_text="The course's cards never reviewed yet.")
    started_today = serializers.IntegerField()
    share = serializers.IntegerField(help_text="Today's new cards of the course.")
    share_left = serializers.IntegerField()
    in_final_window = serializers.BooleanField(
        help_text="In the last three days: every card comes back once before the exam."
    )


class DueSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = FlashcardSerializer(many=True)
    # The dashboard's "Exams ahead": the student's courses with an exam, soonest first.
    exams = ExamPlanSerializer(many=True)


class DueFlashcardsApi(APIView):
    """Cards due today across the user's materials and courses (or one, `?material=`),
    each on the user's own schedule, with the exam plans of their courses."""

    @extend_schema(
        parameters=[OpenApiParameter("material", int, description="Only this material's cards")],
        responses={200: DueSerializer},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        material = None
        if request.query_params.get("material"):
            # A course's material too; one the user may not read is a 404.
            material = readable(
                material_list_visible, request.user, request.query_params["material"]
            )
        cards, exams = selectors.flashcard_due_queue(owner=request.user, material=material)
        response = _paginated(self, request, cards, FlashcardSerializer)
        response.data["exams"] = ExamPlanSerializer(exams, many=True).data
        return response


class StudySettingsApi(APIView):
    """New cards a day, desired retention, and the student's fitted FSRS parameters."""

    @extend_schema(responses={200: StudySettingsSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        profile = selectors.study_profile_get(user=request.user)
        return Response(StudySettingsSerializer(profile).data)

    @extend_schema(request=StudySettingsSerializer, responses={200: StudySettingsSerializer})
    def patch(self, request: AuthenticatedRequest) -> Response:
        data = StudySettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            profile = services.study_profile_update(user=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(StudySettingsSerializer(profile).data)


def _report(request: AuthenticatedRequest, target: Flashcard | QuizQuestion) -> Response:
    """A card's or question's report: to the moderators, and on a course's material to its
    teachers too (their course's reports)."""
    data = ReportSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    report = services.content_report_create(
        reporter=request.user,
        reason=data.validated_data.get("reason", ""),
        flashcard=target if isinstance(target, Flashcard) else None,
        question=target if isinstance(target, QuizQuestion) else None,
    )
    return Response({"id": report.pk}, status=status.HTTP_201_CREATED)


class FlashcardReportApi(APIView):
    @extend_schema(request=ReportSerializer, responses={201: None})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        # A course student may report the shared card they study.
        card = readable(selectors.flashcard_list_visible, request.user, pk)
        return _report(request, card)


# --- quiz -----------------------------------------------------------------------------


class QuizApi(APIView):
    @extend_schema(responses={200: QuizSerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        material = readable(material_list_visible, request.user, pk)
        questions = selectors.quiz_question_list(owner=material.owner, material=material)
        study_set = selectors.study_set_get(owner=material.owner, material=material)
        return Response(
            {
                "questions": QuestionSerializer(questions, many=True).data,
                "generator": study_set.generator if study_set else "",
            }
        )


class QuizAttemptsApi(APIView):
    pagination_class = PageNumberPagination  # so the schema shows the paginated envelope

    @extend_schema(responses={200: AttemptSerializer(many=True)})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        material = readable(material_list_visible, request.user, pk)
        attempts = selectors.quiz_attempt_list(owner=request.user, material=material)
        return _paginated(self, request, attempts, AttemptSerializer)

    @extend_schema(request=AttemptCreateSerializer, responses={201: AttemptSerializer})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        # The owner's questions on a course's material; the attempt is the student's own.
        material = readable(material_list_visible, request.user, pk)
        data = AttemptCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        questions = list(selectors.quiz_question_list(owner=material.owner, material=material))
        attempt = services.quiz_attempt_create(
            owner=request.user,
            material=material,
            questions=questions,
            answers=data.validated_data["answers"],
        )
        return Response(AttemptSerializer(attempt).data, status=status.HTTP_201_CREATED)


class QuizAttemptApi(APIView):
    @extend_schema(responses={200: AttemptSerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        attempt = owned(selectors.quiz_attempt_list, request.user, pk)
        return Response(AttemptSerializer(attempt).data)


class QuestionFlashcardApi(APIView):
    """Turn a (missed) question into a flashcard."""

    @extend_schema(request=None, responses={201: FlashcardSerializer})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        question = readable(selectors.quiz_question_list_visible, request.user, pk)
        card = services.flashcard_from_question(owner=request.user, question=question)
        return Response(FlashcardSerializer(card).data, status=status.HTTP_201_CREATED)


class QuestionReportApi(APIView):
    @extend_schema(request=ReportSerializer, responses={201: None})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        question = readable(selectors.quiz_question_list_visible, request.user, pk)
        return _report(request, question)


# --- exports --------------------------------------------------------------------------


def _download(content: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=0"
    return response


def export_response(request, material: Material, fmt: str) -> HttpResponse:
    """The export of one format, shared by the API and the pages.

    `material` is one the user may read. A course student gets its cards as
    they study them (selectors.flashcard_list_exported); the notes' Markdown
    stays the owner's.
    """
    if fmt not in ("anki", "csv", "markdown"):
        raise Http404
    if fmt == "markdown" and material.owner_id != request.user.pk:
        raise Http404
    base_url = request.build_absolute_uri("/")
    name = slugify(material.title)[:60] or f"material-{material.pk}"
    if fmt == "markdown":
        study_set = selectors.study_set_get(owner=request.user, material=material)
        sections = selectors.note_section_list(owner=request.user, material=material)
        text = notes_to_markdown(
            material, study_set.summary if study_set else "", sections, base_url=base_url
        )
        return _download(text.encode(), "text/markdown; charset=utf-8", f"{name}.md")
    cards = selectors.flashcard_list_exported(user=request.user, material=material)
    if fmt == "csv":
        return _download(
            cards_to_csv(material, cards, base_url=base_url),
            "text/csv; charset=utf-8",
            f"{name}.csv",
        )
    return _download(
        cards_to_apkg(material, cards, base_url=base_url), "application/apkg", f"{name}.apkg"
    )


class ExportApi(APIView):
    """`anki` (.apkg), `csv` (cards) or `markdown` (notes, the owner's only).

    A course student gets the shared material's cards as they study them: in
    their private wording, without the cards they or the teacher hid.
    """

    throttle_classes = [user_throttle(quota.EXPORT)]

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 429: quota.RATE_RESPONSE})
    def get(self, request: AuthenticatedRequest, pk: int, fmt: str) -> HttpResponse:
        return export_response(request, readable(material_list_visible, request.user, pk), fmt)
