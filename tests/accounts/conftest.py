"""Fixtures of the accounts tests: a real SMTP sink and the settings that point at it."""

from __future__ import annotations

import pytest

from tests.support.smtp_sink import SmtpSink


@pytest.fixture
def smtp():
    sink = SmtpSink(user="mailer", password="p@ss word").start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_settings(settings, smtp):
    """What EMAIL_URL=<the sink's URL> sets, applied to this process."""
    import environ

    for key, value in environ.Env.email_url_config(smtp.url).items():
        if value not in (None, ""):
            setattr(settings, key, value)
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = smtp.user, smtp.password
    return settings
