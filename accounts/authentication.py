"""`Authorization: Token <key>` against hashed, expiring tokens (django-rest-knox)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.models import AuthToken


class ApiTokenAuthentication(TokenAuthentication):
    """knox's scheme, without its per-request sweep of the user's other tokens.

    knox deletes every expired token of the user on each request (one more
    query per API call); expired tokens are refused here all the same and are
    swept when the user gets a new one (accounts.services.api_token_create).
    """

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        return auth_token.expiry is not None and auth_token.expiry < timezone.now()


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI schema names it as DRF's token scheme was: same header, same keyword."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: object) -> dict:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
