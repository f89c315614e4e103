"""Login throttling: allauth's failed-login limit and the API token endpoint's rate."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_failed_logins_for_one_account_are_throttled(client, user):
    """ACCOUNT_RATE_LIMITS login_failed 5/5m per account: then even the right password waits."""
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": user.email, "password": "no"})
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": "correct horse battery"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_token_endpoint_is_rate_limited(client, user, monkeypatch):
    """The API's password exchange is throttled (20/min configured; 3/min here, so that
    slow password hashing on a busy test machine cannot spread the tries past a minute)."""
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"] == "20/min"
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    url = reverse("auth-token")
    statuses = [
        client.post(url, {"email": user.email, "password": "wrong"}).status_code for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    # The count lives in Valkey (CACHES), shared by every web process, not in one process.
    import django_rq

    assert django_rq.get_connection("default").keys("cache:*throttle_auth*")
