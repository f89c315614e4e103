"""DRF endpoints of the tutor: validate, call a service, shape."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.types import AuthenticatedRequest
from eduplatform import quota
from eduplatform.ownership import owned, readable
from eduplatform.quota import QUOTA_RESPONSE
from eduplatform.throttling import user_throttle
from materials.selectors import material_list_visible
from materials.study.apis import FlashcardSerializer
from tutor.models import Conversation
from tutor.selectors import conversation_list
from tutor.serializers import (
    ConversationCreateSerializer,
    ConversationSerializer,
    MessageCreateSerializer,
    MessageSerializer,
)
from tutor.services import conversation_create, message_ask, message_missed

# A question costs an AI call only when a hosted model writes its answer;
# answers written without one have a rate of their own.
QUESTION_LIMIT_RESPONSE = OpenApiResponse(
    response=QUOTA_RESPONSE.response,
    description=(
        "Today's AI calls are spent, or so are today's answers without the AI model "
        "(code daily_limit); or more questions this minute than answers without the AI "
        "model may take (code rate_limit); or the tutor is already writing as many "
        "answers for this user as one may have at once (code concurrent_limit). "
        "See Retry-After."
    ),
)


class ConversationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Conversation]
):
    """The signed-in user's tutor conversations; another user's answer 404."""

    serializer_class = ConversationSerializer
    # Past IsAuthenticated, as every API view is.
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[Conversation]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Conversation.objects.none()
        return conversation_list(owner=self.request.user).prefetch_related("messages")

    def get_object(self) -> Conversation:
        return owned(self.get_queryset(), self.request.user, self.kwargs["pk"])

    @extend_schema(request=ConversationCreateSerializer, responses={201: ConversationSerializer})
    def create(self, request: AuthenticatedRequest) -> Response:
        serializer = ConversationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        material = None
        if serializer.validated_data.get("material") is not None:
            material = readable(
                material_list_visible, request.user, serializer.validated_data["material"]
            )
        conversation = conversation_create(owner=request.user, material=material)
        return Response(ConversationSerializer(conversation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=MessageCreateSerializer,
        responses={201: MessageSerializer, 429: QUESTION_LIMIT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def messages(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        conversation = self.get_object()
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = message_ask(
            conversation=conversation, content=serializer.validated_data["content"]
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None, responses={201: FlashcardSerializer, 204: None, 429: quota.RATE_RESPONSE}
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"messages/(?P<message_id>\d+)/missed",
        throttle_classes=[user_throttle(quota.MISSED)],
    )
    def missed(
        self, request: AuthenticatedRequest, pk: str | None = None, message_id: str = ""
    ) -> Response:
        """ "Didn't get it": the answer's cited sentence (its card) comes back tomorrow."""
        conversation = self.get_object()
        message = conversation.messages.filter(pk=message_id).first()
        if message is None:
            raise Http404
        card = message_missed(message=message)
        if card is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(FlashcardSerializer(card).data, status=status.HTTP_201_CREATED)
