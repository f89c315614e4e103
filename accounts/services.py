"""Writes on accounts: API tokens (issued, rotated, revoked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from allauth.account.adapter import get_adapter
from allauth.account.utils import has_verified_email
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import User


@dataclass(frozen=True)
class IssuedToken:
    """The key is shown once, here; the database keeps only its hash."""

    key: str
    expiry: datetime | None


class LoginThrottled(Exception):
    """Too many failed logins for this address or this account."""


class WrongCredentials(Exception):
    pass


class EmailUnconfirmed(Exception):
    """Right password, but the account's address is not confirmed yet (EMAIL_VERIFICATION)."""


@transaction.atomic
def api_token_create(*, user: User) -> IssuedToken:
    """A new token for `user`; expired ones go, and only the newest few stay valid.

    Each login makes its own token (a client that loses one does not lock out
    the others), but an account never holds more than API_TOKENS_PER_USER.
    """
    now = timezone.now()
    AuthToken.objects.filter(user=user, expiry__lt=now).delete()
    keep = max(settings.API_TOKENS_PER_USER - 1, 0)
    stale = (
        AuthToken.objects.filter(user=user).order_by("-created").values_list("pk", flat=True)[keep:]
    )
    AuthToken.objects.filter(pk__in=list(stale)).delete()
    instance, key = AuthToken.objects.create(user=user)
    return IssuedToken(key=key, expiry=instance.expiry)


def api_token_obtain(*, request: HttpRequest, email: str, password: str) -> IssuedToken:
    """Exchange email and password for a token, under the same failed-login
    limits as the login page (allauth's `login_failed`: per address and per
    account, counted together across the site's, the admin's and this door)."""
    adapter = get_adapter(request)
    try:
        user = adapter.authenticate(request, email=email.lower(), password=password)
    except ValidationError as exc:
        raise LoginThrottled(exc.messages[0]) from exc
    if user is None or not user.is_active:
        raise WrongCredentials
    # The login page holds an unconfirmed account back; this door must too.
    if settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory" and not has_verified_email(user):
        raise EmailUnconfirmed
    issued = api_token_create(user=user)
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return issued


@transaction.atomic
def api_token_rotate(*, token: AuthToken) -> IssuedToken:
    """Swap the presented token for a new one; the old one stops working at once."""
    user = token.user
    token.delete()
    return api_token_create(user=user)


def api_token_revoke(*, token: AuthToken) -> None:
    token.delete()


def api_tokens_revoke_all(*, user: User) -> int:
    """Every API token of the user; called on password change and by logout-all."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted
