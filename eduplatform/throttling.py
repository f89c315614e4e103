"""Throttles: per real client (behind however many proxies we trust), and per user.

Per user, a page or an API endpoint counts one use of a kind of
eduplatform.quota per request before it does anything: over the rate the
answer is HTTP 429 with Retry-After and the message in the user's language,
as JSON for the API ({"detail", "code"}), a fragment for htmx (which
static/js/app.js shows in the form) and a page otherwise.

All count in the cache (Valkey), so every web process shares one count.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle, SimpleRateThrottle

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


class RateLimited(Throttled):
    """Refused by a UserRateThrottle: HTTP 429 with Retry-After in the API; the
    body is {"detail": <translated message>, "code": "rate_limit"}, as quota's."""

    default_code = "rate_limit"

    def __init__(self, message: str, wait: float | None) -> None:
        self.message = message
        super().__init__(wait=wait)
        self.detail = {"detail": message, "code": self.default_code}  # type: ignore[dict-item]

    def __str__(self) -> str:
        return self.message


class UserRateThrottle(ClientIPMixin, SimpleRateThrottle):
    """At most `setting` requests per `period` (DRF's units: s, m, h, d) per signed-in
    user, per client address for anyone else; 0 means unlimited.

    The limit is read from settings at each request (DRF reads its rates once,
    at import), so a changed setting applies at once. Subclasses name the
    scope and the setting, and say what the student is told.
    """

    setting = ""
    period = "m"

    def __init__(self) -> None:
        self.rate = None

    @property
    def limit(self) -> int:
        return int(getattr(settings, self.setting))

    def get_cache_key(self, request: HttpRequest, view: object) -> str:
        user = getattr(request, "user", None)
        ident = user.pk if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: HttpRequest, view: object) -> bool:
        self.rate = f"{self.limit}/{self.period}" if self.limit > 0 else None
        self.num_requests, self.duration = self.parse_rate(self.rate)
        # Pages pass Django's request and no view; DRF's throttle reads only the user and address.
        return super().allow_request(request, view)  # type: ignore[arg-type]

    def message(self) -> str:
        raise NotImplementedError


def throttle(request: HttpRequest, throttles: Iterable[type[UserRateThrottle]]) -> None:
    """Count the request in each throttle, as DRF counts an API view's throttle_classes
    (pages have none); raise RateLimited with the message of the one that waits longest."""
    refused = [t for t in (cls() for cls in throttles) if not t.allow_request(request, None)]
    if refused:
        longest = max(refused, key=lambda t: t.wait() or 0)
        raise RateLimited(longest.message(), wait=longest.wait())


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


def user_rate_limited(kind: str, *, when: Callable[[Any], bool] | None = None) -> Callable:
    """A page view that counts one use of `kind` per request (see user_throttle);
    with `when`, only the requests it accepts (a search page without a query is no search)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if when is not None and not when(request):
                return view(request, *args, **kwargs)
            try:
                quota.reserve(request.user, kind)  # type: ignore[arg-type]
            except quota.QuotaExceeded as refusal:
                return refused_response(request, refusal)
            return view(request, *args, **kwargs)

        return limited

    return decorate
