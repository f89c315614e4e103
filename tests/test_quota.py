"""Budgets per student, atomic in Valkey, 429 when spent: uploads and AI calls a
day, and tutor answers without the AI model a minute and a day."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from eduplatform import quota
from tests.support.office_files import DOCX_TYPE, make_docx, plain_docx, rezip, zip_listing
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db


def _pdf(name: str = "lecture.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf(["Cells make ATP."]), content_type="application/pdf")


def test_upload_budget_gives_429_in_russian_and_bad_input_costs_nothing(api, user, settings):
    settings.DAILY_UPLOAD_LIMIT = 2
    not_pdf = SimpleUploadedFile("x.pdf", b"hello", content_type="application/pdf")
    assert api.post("/api/materials/", {"file": not_pdf}, format="multipart").status_code == 400
    bad_link = {"youtube_url": "https://example.org/not-youtube"}
    assert api.post("/api/materials/", bad_link, format="json").status_code == 400
    assert quota.used(user, quota.UPLOAD) == 0  # refused input gave its use back
    for _ in range(2):
        assert api.post("/api/materials/", {"file": _pdf()}, format="multipart").status_code == 201

    response = api.post(
        "/api/materials/", {"file": _pdf()}, format="multipart", HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "daily_limit"
    assert "лимит" in body["detail"] and "2" in body["detail"]
    assert 0 < int(response["Retry-After"]) <= 86400
    assert user.materials.count() == 2


def _zip_bomb() -> SimpleUploadedFile:
    zeros = rezip(make_docx(), add={"word/media/zeros.bin": b"\x00" * (8 * 1024 * 1024)})
    return SimpleUploadedFile("bomb.docx", zeros, content_type=DOCX_TYPE)


def _too_many_parts() -> SimpleUploadedFile:
    return SimpleUploadedFile("parts.docx", zip_listing(100_000), content_type=DOCX_TYPE)


def _too_long(settings) -> SimpleUploadedFile:
    settings.MAX_DOCX_PARAGRAPHS = 10
    return SimpleUploadedFile("long.docx", plain_docx(11), content_type=DOCX_TYPE)


def _too_many_elements(settings) -> SimpleUploadedFile:
    settings.MAX_OFFICE_XML_ELEMENTS = 20
    return SimpleUploadedFile("markup.docx", make_docx(), content_type=DOCX_TYPE)


@pytest.mark.parametrize(
    "refused",
    [
        lambda settings: _zip_bomb(),
        lambda settings: _too_many_parts(),
        _too_long,
        _too_many_elements,
    ],
    ids=["zip-bomb", "too-many-parts", "too-long", "too-many-elements"],
)
def test_a_file_refused_for_what_checking_it_cost_still_counts(api, user, settings, refused):
    """Unpacking or counting it was the expense: sending it again must not be free."""
    settings.DAILY_UPLOAD_LIMIT = 1
    response = api.post("/api/materials/", {"file": refused(settings)}, format="multipart")
    assert response.status_code == 400, response.content
    assert quota.used(user, quota.UPLOAD) == 1
    response = api.post("/api/materials/", {"file": _pdf()}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (429, "daily_limit")


def _a_fresh_minute() -> None:
    """Wait out the end of a minute that is nearly over: the rate is counted per minute."""
    second = datetime.now(UTC).second
    if second >= 55:
        time.sleep(61 - second)


def test_uploads_have_a_rate_a_minute_that_refused_ones_count_in(api, user, settings):
    settings.UPLOADS_PER_MINUTE = 2
    _a_fresh_minute()
    not_pdf = SimpleUploadedFile("x.pdf", b"hello", content_type="application/pdf")
    for _ in range(2):
        not_pdf.seek(0)
        assert api.post("/api/materials/", {"file": not_pdf}, format="multipart").status_code == 400
    with translation.override("en"):  # a request leaves its language active after it
        response = api.post(
            "/api/materials/", {"file": _pdf()}, format="multipart", HTTP_ACCEPT_LANGUAGE="ru"
        )
    assert (response.status_code, response.json()["code"]) == (429, "rate_limit")
    assert response.json()["detail"] == (
        "Вы отправляете материалы чаще, чем 2 в минуту. Подождите минуту и попробуйте снова."
    )
    assert 0 < int(response["Retry-After"]) <= 60
    assert quota.used(user, quota.UPLOAD) == 0  # the day's budget got the refused ones back


def test_reprocess_over_the_rate_says_so(user, settings):
    from materials.services import material_reprocess
    from tests.support.factories import MaterialFactory

    settings.UPLOADS_PER_MINUTE = 1
    _a_fresh_minute()
    material = MaterialFactory(owner=user, status="ready")
    quota.reserve(user, quota.UPLOAD)
    with translation.override("en"), pytest.raises(quota.RateExceeded) as refused:
        material_reprocess(material=material, by_student=True)
    assert refused.value.message == (
        "You are sending materials faster than 1 a minute. Wait a minute, then try again."
    )


def test_upload_page_shows_the_limit_in_the_form(logged_in, settings):
    settings.DAILY_UPLOAD_LIMIT = 1
    assert logged_in.post("/materials/upload/", {"file": _pdf()}).status_code == 302
    response = logged_in.post(
        "/materials/upload/", {"file": _pdf(), "title": ""}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 429
    assert "today&#x27;s limit of 1 new materials" in response.content.decode()


def test_offline_answers_have_a_rate_a_minute_and_a_cap_a_day(user, settings):
    settings.TUTOR_OFFLINE_PER_MINUTE, settings.TUTOR_OFFLINE_PER_DAY = 1, 5
    quota.reserve(user, quota.OFFLINE)
    with pytest.raises(quota.RateExceeded) as refused:
        quota.reserve(user, quota.OFFLINE)
    assert refused.value.detail["code"] == "rate_limit" and 0 < refused.value.wait <= 60
    assert quota.used(user, quota.OFFLINE) == 1  # the refused one is counted in no window

    settings.TUTOR_OFFLINE_PER_MINUTE, settings.TUTOR_OFFLINE_PER_DAY = 0, 2
    quota.reserve(user, quota.OFFLINE)
    with pytest.raises(quota.QuotaExceeded) as spent:
        quota.reserve(user, quota.OFFLINE)
    assert spent.value.detail["code"] == "daily_limit" and 0 < spent.value.wait <= 86400
    assert "today's limit of 2 tutor answers without the AI model" in spent.value.message


def test_a_refund_goes_to_the_window_it_was_reserved_in(user, settings):
    settings.TUTOR_OFFLINE_PER_MINUTE, settings.TUTOR_OFFLINE_PER_DAY = 1, 0
    quota.reserve(user, quota.OFFLINE)
    # A use reserved in the minute before: that window is over, this one keeps its count.
    quota.refund(user, quota.OFFLINE, at=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(quota.RateExceeded):
        quota.reserve(user, quota.OFFLINE)


def test_regeneration_counts_as_an_ai_call(
    api, user, settings, run_jobs, django_capture_on_commit_callbacks
):
    from tests.support.factories import MaterialFactory

    settings.DAILY_AI_CALL_LIMIT = 1
    material = MaterialFactory(owner=user, status="ready")
    url = f"/api/materials/{material.pk}/study/regenerate/"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url).status_code == 202
    run_jobs()  # the run ends (failed: this material has no text), so another may start
    assert api.post(url).status_code == 429


def test_zero_means_unlimited(user, settings):
    settings.DAILY_AI_CALL_LIMIT = 0
    for _ in range(5):
        quota.reserve(user, quota.AI)
    assert quota.used(user, quota.AI) == 0


@pytest.mark.parametrize("kind", [quota.UPLOAD, quota.AI, quota.OFFLINE])
def test_concurrent_burst_never_passes_the_limit(user, settings, kind: str):
    """30 threads reserve at once against a limit of 10 on the real Valkey: exactly 10 pass."""
    settings.DAILY_UPLOAD_LIMIT = settings.DAILY_AI_CALL_LIMIT = 10
    settings.TUTOR_OFFLINE_PER_DAY, settings.TUTOR_OFFLINE_PER_MINUTE = 10, 100
    start = threading.Barrier(30)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def fire() -> None:
        start.wait()
        try:
            quota.reserve(user, kind)
            ok = True
        except quota.QuotaExceeded:
            ok = False
        with lock:
            outcomes.append(ok)

    threads = [threading.Thread(target=fire) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 10 and outcomes.count(False) == 20
    assert quota.used(user, kind) == 10
    # The counter expires at the end of the UTC day.
    import django_rq

    ttl = django_rq.get_connection("default").ttl(f"quota:{kind}:{user.pk}:" + _today())
    assert 0 < ttl <= 86400


def _today() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d}"
