"""The owner's quiz question API: read one question with its answer, edit or hide it.

Only the material's owner reaches it (selectors.quiz_question_list_editable),
as with cards: a course's student, a co-teacher who does not own the
material and everyone else get 404. See materials.study.questions for what
an edit does to students' earlier attempts (nothing).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import AuthenticatedRequest
from eduplatform.ownership import owned
from materials.models import QuizQuestion
from materials.serializers import as_drf_error
from materials.study import selectors
from materials.study.questions import MAX_CHOICE_CHARS, MAX_CHOICES, question_update


class QuestionEditSerializer(serializers.ModelSerializer):
    """A question as its owner edits it; `answer_index` must come with new `choices`."""

    choices = serializers.ListField(
        child=serializers.CharField(max_length=MAX_CHOICE_CHARS, allow_blank=True),
        min_length=2,
        max_length=MAX_CHOICES,
        required=False,
    )
    answer_index = serializers.IntegerField(min_value=0, required=False)
    # Hidden by the owner: out of every student's quiz and the Moodle exports.
    hidden = serializers.BooleanField(source="is_suspended", required=False)

    class Meta:
        model = QuizQuestion
        fields = [
            "id", "material", "question", "choices", "answer_index", "explanation",
            "hidden", "edited_at",
        ]  # fmt: skip
        read_only_fields = ["id", "material", "edited_at"]
        extra_kwargs = {
            "question": {"required": False},
            "explanation": {"required": False, "allow_blank": True},
        }


class QuestionApi(APIView):
    """One question of the user's own material's quiz, with its answer."""

    @extend_schema(responses={200: QuestionEditSerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        question = owned(selectors.quiz_question_list_editable, request.user, pk)
        return Response(QuestionEditSerializer(question).data)

    @extend_schema(request=QuestionEditSerializer, responses={200: QuestionEditSerializer})
    def patch(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Edit the wording, choices, correct choice or explanation, or hide it (`hidden`).

        Every student sees the edit at once; their schedules and earlier
        attempts are untouched.
        """
        question = owned(selectors.quiz_question_list_editable, request.user, pk)
        data = QuestionEditSerializer(question, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            question = question_update(
                question=question,
                text=values.get("question"),
                choices=values.get("choices"),
                answer_index=values.get("answer_index"),
                explanation=values.get("explanation"),
                is_suspended=values.get("is_suspended"),
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(QuestionEditSerializer(question).data)
