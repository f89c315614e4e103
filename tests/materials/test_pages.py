"""Pages as a student uses them: list, upload, status, retry, delete, file."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from materials.models import Material
from tests.support.factories import MaterialFactory
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/materials/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_home_shows_the_product_to_visitors_and_the_dashboard_to_students(client, logged_in):
    from django.test import Client

    assert "Upload a lecture" in Client().get("/").content.decode()
    page = logged_in.get("/").content.decode()
    assert "Cards due today" in page and "Upload a lecture" not in page


def test_empty_list_invites_a_first_upload(logged_in):
    page = logged_in.get("/materials/").content.decode()
    assert "No materials yet" in page
    assert "htmx" in page and "cdn" not in page.lower()


def test_list_shows_own_materials_and_polls_while_active(logged_in, user, other_user):
    MaterialFactory(owner=user, title="Thermodynamics", status="processing", progress=40)
    MaterialFactory(owner=other_user, title="Not yours")
    page = logged_in.get("/materials/").content.decode()
    assert "Thermodynamics" in page and "Not yours" not in page
    assert 'hx-trigger="every 2s"' in page


def test_list_fragment_for_htmx_polling(logged_in, user):
    MaterialFactory(owner=user, title="Optics", status="ready")
    response = logged_in.get("/materials/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="material-rows")
    body = response.content.decode()
    assert "Optics" in body and "<html" not in body and "every 2s" not in body


def test_htmx_upload_redirects_to_the_material(logged_in, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("a.pdf", make_pdf(["Cells."]), content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post("/materials/upload/", {"file": upload}, HTTP_HX_REQUEST="true")
    material = Material.objects.get()
    assert response.headers["HX-Redirect"] == f"/materials/{material.pk}/"
    assert material.title == "a"


def test_htmx_upload_of_a_non_pdf_shows_the_error_in_the_form(logged_in):
    upload = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00", content_type="application/pdf")
    response = logged_in.post("/materials/upload/", {"file": upload}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="pdf-form"' in body
    assert "This file is not a PDF." in body
    assert not Material.objects.exists()


def test_upload_error_in_russian(logged_in):
    upload = SimpleUploadedFile("empty.pdf", b"", content_type="application/pdf")
    response = logged_in.post("/materials/upload/", {"file": upload}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400
    assert "пуст" in response.content.decode()


def test_bad_youtube_link_shows_an_error_and_stores_nothing(logged_in):
    response = logged_in.post("/materials/youtube/", {"youtube_url": "https://vimeo.com/1"})
    assert response.status_code == 400
    assert "This is not a YouTube video link." in response.content.decode()
    assert not Material.objects.exists()


def test_youtube_link_page_flow(logged_in, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(
            "/materials/youtube/", {"youtube_url": "https://www.youtube.com/shorts/GJLlxj_dtq8"}
        )
    assert response.status_code == 302
    assert Material.objects.get().kind == "youtube"


def test_detail_status_fragment_polls_only_while_active(logged_in, user):
    material = MaterialFactory(owner=user, status="processing", stage="embedding", progress=55)
    fragment = logged_in.get(
        f"/materials/{material.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="status"
    ).content.decode()
    assert 'value="55"' in fragment and "every 1s" in fragment and "<html" not in fragment
    Material.objects.filter(pk=material.pk).update(status="ready", stage="ready", progress=100)
    response = logged_in.get(
        f"/materials/{material.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="status"
    )
    assert response.headers["HX-Refresh"] == "true"  # the whole page shows the results


def test_failed_material_shows_message_and_retry(
    logged_in, user, django_capture_on_commit_callbacks
):
    material = MaterialFactory(
        owner=user, status="failed", stage="failed", error_code="pdf_no_text"
    )
    page = logged_in.get(f"/materials/{material.pk}/").content.decode()
    assert "even after text recognition" in page and "Retry" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(f"/materials/{material.pk}/reprocess/")
    assert response.status_code == 302
    material.refresh_from_db()
    assert material.status == "pending" and material.error_code == ""


def test_failed_material_message_in_russian(logged_in, user):
    material = MaterialFactory(owner=user, status="failed", error_code="pdf_encrypted")
    page = logged_in.get(f"/materials/{material.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "парол" in page


def test_delete_from_the_page(logged_in, user):
    material = MaterialFactory(owner=user)
    response = logged_in.post(f"/materials/{material.pk}/delete/", HTTP_HX_REQUEST="true")
    assert response.headers["HX-Redirect"] == "/materials/"
    assert not Material.objects.exists()


@pytest.mark.parametrize("suffix", ["", "reprocess/", "delete/", "file/"])
def test_other_users_material_pages_are_404(logged_in, other_user, suffix):
    material = MaterialFactory(owner=other_user)
    method = logged_in.get if suffix in ("", "file/") else logged_in.post
    assert method(f"/materials/{material.pk}/{suffix}").status_code == 404


def test_file_view_serves_the_owners_pdf_privately(logged_in, user):
    material = MaterialFactory(owner=user, original_filename="notes.pdf")
    material.file.save("notes.pdf", ContentFile(make_pdf(["x"])))
    response = logged_in.get(f"/materials/{material.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "inline" in response["Content-Disposition"]
    assert response["Content-Security-Policy"] == "sandbox"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_file_named_html_is_served_as_a_sandboxed_pdf(logged_in, user):
    """The stored kind decides the type, never the name the student gave the file."""
    material = MaterialFactory(owner=user, original_filename="x.html")
    material.file.save("x.html", ContentFile(make_pdf(["x"])))
    response = logged_in.get(f"/materials/{material.pk}/file/")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Security-Policy"] == "sandbox"
    assert 'filename="x.pdf"' in response["Content-Disposition"]


def test_html_with_a_pdf_header_further_in_is_refused(logged_in):
    """An x.html that is also a PDF would run its script wherever it is opened as HTML."""
    polyglot = b"<html><script>alert(document.cookie)</script>" + make_pdf(["x"])
    upload = SimpleUploadedFile("x.html", polyglot, content_type="application/pdf")
    response = logged_in.post("/materials/upload/", {"file": upload}, HTTP_HX_REQUEST="true")
    assert "This file is not a PDF." in response.content.decode()
    assert not Material.objects.exists()


def test_admin_lists_materials_with_filters(client, user):
    from accounts.models import User

    MaterialFactory(owner=user, title="Quantum notes", status="failed")
    admin = User.objects.create_superuser(email="mod@example.org", password="pw-mod-1234")
    client.force_login(admin)
    response = client.get("/admin/materials/material/", {"status__exact": "failed", "q": "Quantum"})
    assert response.status_code == 200 and "Quantum notes" in response.content.decode()


def test_healthz_reports_database_queue_and_worker(client, db):
    import django_rq
    from rq import Worker

    body = client.get("/healthz").json()
    assert body["database"] == "ok" and body["queue"] == "ok"
    assert body["worker"] == "missing"
    worker = Worker([django_rq.get_queue("default")], connection=django_rq.get_connection())
    worker.register_birth()
    try:
        assert client.get("/healthz").json()["worker"] == "ok"
    finally:
        worker.register_death()


def test_two_gigabyte_upload_from_the_page_gets_a_clear_message(logged_in):
    upload = SimpleUploadedFile("huge.pdf", make_pdf(["x"]), content_type="application/pdf")
    response = logged_in.post(
        "/materials/upload/", {"file": upload}, CONTENT_LENGTH=str(2 * 1024**3)
    )
    assert response.status_code == 413
    assert "The file is too large (limit: 100 MB)." in response.content.decode()
    assert not Material.objects.exists()


def test_long_list_is_paginated(logged_in, user):
    MaterialFactory.create_batch(21, owner=user, status="ready")
    first = logged_in.get("/materials/").content.decode()
    assert "Page 1 of 2" in first and "?page=2" in first and "Older" in first
    second = logged_in.get("/materials/?page=2").content.decode()
    assert "Newer" in second
