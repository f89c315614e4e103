"""Throttles that count per real client, behind however many proxies we trust, and per user.

All count in the cache (Valkey), as DRF's throttles do, so every web process
shares one count.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest
from rest_framework.exceptions import Throttled
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

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
        self.detail = {"detail": message, "code": self.default_code}

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
        return super().allow_request(request, view)

    def message(self) -> str:
        raise NotImplementedError


def throttle(request: HttpRequest, throttles: Iterable[type[UserRateThrottle]]) -> None:
    """Count the request in each throttle, as DRF counts an API view's throttle_classes
    (pages have none); raise RateLimited with the message of the one that waits longest."""
    refused = [t for t in (cls() for cls in throttles) if not t.allow_request(request, None)]
    if refused:
        longest = max(refused, key=lambda t: t.wait() or 0)
        raise RateLimited(longest.message(), wait=longest.wait())
