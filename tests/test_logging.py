"""Log lines are JSON with the request id and the user id."""

import json
import logging
from logging.config import dictConfig

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_log_lines_of_a_request_carry_its_id_and_the_user(logged_in, user):
    dictConfig(settings.LOGGING)
    handler = logging.getLogger().handlers[0]
    lines: list[str] = []
    original = handler.emit
    handler.emit = lambda record: lines.append(handler.format(record))
    try:
        response = logged_in.get("/materials/999999/")  # a 404 is logged by django.request
    finally:
        handler.emit = original
    assert response.status_code == 404
    request_lines = [json.loads(line) for line in lines if '"django.request"' in line]
    assert request_lines, lines
    assert request_lines[0]["request_id"] == response["X-Request-ID"]
    assert request_lines[0]["user_id"] == user.pk
