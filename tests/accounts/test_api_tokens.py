"""API tokens: hashed at rest, expiring, rotated, revoked on logout and password change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.services import api_token_create

pytestmark = pytest.mark.django_db

MATERIALS = "/api/materials/"


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def refused(key: str) -> bool:
    """Token failures answer 403: session authentication comes first and sends no challenge."""
    return with_token(key).get(MATERIALS).status_code in (401, 403)


def obtain(client, user) -> dict:
    response = client.post(
        reverse("auth-token"),
        {"email": user.email, "password": "correct horse battery"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_token_response_keeps_its_shape_and_adds_the_expiry(client, user):
    body = obtain(client, user)
    assert set(body) == {"token", "expiry"}
    assert len(body["token"]) == 40
    expiry = timezone.datetime.fromisoformat(body["expiry"].replace("Z", "+00:00"))
    assert timedelta(days=29) < expiry - timezone.now() <= timedelta(days=30)
    assert with_token(body["token"]).get(MATERIALS).status_code == 200


def test_the_database_never_holds_the_token(client, user):
    key = obtain(client, user)["token"]
    stored = AuthToken.objects.get(user=user)
    assert key not in (stored.digest, stored.token_key)
    assert len(stored.digest) == 128  # SHA-512


def test_an_expired_token_is_refused(client, user):
    key = obtain(client, user)["token"]
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    assert refused(key)


def test_rotation_gives_a_new_token_and_ends_the_old_one(client, user):
    old = obtain(client, user)["token"]
    response = with_token(old).post(reverse("auth-token-rotate"))
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != old
    assert refused(old)
    assert with_token(new).get(MATERIALS).status_code == 200


def test_logout_revokes_only_the_presented_token(client, user):
    first, second = obtain(client, user)["token"], obtain(client, user)["token"]
    assert with_token(first).post(reverse("auth-logout")).status_code == 204
    assert refused(first)
    assert with_token(second).get(MATERIALS).status_code == 200


def test_logout_all_revokes_every_token(client, user):
    first, second = obtain(client, user)["token"], obtain(client, user)["token"]
    assert with_token(first).post(reverse("auth-logoutall")).status_code == 204
    assert refused(second)


def test_changing_the_password_revokes_tokens(client, user):
    key = obtain(client, user)["token"]
    client.force_login(user)
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": "correct horse battery",
            "password1": "a brand new passphrase 7",
            "password2": "a brand new passphrase 7",
        },
    )
    assert response.status_code == 302
    assert refused(key)


def test_a_password_set_anywhere_revokes_tokens(user):
    """The admin, a reset or `changepassword` all end in set_password() and save()."""
    key = api_token_create(user=user).key
    user.set_password("another passphrase 99")
    user.save()
    assert refused(key)


def test_a_user_keeps_only_the_newest_tokens(user, settings):
    settings.API_TOKENS_PER_USER = 3
    keys = [api_token_create(user=user).key for _ in range(5)]
    assert AuthToken.objects.filter(user=user).count() == 3
    assert refused(keys[0])
    assert with_token(keys[-1]).get(MATERIALS).status_code == 200


def test_tokens_from_before_keep_working_but_are_kept_only_hashed(user):
    """The migration from DRF's plain-text table: the client's key still works, the
    plain key is gone from the database."""
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    migration = import_module("accounts.migrations.0003_hash_existing_api_tokens")
    plain = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id bigint, "
            "created timestamptz DEFAULT now())"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, user_id) VALUES (%s, %s)", [plain, user.pk]
        )
    with connection.schema_editor() as editor:
        migration.hash_plain_tokens(apps, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    assert not refused(plain)
    assert AuthToken.objects.get(user=user).expiry > timezone.now()
