"""Password-reset mail reaches the student by SMTP (EMAIL_URL); production never
prints it to the log by accident."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.support.processes import manage

pytestmark = pytest.mark.django_db


def test_password_reset_link_reaches_the_student_by_smtp(client, user, smtp, smtp_settings):
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert smtp.logins == ["mailer"]
    [message] = smtp.messages
    assert message["To"] == user.email
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", body)
    assert link, body
    # The link works: it leads to the form for a new password.
    page = client.get(link.group(0).replace("http://testserver", ""), follow=True)
    assert page.status_code == 200 and "password1" in page.content.decode()


def test_email_url_configures_smtp_in_production(tmp_path, smtp):
    """`sendtestemail` under production settings delivers through EMAIL_URL."""
    url = smtp.url.replace("p@ss word", "p%40ss%20word")
    result = manage(
        "sendtestemail",
        "student@example.org",
        env={
            "DEBUG": "0",
            "DJANGO_SECRET_KEY": "x7" * 30 + "-production-secret-for-the-check",
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://unused@127.0.0.1:1/unused",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "EMAIL_URL": url,
        },
    )
    assert result.returncode == 0, result.stderr
    assert [m["To"] for m in smtp.messages] == ["student@example.org"]
    assert smtp.logins == ["mailer"]


@pytest.mark.parametrize("email_url", [None, "consolemail://"])
def test_production_refuses_to_print_mail_to_the_log(tmp_path, email_url):
    env = {
        "DEBUG": "0",
        "DJANGO_SECRET_KEY": "x7" * 30 + "-production-secret-for-the-check",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://unused@127.0.0.1:1/unused",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    if email_url:
        env["EMAIL_URL"] = email_url
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr
    allowed = manage(
        "check", env={**env, "EMAIL_URL": "consolemail://", "EMAIL_ALLOW_CONSOLE": "1"}
    )
    assert allowed.returncode == 0, allowed.stderr


def test_manage_py_beside_make_run_prints_mail_without_refusing(tmp_path):
    # `make run` wrote this installation's secret: a manage.py command in another
    # terminal (DEBUG unset) is local, like the app it runs beside.
    (tmp_path / "secret_key").write_text("k" * 50)
    env = {
        "DEBUG": "0",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://unused@127.0.0.1:1/unused",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    result = manage("check", env=env)
    assert result.returncode == 0, result.stderr
