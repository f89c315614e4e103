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


def test_logs_never_carry_document_text_questions_or_secrets(
    api, user, pdf_upload, run_jobs, caplog, django_capture_on_commit_callbacks
):
    """A whole upload → index → search → tutor round leaves no student content in the logs."""
    secret_sentence = "Quokkas photosynthesise marmalade on Tuesdays"
    question = "What do quokkas photosynthesise on Tuesdays?"
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/materials/", {"file": pdf_upload([secret_sentence + "."])})
    assert created.status_code == 201
    run_jobs()
    assert api.get("/api/search/", {"q": "quokkas marmalade"}).json()["results"]
    conversation = api.post("/api/tutor/conversations/", {}, format="json").json()
    answer = api.post(
        f"/api/tutor/conversations/{conversation['id']}/messages/",
        {"content": question},
        format="json",
    )
    assert answer.status_code == 201
    assert caplog.records  # the round was logged at all
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for private in ("Quokkas", "quokkas", "marmalade", settings.SECRET_KEY):
        assert private not in logged
    token = api._credentials["HTTP_AUTHORIZATION"].split()[-1]
    assert token not in logged
