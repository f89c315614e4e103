"""Throttles that count per real client, behind however many proxies we trust."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import ScopedRateThrottle

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
