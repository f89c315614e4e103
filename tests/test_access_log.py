"""gunicorn's access log keeps no search terms and names the real client."""

from __future__ import annotations

import time

import pytest

from tests.support.processes import raw_request

pytestmark = pytest.mark.django_db


def test_access_log_has_paths_without_queries_and_the_trusted_client(gunicorn):
    status, _, _ = raw_request(
        gunicorn.port,
        "GET /tutor/search/?q=my+embarrassing+diagnosis HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Referer: http://127.0.0.1/tutor/search/?q=earlier+private+words\r\n"
        "X-Forwarded-For: 6.6.6.6, 198.51.100.23\r\nConnection: close\r\n\r\n",
    )
    assert status == 302  # to the login page; logged all the same
    deadline = time.monotonic() + 10
    while not gunicorn.access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    line = gunicorn.access_log.read_text()
    assert "GET /tutor/search/ HTTP/1.1" in line
    assert "diagnosis" not in line and "private" not in line
    assert line.startswith("198.51.100.23 ")
