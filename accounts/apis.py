"""API tokens: obtain with email and password, rotate, log out."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiTokenAuthentication
from accounts.services import (
    EmailUnconfirmed,
    IssuedToken,
    LoginThrottled,
    WrongCredentials,
    api_token_obtain,
    api_token_revoke,
    api_token_rotate,
    api_tokens_revoke_all,
)
from accounts.types import AuthenticatedRequest
from eduplatform.throttling import ClientScopedRateThrottle


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(source="key", help_text="Send as `Authorization: Token <token>`.")
    expiry = serializers.DateTimeField(
        allow_null=True, help_text="When the token stops working (UTC, ISO 8601)."
    )


def _issued(issued: IssuedToken) -> Response:
    return Response(TokenResponseSerializer(issued).data)


class TokenObtainApi(APIView):
    """Exchange email and password for a new API token (each call makes its own)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ClientScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            403: OpenApiResponse(description="The account's email address is not confirmed yet."),
            429: OpenApiResponse(description="Throttled"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            issued = api_token_obtain(
                request=request._request,
                email=serializer.validated_data["email"],
                password=serializer.validated_data["password"],
            )
        except LoginThrottled as exc:
            raise Throttled(detail=str(exc)) from exc
        except WrongCredentials:
            return Response(
                {"non_field_errors": [_("Wrong email or password.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        except EmailUnconfirmed:
            message = _(
                "Confirm your email address first: follow the link in the mail we sent you. "
                "Signing in on the website sends it again."
            )
            return Response(
                {"detail": message, "code": "email_unconfirmed"},
                status=status.HTTP_403_FORBIDDEN,
            )
        return _issued(issued)


class TokenApiView(APIView):
    """Endpoints that act on the token the request came with."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsAuthenticated]


class TokenRotateApi(TokenApiView):
    """A new token for the one presented, which stops working at once."""

    @extend_schema(request=None, responses={200: TokenResponseSerializer})
    def post(self, request: Request) -> Response:
        return _issued(api_token_rotate(token=request.auth))


class LogoutApi(TokenApiView):
    """Revoke the presented token."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        api_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllApi(TokenApiView):
    """Revoke every API token of the user (sessions in browsers stay)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: AuthenticatedRequest) -> Response:
        api_tokens_revoke_all(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
