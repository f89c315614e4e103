"""Optional Sentry: initialised only with SENTRY_DSN, and events carry no student data."""

from __future__ import annotations

import json

from eduplatform.sentry import scrub
from tests.support.processes import manage

PROBE = (
    "import json, sentry_sdk; c = sentry_sdk.get_client(); o = c.options; "
    "print(json.dumps({'active': c.is_active(), 'pii': o.get('send_default_pii'), "
    "'scrub': getattr(o.get('before_send'), '__name__', None), "
    "'integrations': sorted(c.integrations)}))"
)
# No server listens there, and nothing is captured, so nothing is sent.
UNUSED = {
    "DEBUG": "1",
    "DATABASE_URL": "postgres://unused@127.0.0.1:1/unused",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}


def _settings_state(env: dict[str, str]) -> dict:
    result = manage("shell", "-c", PROBE, env={**UNUSED, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_load_without_sentry():
    assert _settings_state({"SENTRY_DSN": ""})["active"] is False


def test_settings_load_with_sentry_and_its_integrations():
    state = _settings_state({"SENTRY_DSN": "http://public@127.0.0.1:9/1"})
    assert state["active"] is True and state["pii"] is False and state["scrub"] == "scrub"
    assert {"django", "rq"} <= set(state["integrations"])


def test_scrub_keeps_no_bodies_cookies_secrets_or_emails():
    event = {
        "request": {
            "url": "https://study.example.org/api/tutor/conversations/1/messages/",
            "data": {"content": "my private question"},
            "cookies": {"sessionid": "abc"},
            "query_string": "q=private",
            "headers": {"Authorization": "Token s3cret", "Cookie": "x", "User-Agent": "ua"},
        },
        "user": {"id": 7, "email": "student@example.org", "ip_address": "10.0.0.1"},
        "exception": {
            "values": [{"stacktrace": {"frames": [{"function": "f", "vars": {"text": "doc"}}]}}]
        },
    }
    cleaned = json.dumps(scrub(event))
    for secret in ("private", "abc", "s3cret", "student@", "10.0.0.1", '"doc"'):
        assert secret not in cleaned
    assert event["user"] == {"id": 7} and event["request"]["headers"] == {"User-Agent": "ua"}
