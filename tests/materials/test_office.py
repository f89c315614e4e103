"""Lecture slides (.pptx) and handouts (.docx): checked by content, read, cited by slide or section.

The files are made here with python-pptx and python-docx, the libraries the
pipeline reads them with; uploads go through the API or the page, the real
worker processes them, and what a student sees is checked.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import translation

from materials.links import source_label
from materials.models import Material
from tests.support.factories import MaterialFactory
from tests.support.office_files import (
    DOCX_TYPE,
    NOTES,
    OLE,
    PPTX_TYPE,
    SECTIONS,
    blank_pptx,
    macro_type_pptx,
    make_docx,
    make_pptx,
    plain_docx,
    rezip,
    spreadsheet_like,
    upload,
)

pytestmark = pytest.mark.django_db


def nothing_stored(settings) -> bool:
    uploads = settings.MEDIA_ROOT / "uploads"
    return not Material.objects.exists() and (not uploads.exists() or not any(uploads.iterdir()))


@pytest.fixture
def slides(api, user, run_jobs, django_capture_on_commit_callbacks) -> Material:
    """The three-slide deck uploaded through the API and processed by the real worker."""
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/materials/",
            {"file": upload("Biology.pptx", make_pptx()), "title": "Biology slides"},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    run_jobs()
    material = Material.objects.get(pk=response.json()["id"])
    assert material.status == Material.Status.READY, material.error_detail
    return material


@pytest.fixture
def handout(logged_in, user, run_jobs, django_capture_on_commit_callbacks) -> Material:
    """The handout uploaded through the page's form and processed by the real worker."""
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(
            "/materials/upload/", {"file": upload("Photosynthesis.docx", make_docx(), DOCX_TYPE)}
        )
    assert response.status_code == 302, response.content
    run_jobs()
    material = Material.objects.get(owner=user)
    assert material.status == Material.Status.READY, material.error_detail
    return material


# --- slides end to end -------------------------------------------------------------------


def test_slides_upload_is_a_pptx_material_with_its_slide_count(slides, api):
    body = api.get(f"/api/materials/{slides.pk}/").json()
    assert (body["kind"], body["status"], body["page_count"]) == ("pptx", "ready", 3)


def test_search_api_gives_the_slide_of_the_speaker_notes(api, slides):
    response = api.get(
        "/api/search/", {"q": "Who brings each amino acid to the ribosome?", "material": slides.pk}
    )
    best = response.json()["results"][0]
    assert best["page"] == 3 and "transfer RNA" in best["text"]


def test_search_api_gives_the_slide_of_a_table_row(api, slides):
    response = api.get("/api/search/", {"q": "Krebs cycle mitochondrial matrix", "k": 1})
    assert response.json()["results"][0]["page"] == 2


def test_search_page_names_the_slide_and_links_the_text_view(logged_in, slides):
    page = logged_in.get(
        "/tutor/search/", {"q": "transfer RNA amino acid ribosome", "material": slides.pk}
    ).content.decode()
    assert f'href="/materials/{slides.pk}/text/#p-3"' in page
    assert "Biology slides, slide 3" in page
    assert f"/materials/{slides.pk}/file/#page=" not in page


def test_tutor_cites_the_slide_and_links_its_text(logged_in, user, slides):
    from tutor.models import Conversation

    conversation = Conversation.objects.create(owner=user, material=slides)
    logged_in.post(
        f"/tutor/{conversation.pk}/ask/",
        {"content": "What brings each amino acid to the ribosome?"},
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    page = logged_in.get(f"/tutor/{conversation.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert f'href="/materials/{slides.pk}/text/#p-3"' in page
    assert "Biology slides, слайд 3" in page


def test_text_view_shows_each_slide_under_its_anchor(logged_in, slides):
    page = logged_in.get(f"/materials/{slides.pk}/text/").content.decode()
    third = page.index('id="p-3"')
    assert page.index('id="p-1"') < page.index('id="p-2"') < third
    assert "Slide 3" in page[third:] and NOTES in page[third:]
    assert "Krebs cycle | mitochondrial matrix" in page[page.index('id="p-2"') : third]


def test_material_page_counts_slides_and_offers_the_text_and_the_original(logged_in, slides):
    page = logged_in.get(f"/materials/{slides.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "3 слайда" in page
    assert f'href="/materials/{slides.pk}/text/"' in page
    assert "Open PDF" not in page and "Открыть PDF" not in page


def test_original_slides_are_only_downloaded_never_shown_inline(logged_in, slides):
    response = logged_in.get(f"/materials/{slides.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="Biology.pptx"' in response["Content-Disposition"]
    assert response["Content-Type"] == PPTX_TYPE
    assert b"".join(response.streaming_content).startswith(b"PK\x03\x04")


def test_slides_without_text_fail_with_a_clear_message(
    api, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/materials/", {"file": upload("blank.pptx", blank_pptx())}, format="multipart"
        )
    run_jobs()
    body = api.get(f"/api/materials/{response.json()['id']}/").json()
    assert (body["status"], body["error"]) == ("failed", "No text could be found in this material.")


def test_another_students_text_view_is_404(client, other_user, slides):
    client.force_login(other_user)
    assert client.get(f"/materials/{slides.pk}/text/").status_code == 404
    assert client.get(f"/materials/{slides.pk}/file/").status_code == 404


def test_a_pdf_has_no_text_view(logged_in, user):
    material = MaterialFactory(owner=user, kind=Material.Kind.PDF)
    assert logged_in.get(f"/materials/{material.pk}/text/").status_code == 404


# --- handouts end to end -----------------------------------------------------------------


def test_handout_becomes_sections_named_by_its_headings_in_the_notes(api, handout):
    assert (handout.kind, handout.page_count) == ("docx", 3)
    notes = api.get(f"/api/materials/{handout.pk}/notes/").json()
    assert [section["heading"] for section in notes["sections"]] == list(SECTIONS)


def test_handout_search_names_the_section(logged_in, handout):
    page = logged_in.get(
        "/tutor/search/",
        {"q": "Calvin cycle fixes carbon dioxide", "material": handout.pk},
        HTTP_ACCEPT_LANGUAGE="ru",
    ).content.decode()
    assert f'href="/materials/{handout.pk}/text/#p-3"' in page
    assert "Photosynthesis, раздел 3" in page


def test_handout_notes_link_each_point_to_its_section(logged_in, handout):
    page = logged_in.get(f"/materials/{handout.pk}/notes/").content.decode()
    assert f'href="/materials/{handout.pk}/text/#p-2"' in page and "section 2" in page


def test_markdown_export_names_and_links_the_sections(api, handout):
    markdown = api.get(f"/api/materials/{handout.pk}/export/markdown/").content.decode()
    assert "## The Calvin cycle" in markdown
    assert f"([section 3](http://testserver/materials/{handout.pk}/text/#p-3))" in markdown
    assert "#page=" not in markdown


def test_place_labels_name_slides_and_sections():
    with translation.override("ru"):
        assert source_label(page=12, start_seconds=None, kind="pptx") == "слайд 12"
        assert source_label(page=3, start_seconds=None, kind="docx") == "раздел 3"
        assert source_label(page=3, start_seconds=None, kind="pdf") == "с. 3"
    assert source_label(page=12, start_seconds=None, kind="pptx") == "slide 12"


# --- upload checks -----------------------------------------------------------------------


def test_upload_form_offers_slides_and_handouts(logged_in):
    page = logged_in.get("/materials/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert ".pptx" in page and ".docx" in page and PPTX_TYPE in page
    assert "слайды лекции (.pptx)" in page


def test_a_docx_named_pdf_is_read_by_its_content(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/materials/", {"file": upload("notes.pdf", make_docx())}, format="multipart"
        )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "docx"


@pytest.mark.parametrize(
    ("name", "build", "fragment"),
    [
        ("macros.pptm", macro_type_pptx, "macros"),
        (
            "vba.docx",
            lambda: rezip(make_docx(), add={"word/vbaProject.bin": b"\x00" * 64}),
            "macros",
        ),
        (
            "locked.docx",
            lambda: OLE + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64,
            "password-protected",
        ),
        ("old.ppt", lambda: OLE + b"\x00" * 2048, "old-format Office file (.ppt or .doc)"),
        (
            "bomb.docx",
            lambda: rezip(make_docx(), add={"word/media/zeros.bin": b"\x00" * (8 * 1024 * 1024)}),
            "zip bomb",
        ),
        ("table.xlsx", spreadsheet_like, "neither a PowerPoint presentation"),
        ("broken.pptx", lambda: b"PK\x03\x04" + b"\x00" * 200, "damaged"),
        ("broken.docx", lambda: b"just some text", "damaged"),
        ("picture.png", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a PDF"),
    ],
)
def test_refused_files_say_why_and_store_nothing(api, settings, name, build, fragment):
    response = api.post("/api/materials/", {"file": upload(name, build())}, format="multipart")
    assert response.status_code == 400
    assert fragment in " ".join(response.json()["file"])
    assert nothing_stored(settings)


@override_settings(MAX_OFFICE_UNPACKED_MB=0)
def test_file_unpacking_past_the_limit_is_refused(api, settings):
    response = api.post(
        "/api/materials/", {"file": upload("a.pptx", make_pptx())}, format="multipart"
    )
    assert "zip bomb" in response.json()["file"][0] and nothing_stored(settings)


@override_settings(MAX_OFFICE_PARTS=5)
def test_file_with_too_many_parts_is_refused(api, settings):
    response = api.post(
        "/api/materials/", {"file": upload("a.pptx", make_pptx())}, format="multipart"
    )
    assert "zip bomb" in response.json()["file"][0] and nothing_stored(settings)


@override_settings(MAX_PPTX_SLIDES=2)
def test_too_many_slides_are_refused_with_the_count(api, settings):
    response = api.post(
        "/api/materials/", {"file": upload("a.pptx", make_pptx())}, format="multipart"
    )
    assert response.json()["file"] == [
        "The presentation has too many slides (3; limit: 2)."
    ] and nothing_stored(settings)


@override_settings(MAX_DOCX_PARAGRAPHS=10)
def test_too_many_paragraphs_are_refused_with_the_count(api, settings):
    response = api.post(
        "/api/materials/", {"file": upload("a.docx", plain_docx(11), DOCX_TYPE)}, format="multipart"
    )
    assert response.json()["file"] == [
        "The document has too many paragraphs (11; limit: 10)."
    ] and nothing_stored(settings)


def test_refusal_is_in_russian_on_the_page(logged_in, settings):
    response = logged_in.post(
        "/materials/upload/",
        {"file": upload("macros.pptm", macro_type_pptx())},
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 400
    assert "В этом файле есть макросы" in response.content.decode()
    assert nothing_stored(settings)


def test_encrypted_and_legacy_refusals_in_russian(api):
    locked = OLE + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le")
    for content, fragment in [
        (locked, "защищён паролем"),
        (OLE + b"\x00" * 600, "старого формата"),
    ]:
        response = api.post(
            "/api/materials/",
            {"file": upload("x.docx", content)},
            format="multipart",
            HTTP_ACCEPT_LANGUAGE="ru",
        )
        assert fragment in response.json()["file"][0]
