"""Bodies over their limit are refused by Content-Length, before anything reads them.

CsrfViewMiddleware reads `request.POST` before any view runs, so a check in
the view comes after a multi-GB body has been spooled to disk. These tests
declare a huge length and send a small body: an answer at all proves the body
was not waited for, and the gunicorn test runs the real stack with CSRF on.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory, override_settings

from eduplatform.body_limit import BodyLimitUploadHandler
from materials.models import Material
from tests.support.pdfs import make_pdf
from tests.support.processes import raw_request

pytestmark = pytest.mark.django_db

HUGE = str(2 * 1024**3)


def test_htmx_upload_over_the_limit_gets_the_message_as_a_fragment(logged_in, pdf_upload):
    response = logged_in.post(
        "/materials/upload/", {"file": pdf_upload()}, CONTENT_LENGTH=HUGE, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 413
    assert response.content.decode() == (
        '<p class="field-error" role="alert">The file is too large (limit: 100 MB).</p>'
    )


def test_the_refusal_speaks_the_students_language(logged_in, user, pdf_upload):
    user.language = "ru"
    user.save(update_fields=["language"])
    response = logged_in.post("/materials/upload/", {"file": pdf_upload()}, CONTENT_LENGTH=HUGE)
    assert response.status_code == 413
    assert "Файл слишком большой (максимум: 100 МБ)." in response.content.decode()


def test_youtube_form_refuses_a_huge_subtitle_file_before_reading_it(logged_in):
    response = logged_in.post(
        "/materials/youtube/",
        {"youtube_url": "https://youtu.be/GJLlxj_dtq8"},
        CONTENT_LENGTH=str(6 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "The file is too large (limit: 5 MB)." in response.content.decode()
    assert not Material.objects.exists()


def test_api_refusal_is_413_with_a_json_error_in_russian(api, pdf_upload):
    response = api.post(
        "/api/materials/",
        {"file": pdf_upload()},
        format="multipart",
        CONTENT_LENGTH=HUGE,
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 413
    assert response.json() == {"file": ["Файл слишком большой (максимум: 100 МБ)."]}


def test_urls_that_take_no_file_take_no_big_body(logged_in, api):
    response = logged_in.post("/tutor/new/", {}, CONTENT_LENGTH=str(50 * 1024 * 1024))
    assert response.status_code == 413
    assert "The request is too large." in response.content.decode()
    response = api.post("/api/tutor/conversations/", {}, CONTENT_LENGTH=str(50 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json() == {"detail": "The request is too large."}


@override_settings(MAX_UPLOAD_MB=0)
def test_upload_handler_stops_reading_past_the_limit_without_the_middleware(user):
    """The backstop: a body that reaches the parser anyway is not read past the limit."""
    request = RequestFactory().post(
        "/materials/upload/", {"file": _file("big.pdf", b"%PDF-" + b"0" * 200_000)}
    )
    request.user = user
    request.upload_handlers = [BodyLimitUploadHandler(request)]
    assert "file" not in request.FILES
    assert request.body_limit_exceeded


def _file(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


# --- through gunicorn, CSRF on ------------------------------------------------------


def test_through_gunicorn_with_csrf_a_2gb_upload_is_refused_unread(gunicorn, user):
    browser = Client()
    browser.force_login(user)
    session = browser.cookies["sessionid"].value
    port = gunicorn.port
    # A real page first: the CSRF cookie and token, as a browser gets them.
    status, page, _ = raw_request(
        port,
        f"GET /materials/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={session}\r\n"
        "Connection: close\r\n\r\n",
        b"",
    )
    assert status == 200
    csrf_cookie = re.search(r"csrftoken=([^;]+)", page).group(1)
    boundary = "----body-limit-test"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + make_pdf(["x"])
    for extra, expected in (
        ("HX-Request: true\r\n", "The file is too large (limit: 100 MB)."),
        ("", "The file is too large (limit: 100 MB)."),
    ):
        status, answer, seconds = raw_request(
            port,
            "POST /materials/upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: sessionid={session}; csrftoken={csrf_cookie}\r\n"
            f"X-CSRFToken: {csrf_cookie}\r\nReferer: http://127.0.0.1/materials/\r\n{extra}"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {HUGE}\r\nConnection: close\r\n\r\n",
            part,
        )
        assert status == 413, answer
        assert expected in answer
        assert seconds < 10
    status, answer, _ = raw_request(
        port,
        "POST /api/materials/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token nope\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {HUGE}\r\nConnection: close\r\n\r\n",
        part,
    )
    assert status == 413 and '{"file": ["The file is too large (limit: 100 MB)."]}' in answer
    assert not Material.objects.exists()
