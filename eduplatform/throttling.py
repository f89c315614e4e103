"""Throttles: per real client (behind however many proxies we trust), and per user.

Per user, a page or an API endpoint counts one use of a kind of
eduplatform.quota per request before it does anything: over the rate the
answer is HTTP 429 with Retry-After and the message in the user's language,
as JSON for the API ({"detail", "code"}), a fragment for htmx (which
static/js/app.js shows in the form) and a page otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle

from eduplatform import quota
from eduplatform.client_ip import TrustedProxies, client_ip


def request_client_ip(request: HttpRequest) -> str:
    """The client's address by TRUSTED_PROXIES, for throttles and logs."""
    trusted: TrustedProxies = settings.TRUSTED_PROXIES
    return client_ip(
        request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR"), trusted
    )


class ClientIPMixin:
    """DRF keys anonymous throttles on the whole X-Forwarded-For unless told
    NUM_PROXIES; ours asks the one rule the whole app uses."""

    def get_ident(self, request: HttpRequest) -> str:
        return request_client_ip(request)


class ClientScopedRateThrottle(ClientIPMixin, ScopedRateThrottle):
    pass


def user_throttle(kind: str) -> type[BaseThrottle]:
    """A DRF throttle counting one use of `kind` per request of a signed-in user.

    It raises quota.QuotaExceeded itself rather than answering False, so the
    429 carries the kind's own message and code, as the budgets' do.
    """

    class UserQuotaThrottle(BaseThrottle):
        def allow_request(self, request: Any, view: Any) -> bool:
            # A method the endpoint does not serve is answered 405 for nothing.
            served = hasattr(view, request.method.lower())
            if served and request.user and request.user.is_authenticated:
                quota.reserve(request.user, kind)
            return True

    UserQuotaThrottle.__name__ = f"UserQuotaThrottle[{kind}]"
    return UserQuotaThrottle


def refused_response(request: HttpRequest, refusal: quota.QuotaExceeded) -> HttpResponse:
    """The 429 of a page: a fragment for htmx, else a page; Retry-After either way."""
    if request.headers.get("HX-Request") == "true":
        fragment = format_html('<p class="field-error" role="alert">{}</p>', refusal.message)
        response = HttpResponse(fragment, status=429)
    else:
        response = render(request, "429.html", {"message": refusal.message}, status=429)
    response["Retry-After"] = str(int(refusal.wait or 1))
    return response


def user_rate_limited(kind: str, *, when: Callable[[HttpRequest], bool] | None = None) -> Callable:
    """A page view that counts one use of `kind` per request (see user_throttle);
    with `when`, only the requests it accepts (a search page without a query is no search)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if when is not None and not when(request):
                return view(request, *args, **kwargs)
            try:
                quota.reserve(request.user, kind)
            except quota.QuotaExceeded as refusal:
                return refused_response(request, refusal)
            return view(request, *args, **kwargs)

        return limited

    return decorate
