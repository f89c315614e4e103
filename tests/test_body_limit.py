"""Bodies over their limit are refused by Content-Length, before anything reads them.

CsrfViewMiddleware reads `request.POST` before any view runs, so a check in
the view comes after a multi-GB body has been spooled to disk. These tests
declare a huge length and send a small body: an answer at all proves the body
was not waited for, and the gunicorn test runs the real stack with CSRF on.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory, override_settings

from accounts.services import api_token_create
from eduplatform.body_limit import BodyLimitUploadHandler
from materials.models import Material
from tests.support.factories import MaterialFactory
from tests.support.lectures import srt
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


def test_youtube_form_refuses_a_subtitle_file_over_5_mb(logged_in):
    subtitles = SimpleUploadedFile("lecture.srt", srt(6 * 1024 * 1024))
    response = logged_in.post(
        "/materials/youtube/",
        {"youtube_url": "https://youtu.be/GJLlxj_dtq8", "subtitles": subtitles},
    )
    assert response.status_code == 413
    assert "The file is too large (limit: 5 MB)." in response.content.decode()
    assert not Material.objects.exists()


def test_subtitles_page_takes_a_3_mb_subtitle_file(logged_in, user):
    """The subtitle form on a lecture's page has the subtitle limit, not the one for fields."""
    lecture = MaterialFactory(
        owner=user,
        kind=Material.Kind.YOUTUBE,
        video_id="GJLlxj_dtq8",
        status="failed",
        error_code="yt_unreachable",
    )
    subtitles = SimpleUploadedFile("lecture.srt", srt(3 * 1024 * 1024))
    response = logged_in.post(f"/materials/{lecture.pk}/subtitles/", {"subtitles": subtitles})
    assert response.status_code == 302
    lecture.refresh_from_db()
    assert lecture.subtitle_file.size > 3_000_000


def test_subtitles_page_refuses_a_file_over_5_mb_in_russian(logged_in, user):
    user.language = "ru"
    user.save(update_fields=["language"])
    lecture = MaterialFactory(owner=user, kind=Material.Kind.YOUTUBE, video_id="GJLlxj_dtq8")
    subtitles = SimpleUploadedFile("lecture.srt", srt(6 * 1024 * 1024))
    response = logged_in.post(f"/materials/{lecture.pk}/subtitles/", {"subtitles": subtitles})
    assert response.status_code == 413
    assert "Файл слишком большой (максимум: 5 МБ)." in response.content.decode()
    lecture.refresh_from_db()
    assert not lecture.subtitle_file


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
    assert response.json() == {"detail": "The request is too large (limit: 64 KB)."}


# --- per action: only a multipart upload gets the file limit --------------------------


def test_json_create_by_youtube_link_is_held_to_64_kb(api):
    body = {"youtube_url": "https://youtu.be/GJLlxj_dtq8", "title": "x" * 70_000}
    response = api.post("/api/materials/", body, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 413
    assert response.json() == {"detail": "Запрос слишком большой (максимум: 64 КБ)."}
    assert not Material.objects.exists()


def test_report_takes_no_file_even_as_multipart(api, user):
    material = MaterialFactory(owner=user, status="ready")
    response = api.post(
        f"/api/materials/{material.pk}/report/",
        {"reason": "wrong", "file": _file("big.pdf", b"%PDF-" + b"0" * 100_000)},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "The request is too large (limit: 64 KB)."}
    assert not material.reports.exists()


def test_multipart_upload_keeps_the_file_limit(api, pdf_upload):
    # Random words, which the PDF's compression cannot shrink below the JSON limit.
    pages = [" ".join(secrets.token_hex(4) for _ in range(400)) for _ in range(40)]
    upload = pdf_upload(pages)
    assert upload.size > 100_000
    response = api.post("/api/materials/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content


def test_form_fields_past_djangos_limit_in_an_upload_are_a_json_413(api, pdf_upload):
    """Django refuses text parts past DATA_UPLOAD_MAX_MEMORY_SIZE itself: a 400 page before."""
    response = api.post(
        "/api/materials/",
        {"file": pdf_upload(), "title": "x" * (3 * 1024 * 1024)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Запрос слишком большой."}
    assert not Material.objects.exists()


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


def _file(name: str, content: bytes) -> SimpleUploadedFile:
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


@pytest.mark.parametrize(
    ("megabytes", "language", "message"),
    [
        (3, "ru", "Запрос слишком большой (максимум: 64 КБ)."),
        (5, "en", "The request is too large (limit: 64 KB)."),
    ],
)
def test_through_gunicorn_a_big_json_body_gets_a_json_413(
    gunicorn, user, megabytes, language, message
):
    """A client that sends its whole body gets the answer: a list of empty objects, which
    DRF would hold parsed at some twenty times its size, to the upload and the report."""
    material = MaterialFactory(owner=user, status="ready")
    token = api_token_create(user=user).key
    body = b"[" + b"{}," * (megabytes * 1024 * 1024 // 3) + b"{}]"
    for path in ("/api/materials/", f"/api/materials/{material.pk}/report/"):
        # The standard library's client sends the whole body before it reads the
        # answer, and fails if the server cuts the connection meanwhile.
        connection = http.client.HTTPConnection("127.0.0.1", gunicorn.port, timeout=30)
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                "Accept-Language": language,
            },
        )
        response = connection.getresponse()
        answer = response.read().decode()
        connection.close()
        assert response.status == 413, answer[:200]
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(answer) == {"detail": message}
    assert Material.objects.count() == 1 and not material.reports.exists()


# --- Django's other refusals of a form: JSON on the API -------------------------------


def _fields(count: int) -> dict[str, str]:
    return {f"field{n}": "x" for n in range(count)}


def test_too_many_form_fields_to_the_api_are_a_json_400_in_russian(api, pdf_upload):
    """Past DATA_UPLOAD_MAX_NUMBER_FIELDS Django refuses the form: its HTML 400 page before."""
    response = api.post(
        "/api/materials/",
        {"file": pdf_upload(), **_fields(1001)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "В форме слишком много полей (максимум: 1000)."}
    assert not Material.objects.exists()


def test_too_many_files_to_the_api_are_a_json_400_in_the_students_language(api, user):
    user.language = "ru"
    user.save(update_fields=["language"])
    files = [_file(f"{n}.pdf", b"%PDF-1.4") for n in range(101)]
    response = api.post("/api/materials/", {"file": files}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"detail": "В форме слишком много файлов (максимум: 100)."}
    assert not Material.objects.exists()


@pytest.mark.parametrize("debug", [False, True])
def test_too_many_query_fields_to_the_api_are_a_json_400(api, settings, debug):
    """With DEBUG on too (`make run`): DRF reads the query before its view, and its
    debug path then failed on the refusal with a 500."""
    settings.DEBUG = debug
    response = api.get("/api/search/", {"q": "cell", **_fields(1001)})
    assert response.status_code == 400
    assert response.json() == {"detail": "The form has too many fields (limit: 1000)."}


def test_a_refusal_before_any_view_is_json_on_the_api_too(api):
    """A Host not allowed is refused by a middleware, before any view: handler400 answers."""
    response = api.get("/api/materials/", HTTP_HOST="elsewhere.example", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400
    assert response.json() == {"detail": "Запрос составлен неверно."}


def test_through_gunicorn_too_many_fields_are_json_on_the_api_and_a_page_elsewhere(gunicorn, user):
    token = api_token_create(user=user).key
    boundary = "----too-many-fields"
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="field{n}"\r\n\r\nx\r\n'
            for n in range(1001)
        ).encode()
        + f"--{boundary}--\r\n".encode()
    )
    for language, message in (
        ("ru", "В форме слишком много полей (максимум: 1000)."),
        ("en", "The form has too many fields (limit: 1000)."),
    ):
        connection = http.client.HTTPConnection("127.0.0.1", gunicorn.port, timeout=30)
        connection.request(
            "POST",
            "/api/materials/",
            body=body,
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Accept-Language": language,
            },
        )
        response = connection.getresponse()
        answer = response.read().decode()
        connection.close()
        assert response.status == 400, answer[:200]
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(answer) == {"detail": message}
    # Query fields alike (short ones: gunicorn refuses a request line past 4 KB); a page
    # keeps Django's own answer.
    query = "&".join(["a"] * 1001)
    status, answer, _ = raw_request(
        gunicorn.port,
        f"GET /api/search/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Token {token}\r\nConnection: close\r\n\r\n",
    )
    head, _, body = answer.partition("\r\n\r\n")
    assert status == 400 and "application/json" in head
    assert json.loads(body) == {"detail": "The form has too many fields (limit: 1000)."}
    status, answer, _ = raw_request(
        gunicorn.port,
        f"GET /accounts/login/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    assert status == 400
    assert "text/html" in answer.partition("\r\n\r\n")[0]
    assert not Material.objects.exists()
