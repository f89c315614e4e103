"""The API of a course student's private edit of a shared card (apis.py is full).

Looked up through a selector that takes request.user: a card the user owns,
or one of a course they are not in, is a 404.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import AuthenticatedRequest
from eduplatform.ownership import readable
from materials.models import Flashcard, PrivateEdit
from materials.serializers import as_drf_error
from materials.study import selectors, services


class PrivateEditSerializer(serializers.Serializer):
    hidden = serializers.BooleanField(
        source="is_hidden", required=False, help_text="Out of the student's reviews and counts."
    )
    front = serializers.CharField(
        max_length=2000, allow_blank=True, required=False, help_text="Empty: the teacher's text."
    )
    back = serializers.CharField(
        max_length=2000, allow_blank=True, required=False, help_text="Empty: the teacher's text."
    )


class PrivateEditApi(APIView):
    """A course student's private edit of a shared card: hidden for them, or their wording.

    Nobody else ever reads it; the teacher's edits still reach the sides left
    empty, and the student's schedule is never reset. Their own cards: 404.
    """

    def _card(self, request: AuthenticatedRequest, pk: int) -> Flashcard:
        return readable(selectors.flashcard_list_shared, request.user, pk)

    @extend_schema(responses={200: PrivateEditSerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        card = self._card(request, pk)
        edit = selectors.private_edit_get(user=request.user, card=card)
        return Response(PrivateEditSerializer(edit or PrivateEdit(card=card)).data)

    @extend_schema(request=PrivateEditSerializer, responses={200: PrivateEditSerializer})
    def patch(self, request: AuthenticatedRequest, pk: int) -> Response:
        card = self._card(request, pk)
        data = PrivateEditSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            edit = services.private_edit_save(user=request.user, card=card, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(PrivateEditSerializer(edit or PrivateEdit(card=card)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, pk: int) -> Response:
        services.private_edit_delete(user=request.user, card=self._card(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
