"""The reader's page: where each link opens, who may open it, what it may load."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from materials.links import source_url
from materials.models import Material
from materials.services import material_create_youtube
from materials.study.offline import item_quote
from tests.support.factories import MaterialFactory, UserFactory
from tests.support.lectures import RUSSIAN_LECTURE, lecture_pages, pdf_material, process
from tests.support.pdfs import make_pdf, unicode_pdf

pytestmark = pytest.mark.django_db


def test_a_pdf_link_opens_the_reader_at_the_page_with_the_quote(biology):
    url = source_url(biology, page=2, start_seconds=None, quote="The Krebs  cycle takes place")
    parts = urlsplit(url)
    assert parts.path == f"/materials/{biology.pk}/read/"
    assert parse_qs(parts.query) == {"page": ["2"], "q": ["The Krebs cycle takes place"]}


def test_the_reader_page_carries_what_pdfjs_needs(logged_in, biology):
    page = logged_in.get(f"/materials/{biology.pk}/read/?page=2&q=Krebs+cycle").content.decode()
    assert 'data-page="2"' in page and 'data-quote="Krebs cycle"' in page
    assert f'data-file="/materials/{biology.pk}/file/"' in page
    assert "/static/vendor/pdfjs/pdf.min.js" in page and "/static/js/reader.js" in page
    # Without JavaScript the file itself opens at the page.
    assert f"/materials/{biology.pk}/file/#page=2" in page
    # A page beyond the end is the last one.
    page = logged_in.get(f"/materials/{biology.pk}/read/?page=99").content.decode()
    assert f'data-page="{biology.page_count}"' in page


def test_pdfjs_is_vendored_not_fetched():
    folder = Path(settings.BASE_DIR) / "static" / "vendor" / "pdfjs"
    assert (folder / "pdf.min.js").stat().st_size > 100_000
    assert (folder / "pdf.worker.min.js").stat().st_size > 500_000
    assert "pdfjs-dist 4.10.38" in (folder / "VERSION").read_text()
    reader = (Path(settings.BASE_DIR) / "static" / "js" / "reader.js").read_text()
    assert "http://" not in reader and "https://" not in reader


def test_another_students_reader_is_404(client, biology):
    client.force_login(UserFactory())
    assert client.get(f"/materials/{biology.pk}/read/?page=1").status_code == 404


def test_a_video_opens_the_embedded_player_at_the_second(logged_in, user):
    lecture = MaterialFactory(
        owner=user, kind=Material.Kind.YOUTUBE, video_id="GJLlxj_dtq8", status="ready"
    )
    url = source_url(lecture, page=None, start_seconds=65.7, quote="Entropy never decreases")
    assert url.startswith(f"/materials/{lecture.pk}/read/?t=65&")
    response = logged_in.get(url)
    body = response.content.decode()
    assert "https://www.youtube-nocookie.com/embed/GJLlxj_dtq8?start=65" in body
    # The player is the only frame the policy lets in, and on this page alone.
    assert "frame-src https://www.youtube-nocookie.com" in response["Content-Security-Policy"]
    other = logged_in.get(f"/materials/{lecture.pk}/")
    assert "youtube-nocookie" not in other["Content-Security-Policy"]


def test_the_reader_page_loads_nothing_inline(logged_in, biology):
    response = logged_in.get(f"/materials/{biology.pk}/read/?page=1")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    assert "<script>" not in response.content.decode()


@pytest.mark.parametrize(
    ("text", "answer", "quote"),
    [
        ("Fill in the blank: The _____ is green.", "chlorophyll", "The chlorophyll is green."),
        ("What is ATP?", "ATP is the energy currency of the cell.", "ATP is the energy "
         "currency of the cell."),
    ],
)  # fmt: skip
def test_an_item_quotes_its_own_sentence(text, answer, quote):
    assert item_quote(text, answer) == quote


# --- the quote a link carries is shown only where the source has it ---------------------


def test_a_quote_that_is_not_on_the_page_is_not_shown(logged_in, biology):
    """Escaped or not, words shown as "Quoted" would put them in the source's mouth."""
    fake = "Your account is locked: send your password to support@example.org"
    page = logged_in.get(f"/materials/{biology.pk}/read/?page=2&q={fake}").content.decode()
    assert "Quoted" not in page and "<blockquote" not in page
    assert 'data-quote=""' in page


def test_a_quote_from_another_page_is_not_shown_on_this_one(logged_in, biology):
    quote = "The Krebs cycle takes place in the mitochondrial matrix"
    on_its_page = logged_in.get(f"/materials/{biology.pk}/read/?page=2&q={quote}")
    assert "Quoted" in on_its_page.content.decode()
    elsewhere = logged_in.get(f"/materials/{biology.pk}/read/?page=3&q={quote}")
    assert "Quoted" not in elsewhere.content.decode()


def test_a_quote_on_the_page_is_shown_whatever_its_case_and_spacing(logged_in, biology):
    quote = "the KREBS   cycle takes place"
    page = logged_in.get(f"/materials/{biology.pk}/read/?page=2&q={quote}").content.decode()
    assert "Quoted" in page and f'data-quote="{quote}"' in page


def test_a_videos_quote_is_shown_only_at_its_second(
    logged_in, user, run_jobs, django_capture_on_commit_callbacks
):
    srt = (
        b"1\n00:00:01,000 --> 00:00:06,000\nEntropy measures how energy spreads out.\n\n"
        b"2\n00:01:40,000 --> 00:01:46,000\nHeat flows by itself only from hot to cold.\n"
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False):  # nothing leaves
        with django_capture_on_commit_callbacks(execute=True):
            lecture = material_create_youtube(
                owner=user,
                url="https://youtu.be/GJLlxj_dtq8",
                subtitles=SimpleUploadedFile("lecture.srt", srt),
            )
        run_jobs()
    lecture.refresh_from_db()
    assert lecture.status == "ready", lecture.error_detail
    quote = "Entropy measures how energy spreads out."
    at_its_second = logged_in.get(f"/materials/{lecture.pk}/read/?t=1&q={quote}")
    assert "Quoted" in at_its_second.content.decode()
    made_up = logged_in.get(f"/materials/{lecture.pk}/read/?t=1&q=Entropy is a hoax.")
    assert "Quoted" not in made_up.content.decode()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_link_the_study_pages_make_shows_its_quote(
    logged_in, user, run_jobs, django_capture_on_commit_callbacks, language
):
    """Notes, cards and search results quote their own source: the check never hides those."""
    content = make_pdf(lecture_pages()) if language == "en" else unicode_pdf(RUSSIAN_LECTURE)
    material = process(pdf_material(user, content), django_capture_on_commit_callbacks, run_jobs)
    query = "Krebs cycle" if language == "en" else "индексный вектор"
    hrefs = set()
    for url in (
        f"/materials/{material.pk}/notes/",
        f"/materials/{material.pk}/flashcards/",
        f"/tutor/search/?q={query}",
    ):
        page = logged_in.get(url).content.decode()
        hrefs |= {
            html.unescape(href) for href in re.findall(r'href="([^"]*/read/\?[^"]*q=[^"]*)"', page)
        }
    assert len(hrefs) >= 3, hrefs
    for href in hrefs:
        assert "Quoted" in logged_in.get(href).content.decode(), unquote(href)
