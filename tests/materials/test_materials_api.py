import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from materials.models import Material
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id",
    "title",
    "kind",
    "status",
    "stage",
    "progress",
    "error",
    "page_count",
    "duration_seconds",
    "created_at",
    "updated_at",
}
# Added since the contract was written, never taken away: "searchable" (true once
# the text is in, before processing ends).
ADDED_FIELDS = {"searchable"}


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_unauthenticated_api_is_refused(client):
    assert client.get("/api/materials/").status_code in (401, 403)


def test_pdf_upload_creates_a_queued_material(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/materials/",
            {"file": upload("notes.pdf", make_pdf(["One page about cells."])), "title": "Cells"},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == CONTRACT_FIELDS | ADDED_FIELDS
    assert body["kind"] == "pdf" and body["status"] == "pending" and body["stage"] == "queued"
    assert body["title"] == "Cells" and body["page_count"] == 1
    import django_rq

    assert django_rq.get_queue("default").count == 1


def test_youtube_link_creates_a_queued_material(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/materials/", {"youtube_url": "https://youtu.be/GJLlxj_dtq8?t=30"}, format="json"
        )
    assert response.status_code == 201
    assert response.json()["kind"] == "youtube"
    assert Material.objects.get().video_id == "GJLlxj_dtq8"


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("fake.pdf", b"MZ\x90\x00 this is an executable", "not a PDF"),
        ("empty.pdf", b"", "empty"),
        ("broken.pdf", b"%PDF-1.7\n garbage with no objects", "damaged"),
    ],
)
def test_bad_pdf_is_rejected_and_nothing_is_stored(api, name, content, fragment, settings):
    response = api.post("/api/materials/", {"file": upload(name, content)}, format="multipart")
    assert response.status_code == 400
    assert fragment in " ".join(response.json()["file"])
    assert not Material.objects.exists()
    uploads = settings.MEDIA_ROOT / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


@override_settings(MAX_UPLOAD_MB=0)
def test_file_over_the_size_limit_is_rejected(api):
    response = api.post(
        "/api/materials/", {"file": upload("big.pdf", make_pdf(["x"]))}, format="multipart"
    )
    assert response.status_code == 400
    assert "too large" in response.json()["file"][0]
    assert not Material.objects.exists()


@override_settings(MAX_PDF_PAGES=2)
def test_pdf_over_the_page_limit_is_rejected(api):
    response = api.post(
        "/api/materials/",
        {"file": upload("long.pdf", make_pdf(["a", "b", "c"]))},
        format="multipart",
    )
    assert response.status_code == 400
    assert "too many pages" in response.json()["file"][0]
    assert not Material.objects.exists()


@pytest.mark.parametrize(
    "url", ["https://vimeo.com/123456", "not a link", "https://www.youtube.com/watch?v=short"]
)
def test_link_that_is_not_youtube_is_rejected(api, url):
    response = api.post("/api/materials/", {"youtube_url": url}, format="json")
    assert response.status_code == 400
    assert "youtube_url" in response.json()
    assert not Material.objects.exists()


def test_neither_file_nor_link_is_a_field_error(api):
    response = api.post("/api/materials/", {"title": "nothing"}, format="json")
    assert response.status_code == 400
    assert "file" in response.json()


def test_error_messages_follow_the_request_language(api):
    response = api.post(
        "/api/materials/",
        {"youtube_url": "https://vimeo.com/1"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert "YouTube" in response.json()["youtube_url"][0]
    assert "Это не ссылка" in response.json()["youtube_url"][0]


def test_list_is_paginated_and_shows_only_own_materials(api, user, other_user):
    from tests.support.factories import MaterialFactory

    MaterialFactory.create_batch(2, owner=user)
    MaterialFactory(owner=other_user, title="Secret")
    body = api.get("/api/materials/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert "Secret" not in str(body)


def test_other_users_material_is_404(api, other_user):
    from tests.support.factories import MaterialFactory

    foreign = MaterialFactory(owner=other_user)
    assert api.get(f"/api/materials/{foreign.pk}/").status_code == 404
    assert api.delete(f"/api/materials/{foreign.pk}/").status_code == 404
    assert api.post(f"/api/materials/{foreign.pk}/reprocess/").status_code == 404
    assert Material.objects.filter(pk=foreign.pk).exists()


def test_delete_removes_the_material_and_its_file(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/materials/", {"file": upload("a.pdf", make_pdf(["text"]))}, format="multipart"
        ).json()
    material = Material.objects.get(pk=created["id"])
    path = material.file.path
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/materials/{material.pk}/").status_code == 204
    assert not Material.objects.exists()
    import os

    assert not os.path.exists(path)


def test_reprocess_queues_the_material_again(api, user, django_capture_on_commit_callbacks):
    from tests.support.factories import MaterialFactory

    material = MaterialFactory(owner=user, status="failed", error_code="pdf_broken")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/materials/{material.pk}/reprocess/")
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["error"] == ""


def test_schema_and_docs_describe_every_endpoint(api):
    schema = api.get("/api/schema/?format=json").json()
    for path in [
        "/api/auth/token/",
        "/api/materials/",
        "/api/materials/{id}/",
        "/api/materials/{id}/reprocess/",
        "/api/search/",
    ]:
        assert path in schema["paths"], path
    docs = api.get("/api/docs/").content.decode()
    assert "swagger" in docs.lower() and "cdn" not in docs.lower()


def test_browsable_api_renders_html(logged_in):
    response = logged_in.get("/api/materials/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "<html" in response.content.decode()


def test_two_gigabyte_upload_is_refused_before_the_body_is_read(api):
    body = make_pdf(["small body, huge declared length"])
    response = api.post(
        "/api/materials/",
        {"file": upload("huge.pdf", body)},
        format="multipart",
        CONTENT_LENGTH=str(2 * 1024**3),
    )
    assert response.status_code == 413
    assert "too large" in response.json()["file"][0]
    assert not Material.objects.exists()
