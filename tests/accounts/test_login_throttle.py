"""Login throttling on every door that takes a password, per client and per account.

The client is the connection's address unless TRUSTED_PROXIES says which
X-Forwarded-For hops to believe: a header the client invents is never a new
bucket.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

from eduplatform.client_ip import TrustedProxies, client_ip
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

GUESSES = 30


def forwarded(n: int) -> str:
    return f"203.0.113.{n % 250 + 1}"


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


def test_token_guesses_with_a_new_forwarded_for_each_are_throttled_within_ten(client, user):
    """30 guesses at one account, each claiming another address: at most 10 are tried."""
    url = reverse("auth-token")
    responses = [
        client.post(
            url,
            {"email": user.email, "password": f"guess {n}"},
            HTTP_X_FORWARDED_FOR=forwarded(n),
            HTTP_ACCEPT_LANGUAGE="en",
        )
        for n in range(GUESSES)
    ]
    statuses = [response.status_code for response in responses]
    tried = [code for code in statuses if code != 429]
    assert len(tried) <= 10, statuses
    first_refused = responses[len(tried)]
    assert "Too many failed login attempts" in first_refused.json()["detail"]
    # Throttled: the right password is refused too, so a guess cannot be confirmed.
    response = client.post(
        url,
        {"email": user.email, "password": "correct horse battery"},
        HTTP_X_FORWARDED_FOR="1.2.3.4",
    )
    assert response.status_code == 429


def test_token_guesses_across_accounts_from_one_client_are_throttled_within_ten(client):
    """Spraying one password over many accounts is limited per client address."""
    users = UserFactory.create_batch(GUESSES)
    statuses = [
        client.post(
            reverse("auth-token"),
            {"email": u.email, "password": "Password1"},
            HTTP_X_FORWARDED_FOR=forwarded(n),
        ).status_code
        for n, u in enumerate(users)
    ]
    assert len([code for code in statuses if code != 429]) <= 10, statuses


def test_login_page_guesses_across_accounts_with_new_forwarded_for_are_throttled(client):
    users = UserFactory.create_batch(12)
    for n, u in enumerate(users):
        response = client.post(
            reverse("account_login"),
            {"login": u.email, "password": "Password1"},
            HTTP_X_FORWARDED_FOR=forwarded(n),
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert "Too many failed login attempts" in response.content.decode()


def test_failed_api_logins_count_against_the_login_page(client, user):
    """One account's budget is shared by the API and the page: 5 in all, not 5 each."""
    for _ in range(5):
        client.post(reverse("auth-token"), {"email": user.email, "password": "no"})
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": "correct horse battery"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_admin_login_signs_in_through_the_throttled_login_page(client, user):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": admin_user.email, "password": "guess"},
    )
    # No password is checked here: the admin sends everyone to allauth's login.
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    for _ in range(5):
        client.post(reverse("account_login"), {"login": admin_user.email, "password": "guess"})
    client.post(
        reverse("account_login"), {"login": admin_user.email, "password": "correct horse battery"}
    )
    assert "_auth_user_id" not in client.session


def test_behind_a_trusted_proxy_clients_get_their_own_buckets(client, settings):
    """With TRUSTED_PROXIES=1 the proxy's last hop is the client: two clients, two budgets."""
    settings.TRUSTED_PROXIES = TrustedProxies.parse("1")
    users = UserFactory.create_batch(11)
    for u in users[:10]:
        client.post(
            reverse("auth-token"),
            {"email": u.email, "password": "no"},
            HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7",
        )
    blocked = client.post(
        reverse("auth-token"),
        {"email": users[10].email, "password": "no"},
        HTTP_X_FORWARDED_FOR="7.7.7.7, 198.51.100.7",
    )
    other = client.post(
        reverse("auth-token"),
        {"email": users[10].email, "password": "correct horse battery"},
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.8",
    )
    assert blocked.status_code == 429
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("trusted", "remote", "header", "expected"),
    [
        ("", "192.0.2.1", "203.0.113.9", "192.0.2.1"),
        ("1", "10.0.0.2", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        ("2", "10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.3", "203.0.113.9"),
        ("2", "192.0.2.1", "203.0.113.9", "192.0.2.1"),
        ("10.0.0.0/8", "10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.3", "203.0.113.9"),
        ("10.0.0.0/8", "192.0.2.1", "203.0.113.9", "192.0.2.1"),
        ("10.0.0.0/8", "10.0.0.2", "not-an-ip", "10.0.0.2"),
        ("10.0.0.0/8,::1", "::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_client_address_believes_only_trusted_hops(trusted, remote, header, expected):
    assert client_ip(remote, header, TrustedProxies.parse(trusted)) == expected
