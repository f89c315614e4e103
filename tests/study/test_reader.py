"""The reader's page: where each link opens, who may open it, what it may load."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from materials.links import source_url
from materials.models import Material
from materials.study.offline import item_quote
from tests.support.factories import MaterialFactory, UserFactory

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
