"""Scans through the real worker: recognised, searchable at their page, failures explained."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from bench.eval import russian_share
from bench.ocr import error_rate, flat
from materials.models import Material
from materials.pipeline.ocr import OcrUnavailable, tessdata_dir
from materials.pipeline.pdf import OcrOptions, clean_pages, extract_pages
from materials.services import material_enqueue
from tests.support.factories import MaterialFactory
from tests.support.pdfs import (
    BROKEN_WORDS_LINES,
    PROBABILITY_PAGES,
    hyphenated_pdf,
    legacy_cyrillic_pdf,
    make_pdf,
    scan_pdf,
    unicode_pdf,
)

pytestmark = pytest.mark.django_db

ENGLISH = [
    "Cell biology. The mitochondrion produces most of the chemical energy of the cell. "
    "Its inner membrane folds into cristae, which carry the respiratory chain. " * 4,
    "Genetics. Gregor Mendel crossed pea plants in the garden of his monastery and found "
    "that traits are inherited as discrete units, now called genes. " * 4,
    "Ecology. A food web shows who eats whom in an ecosystem; energy is lost at every "
    "step, so food chains rarely have more than five links. " * 4,
]
RUSSIAN = [
    "Механика. Второй закон Ньютона связывает силу, массу и ускорение тела: "
    "ускорение прямо пропорционально силе и обратно пропорционально массе. " * 4,
    "Оптика. Закон преломления Снеллиуса описывает, как луч света меняет направление "
    "на границе двух прозрачных сред с разными показателями преломления. " * 4,
]


def process(owner, content: bytes, run_jobs, capture) -> Material:
    material = MaterialFactory(owner=owner, kind=Material.Kind.PDF)
    material.file.save("scan.pdf", ContentFile(content))
    with capture(execute=True):
        material_enqueue(material=material)
    run_jobs()
    material.refresh_from_db()
    return material


def read(content: bytes, **options: object) -> list[str]:
    """Cleaned page texts of a PDF, as the worker reads it."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(content)
        handle.flush()
        pages = list(extract_pages(Path(handle.name), ocr=OcrOptions(**options)))
    pages.sort(key=lambda page: page.number)
    return [page.text for page in clean_pages(pages)]


@pytest.mark.parametrize(
    ("pdf", "pages"),
    [(make_pdf, ENGLISH), (unicode_pdf, RUSSIAN)],
    ids=["english", "russian"],
)
def test_a_scan_reads_back_within_three_percent_of_its_text(pdf, pages):
    born_digital = pdf(pages)
    reference = read(born_digital, enabled=False)
    assert error_rate(reference, read(scan_pdf(born_digital, dpi=200, seed=5))) <= 0.03


def test_a_scan_reads_words_broken_at_line_ends_whole():
    # Recognition keeps the hyphen and the line break, and may take the next
    # line for a new paragraph.
    [text] = read(scan_pdf(hyphenated_pdf(BROKEN_WORDS_LINES), dpi=200, seed=6))
    words = flat(text).split()
    assert {"которые", "автоматически", "информации"} <= set(words)
    assert words.count("кто-нибудь") == 2
    assert not {"кото", "автома", "инфор"} & {word.rstrip("-") for word in words}


def test_a_scan_becomes_ready_and_each_fact_is_found_on_its_page(
    user, api, run_jobs, django_capture_on_commit_callbacks
):
    scan = scan_pdf(make_pdf(ENGLISH), dpi=200, seed=1)
    material = process(user, scan, run_jobs, django_capture_on_commit_callbacks)
    assert material.status == "ready", material.error_detail
    assert material.reading == {"ocr": 3, "repaired": 0, "unreadable": 0}
    for question, page in [
        ("which membrane folds into cristae", 1),
        ("who crossed pea plants in a monastery garden", 2),
        ("why do food chains have few links", 3),
    ]:
        assert first_page(api, material, question) == page, question
    with translation.override("en"):
        assert material.reading_notes == ["3 pages were read from their images (text recognition)."]
    with translation.override("ru"):
        assert "распознав" in material.reading_notes[0]


def first_page(api, material: Material, question: str) -> int:
    response = api.get("/api/search/", {"q": question, "material": material.pk, "k": 3})
    return response.json()["results"][0]["page"]


def test_a_russian_scan_is_read_as_russian(user, api, run_jobs, django_capture_on_commit_callbacks):
    scan = scan_pdf(unicode_pdf(RUSSIAN), dpi=200, seed=2)
    material = process(user, scan, run_jobs, django_capture_on_commit_callbacks)
    assert (material.status, material.language) == ("ready", "ru"), material.error_detail
    assert material.chunks.filter(text__icontains="закон преломления Снеллиуса").exists()
    assert first_page(api, material, "закон преломления света") == 2


def test_only_pages_without_text_are_recognised(
    user, api, run_jobs, django_capture_on_commit_callbacks
):
    text_pages = make_pdf(ENGLISH[:2])
    scanned_page = scan_pdf(make_pdf(ENGLISH[2:]), dpi=200, seed=3)
    document = pdfium.PdfDocument(text_pages)
    document.import_pages(pdfium.PdfDocument(scanned_page))
    out = io.BytesIO()
    document.save(out)
    material = process(user, out.getvalue(), run_jobs, django_capture_on_commit_callbacks)
    assert material.status == "ready", material.error_detail
    assert material.reading["ocr"] == 1
    assert first_page(api, material, "food web who eats whom") == 3


def test_a_sideways_scan_is_turned_before_it_is_read():
    born_digital = make_pdf(ENGLISH[:1])
    image = pdfium.PdfDocument(born_digital)[0].render(scale=200 / 72, grayscale=True).to_pil()
    out = io.BytesIO()
    image.rotate(90, expand=True, fillcolor=255).convert("L").save(out, "PDF", resolution=200)
    [text] = read(out.getvalue())
    assert "inner membrane folds into cristae" in flat(text)


def test_photos_without_text_fail_with_a_message_that_says_so(
    user, run_jobs, django_capture_on_commit_callbacks
):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    # A smooth picture: gradients and blobs, nothing that looks like letters.
    y, x = np.mgrid[0:1400, 0:1000]
    pixels = 128 + 60 * np.sin(x / 90) * np.cos(y / 120) + rng.normal(0, 3, x.shape)
    picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")
    out = io.BytesIO()
    picture.save(out, "PDF", resolution=150)
    material = process(user, out.getvalue(), run_jobs, django_capture_on_commit_callbacks)
    assert (material.status, material.error_code) == ("failed", "pdf_no_text")
    with translation.override("en"):
        assert "even after text recognition" in material.error
    with translation.override("ru"):
        assert "даже после распознавания" in material.error


def test_without_recognition_a_scan_fails_saying_what_to_install(
    user, settings, run_jobs, django_capture_on_commit_callbacks
):
    settings.OCR_ENABLED = False
    scan = scan_pdf(make_pdf(ENGLISH[:1]), dpi=150, seed=4)
    material = process(user, scan, run_jobs, django_capture_on_commit_callbacks)
    assert (material.status, material.error_code) == ("failed", "ocr_unavailable")
    with translation.override("en"):
        assert "Tesseract" in material.error and "not installed" in material.error
    with translation.override("ru"):
        assert "не установлено" in material.error


def test_missing_language_data_is_ocr_unavailable(tmp_path, monkeypatch):
    monkeypatch.delenv("TESSDATA_PREFIX", raising=False)
    monkeypatch.setattr("materials.pipeline.ocr._TESSDATA_DIRS", (str(tmp_path),))
    with pytest.raises(OcrUnavailable):
        tessdata_dir(str(tmp_path / "nowhere"))


def test_recognition_progress_is_told_page_by_page():
    material = Material(
        status="processing", stage="recognising", reading={"ocr_total": 80, "ocr_done": 11}
    )
    with translation.override("en"):
        assert material.reading_notes == ["Recognising page 12 of 80"]
    with translation.override("ru"):
        assert material.reading_notes == ["Распознаётся страница 12 из 80"]


def test_a_legacy_cyrillic_pdf_is_repaired_and_studied_in_russian(
    user, api, run_jobs, django_capture_on_commit_callbacks
):
    from materials.models import Flashcard

    material = process(user, legacy_cyrillic_pdf(), run_jobs, django_capture_on_commit_callbacks)
    assert (material.status, material.language) == ("ready", "ru"), material.error_detail
    assert material.reading["repaired"] == len(PROBABILITY_PAGES)
    assert material.reading["ocr"] == 0
    cards = list(Flashcard.objects.filter(material=material))
    assert cards
    assert russian_share([f"{card.front} {card.back}" for card in cards]) >= 0.9
    with translation.override("en"):
        assert "repaired from an old Cyrillic encoding" in " ".join(material.reading_notes)
    response = api.get("/api/search/", {"q": "Колмогоров аксиомы", "material": material.pk})
    assert response.json()["results"][0]["page"] == 1


def test_a_legacy_book_with_words_broken_at_line_ends_stores_them_whole(
    user, run_jobs, django_capture_on_commit_callbacks
):
    book = hyphenated_pdf(BROKEN_WORDS_LINES, line_end="\x7f", legacy=True)
    material = process(user, book, run_jobs, django_capture_on_commit_callbacks)
    assert (material.status, material.reading["repaired"]) == ("ready", 1), material.error_detail
    words = " ".join(material.chunks.values_list("text", flat=True)).split()
    assert {"которые", "автоматически", "информации"} <= set(words)
    assert words.count("кто-нибудь") == 2
    assert not {"кото", "автома", "инфор"} & set(words)
