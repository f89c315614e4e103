"""A new account costs a mailbox and an address's share of the day's sign-ups.

With EMAIL_VERIFICATION on (production's default) an account signs in, on
the pages or for an API token, only once its address is confirmed by the
link mailed to it (by SMTP, to the real sink of tests/support/smtp_sink.py); each
client address makes at most SIGNUPS_PER_ADDRESS_PER_DAY accounts a day.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import User
from tests.accounts.test_email import smtp, smtp_settings  # noqa: F401 (fixtures)
from tests.test_settings import manage

pytestmark = pytest.mark.django_db

PASSWORD = "a long passphrase 42"


def _signup(client, email: str, address: str = "203.0.113.5", **extra):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
        REMOTE_ADDR=address,
        **extra,
    )


@pytest.fixture
def mandatory(settings, smtp_settings):  # noqa: F811
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    return settings


@pytest.mark.parametrize(
    ("debug", "expected"), [("0", "mandatory"), ("1", "none")], ids=["production", "debug"]
)
def test_production_requires_a_confirmed_address_and_development_does_not(
    tmp_path, debug, expected
):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.ACCOUNT_EMAIL_VERIFICATION)",
        env={
            "DEBUG": debug,
            "DJANGO_SECRET_KEY": "x7" * 30 + "-production-secret-for-the-check",
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://unused@127.0.0.1:1/unused",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "EMAIL_URL": "smtp+tls://mailer:pw@mail.example.org:587",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_a_new_account_signs_in_only_after_following_the_mailed_link(
    client,
    mandatory,
    smtp,  # noqa: F811
):
    response = _signup(client, "anna@example.org")
    assert response.status_code == 302
    assert client.get(reverse("materials:list")).status_code == 302  # not signed in
    # Signing in with the right password is held back too.
    client.post(reverse("account_login"), {"login": "anna@example.org", "password": PASSWORD})
    assert client.get(reverse("materials:list")).status_code == 302

    message = smtp.messages[0]
    assert message["To"] == "anna@example.org"
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://testserver(/accounts/confirm-email/\S+/)", body)
    assert link, body
    assert client.get(link.group(1)).status_code == 200
    confirmed = client.post(link.group(1))
    assert confirmed.status_code == 302
    client.post(reverse("account_login"), {"login": "anna@example.org", "password": PASSWORD})
    assert client.get(reverse("materials:list")).status_code == 200


def test_an_unconfirmed_account_gets_no_api_token(client, mandatory, smtp):  # noqa: F811
    _signup(client, "boris@example.org")
    credentials = {"email": "boris@example.org", "password": PASSWORD}
    refused = client.post("/api/auth/token/", credentials, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_unconfirmed"
    assert not User.objects.get(email="boris@example.org").auth_token_set.exists()

    User.objects.get(email="boris@example.org").emailaddress_set.update(verified=True)
    issued = client.post("/api/auth/token/", credentials, content_type="application/json")
    assert issued.status_code == 200 and issued.json()["token"]


def test_an_address_makes_only_so_many_accounts_a_day(client, settings):
    settings.SIGNUPS_PER_ADDRESS_PER_DAY = 2
    mismatch = client.post(
        reverse("account_signup"),
        {"email": "typo@example.org", "password1": PASSWORD, "password2": "another"},
        REMOTE_ADDR="203.0.113.5",
    )
    assert mismatch.status_code == 200  # the form again, with its error: it cost nothing
    for number in (1, 2):
        assert _signup(client, f"student{number}@example.org").status_code == 302
        client.post(reverse("account_logout"))

    over = _signup(client, "student3@example.org", HTTP_ACCEPT_LANGUAGE="ru")
    assert over.status_code == 429
    assert 0 < int(over["Retry-After"]) <= 86400
    assert "Из вашей сети сегодня создано слишком много учётных записей" in over.content.decode()
    assert not User.objects.filter(email="student3@example.org").exists()
    # Another address still signs up.
    assert _signup(client, "elsewhere@example.org", address="198.51.100.7").status_code == 302


def test_an_ipv6_client_is_counted_by_its_network(client, settings):
    settings.SIGNUPS_PER_ADDRESS_PER_DAY = 1
    assert _signup(client, "six@example.org", address="2001:db8:1:2::10").status_code == 302
    client.post(reverse("account_logout"))
    assert _signup(client, "seven@example.org", address="2001:db8:1:2::99").status_code == 429
