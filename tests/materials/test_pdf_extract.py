"""PDF extraction in a child process, and page cleaning.

Real files come from the shared corpus (../shared/corpus from the project
root); tests that need one skip with a reason when it is absent.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from materials.errors import ProcessingError
from materials.pipeline import pdf as pdf_module
from materials.pipeline.pdf import (
    OcrOptions,
    PageText,
    clean_pages,
    extract_pages,
    pdf_page_count,
)
from materials.text.language import detect_language
from tests.support.corpus import corpus_file
from tests.support.pdfs import BROKEN_WORDS_LINES, BROKEN_WORDS_TEXT, hyphenated_pdf

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def corpus_pdf(*parts: str) -> Path:
    return corpus_file("pdf", *parts)


def error_code(call) -> str:
    with pytest.raises(ProcessingError) as caught:
        call()
    return caught.value.code


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen]:
    """Every child process extract_pages/pdf_page_count starts during the test."""
    processes: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        processes.append(process)
        return process

    monkeypatch.setattr(pdf_module.subprocess, "Popen", recording_popen)
    return processes


# --- real documents ---------------------------------------------------------


def test_english_book_gives_every_page_numbered_from_one():
    pages = list(extract_pages(corpus_pdf("books", "R-data.pdf")))
    assert [page.number for page in pages] == list(range(1, 42))


def test_english_book_text_lands_on_its_physical_page():
    pages = clean_pages(list(extract_pages(corpus_pdf("books", "R-data.pdf"))))
    assert "R Data Import/Export" in pages[0].text
    # Physical page 7 is the printed page 3 ("1 Introduction").
    assert "Reading data into a statistical system for analysis" in pages[6].text
    assert "Reading data into a statistical system" not in pages[7].text


@pytest.mark.slow
def test_russian_book_is_read_as_russian():
    pages = clean_pages(list(extract_pages(corpus_pdf("books", "mpman-ru.pdf"))))
    assert len(pages) == 106
    assert "РУКОВОДСТВО ПОЛЬЗОВАТЕЛЯ" in pages[0].text
    assert detect_language("\n\n".join(page.text for page in pages)) == "ru"


def test_page_count_matches_the_book():
    assert pdf_page_count(corpus_pdf("books", "mpman-ru.pdf")) == 106


@pytest.mark.slow
def test_lecture_script_gives_every_page_in_order():
    # Speed is measured by `make bench`, not here.
    path = corpus_pdf("py-pdf-sample-files", "009-pdflatex-geotopo_GeoTopo-komprimiert.pdf")
    pages = list(extract_pages(path))
    assert [page.number for page in pages] == list(range(1, 118))


def test_ruled_table_becomes_rows_of_cells():
    path = corpus_pdf("py-pdf-sample-files", "011-google-doc-document_google-doc-document.pdf")
    text = clean_pages(list(extract_pages(path)))[0].text
    assert "Capital | Jakarta | Berlin | Vienna | Paris | Vatican City" in text
    assert "Beautiful is better than ugly." in text


@pytest.mark.parametrize(
    ("line_end", "legacy"),
    [("\xad", False), ("\u2010", False), ("\u2011", False), ("\x7f", True), ("\xad", True)],
    ids=["soft-hyphen", "u2010", "u2011", "legacy-tex-hyphen", "legacy-soft-hyphen"],
)
def test_words_broken_at_line_ends_read_whole_and_a_compound_keeps_its_hyphen(
    tmp_path: Path, line_end: str, legacy: bool
):
    path = tmp_path / "book.pdf"
    path.write_bytes(hyphenated_pdf(BROKEN_WORDS_LINES, line_end=line_end, legacy=legacy))
    pages = list(extract_pages(path, ocr=OcrOptions(enabled=False)))
    assert [page.method for page in pages] == ["repaired" if legacy else "text"]
    [page] = clean_pages(pages)
    assert page.text.split() == BROKEN_WORDS_TEXT.split()


@pytest.mark.slow
def test_pictures_without_text_are_recognised_and_found_empty():
    path = corpus_pdf("py-pdf-sample-files", "007-imagemagick-images_imagemagick-images.pdf")
    pages = list(extract_pages(path))
    assert [(page.method, page.text) for page in pages] == [("none", "")] * 6


def scanned_hello(tmp_path: Path) -> Path:
    from tests.support.pdfs import make_pdf, scan_pdf

    path = tmp_path / "scan.pdf"
    path.write_bytes(scan_pdf(make_pdf(["Hello, World! " * 3]), max_skew=0, noise=0))
    return path


@pytest.mark.slow
def test_text_drawn_as_an_image_is_recognised(tmp_path):
    recognising = []
    [page] = list(extract_pages(scanned_hello(tmp_path), on_recognising=recognising.append))
    assert (page.method, recognising) == ("ocr", [1])
    assert page.text.count("Hello, World!") == 3


def test_recognition_switched_off_marks_pages_unavailable(tmp_path):
    [page] = list(extract_pages(scanned_hello(tmp_path), ocr=OcrOptions(enabled=False)))
    assert (page.method, page.text) == ("unavailable", "")


def test_a_short_page_of_text_alone_is_not_recognised_again():
    """Its picture shows nothing its text layer does not hold: no recognition, no wait."""
    path = corpus_pdf("py-pdf-sample-files", "020-xmp_output_with_metadata_pymupdf.pdf")
    recognising = []
    [page] = list(extract_pages(path, on_recognising=recognising.append))
    assert (page.method, page.text, recognising) == ("text", "Hello, World!", [])


# --- failures ---------------------------------------------------------------


@pytest.mark.parametrize(
    "parts",
    [
        ("pdfplumber", "password-example.pdf"),
        ("py-pdf-sample-files", "005-libreoffice-writer-password_libreoffice-writer-password.pdf"),
    ],
)
def test_password_protected_pdf_is_pdf_encrypted(parts):
    path = corpus_pdf(*parts)
    assert error_code(lambda: list(extract_pages(path))) == "pdf_encrypted"
    assert error_code(lambda: pdf_page_count(path)) == "pdf_encrypted"


def test_zero_byte_file_is_pdf_broken():
    path = corpus_pdf("pdfplumber", "empty.pdf")
    assert path.stat().st_size == 0
    assert error_code(lambda: list(extract_pages(path))) == "pdf_broken"


def test_non_pdf_bytes_are_pdf_broken(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_bytes(b"This is a text file, not a PDF.\n" * 20)
    assert error_code(lambda: list(extract_pages(path))) == "pdf_broken"
    assert error_code(lambda: pdf_page_count(path)) == "pdf_broken"


def test_missing_file_is_pdf_missing(tmp_path):
    path = tmp_path / "gone.pdf"
    assert error_code(lambda: list(extract_pages(path))) == "pdf_missing"
    assert error_code(lambda: pdf_page_count(path)) == "pdf_missing"


def test_truncated_pdf_fails_cleanly_or_gives_pages(tmp_path):
    data = corpus_pdf("books", "R-data.pdf").read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    began = time.perf_counter()
    try:
        pages = list(extract_pages(path, timeout=30))
    except ProcessingError as exc:
        assert exc.code in {"pdf_broken", "pdf_empty"}
    else:
        assert pages and all(isinstance(page.text, str) for page in pages)
    assert time.perf_counter() - began < 30


def test_pdf_without_pages_is_pdf_empty(tmp_path):
    path = tmp_path / "zero.pdf"
    pdfium.PdfDocument.new().save(path)
    assert error_code(lambda: list(extract_pages(path))) == "pdf_empty"
    assert error_code(lambda: pdf_page_count(path)) == "pdf_empty"


def test_tiny_timeout_stops_the_child_with_pdf_timeout(started):
    path = corpus_pdf("py-pdf-sample-files", "009-pdflatex-geotopo_GeoTopo-komprimiert.pdf")
    began = time.perf_counter()
    assert error_code(lambda: list(extract_pages(path, timeout=0.001))) == "pdf_timeout"
    assert time.perf_counter() - began < 5
    assert started and started[0].returncode is not None


@pytest.mark.parametrize("limit_mb", [20, 30])
def test_tiny_memory_limit_fails_without_hanging(limit_mb):
    # The child peaks at about 60 MB on this book; 20 MB stops it while loading
    # pdfium, 30 MB inside pdfium (which aborts).
    path = corpus_pdf("books", "mpman-ru.pdf")
    began = time.perf_counter()
    code = error_code(lambda: list(extract_pages(path, memory_limit_mb=limit_mb, timeout=60)))
    assert code in {"pdf_too_complex", "pdf_broken"}
    assert time.perf_counter() - began < 30


# --- the child process ------------------------------------------------------


def test_nothing_starts_until_the_first_page_is_requested(started):
    pages = extract_pages(corpus_pdf("books", "R-data.pdf"))
    assert started == []
    first = next(pages)
    assert first.number == 1 and len(started) == 1
    pages.close()


def test_child_is_reaped_when_the_consumer_stops_early(started):
    for page in extract_pages(corpus_pdf("books", "mpman-ru.pdf")):
        if page.number == 2:
            break
    # The abandoned generator is closed on the next line, which kills and waits.
    assert len(started) == 1
    assert started[0].returncode is not None


def test_child_is_reaped_after_a_full_read(started):
    list(extract_pages(corpus_pdf("books", "R-data.pdf")))
    assert started[0].returncode == 0


def test_child_module_does_not_import_django():
    script = (
        "import sys, materials.pipeline.pdf_child; "
        "sys.exit(1 if any(m == 'django' or m.startswith('django.') for m in sys.modules) else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()


# --- clean_pages ------------------------------------------------------------


def test_clean_joins_a_word_hyphenated_at_a_line_end():
    [page] = clean_pages([PageText(1, "This carries infor-\nmation across lines.")])
    assert page.text == "This carries information across lines."


def test_clean_keeps_hyphens_inside_a_line():
    [page] = clean_pages([PageText(1, "A well-known and long-term result.")])
    assert page.text == "A well-known and long-term result."


def test_clean_keeps_a_compound_the_document_spells_with_a_hyphen():
    pages = clean_pages(
        [
            PageText(1, "It is a well-known fact."),
            PageText(2, "This fact is well-\nknown to all."),
        ]
    )
    assert pages[1].text == "This fact is well-known to all."


def test_clean_keeps_hyphen_before_a_capital_or_after_a_digit():
    [page] = clean_pages([PageText(1, "A Schwarz-\nWeiß print of a 3-\ndimensional table.")])
    assert page.text == "A Schwarz-Weiß print of a 3-dimensional table."


def test_clean_joins_a_word_broken_with_a_tex_hyphen_that_reads_as_del():
    # TeX's T2A fonts break words with the hyphen at code 127; without a
    # Unicode map (a legacy Cyrillic book) the text layer says DEL there.
    [page] = clean_pages([PageText(1, "символами, кото\x7f\nрые либо имеют")])
    assert page.text == "символами, которые либо имеют"


@pytest.mark.parametrize("hyphen", ["-", "\xad", "\u2010", "\u2011", "\x7f"])
def test_clean_joins_a_word_broken_before_what_looks_like_a_new_paragraph(hyphen):
    # A hanging indent, or recognition, can take the next line for a new paragraph.
    text = f"Then the pro{hyphen}\n\ngram stops.\n\nNext paragraph."
    [page] = clean_pages([PageText(1, text)])
    assert page.text == "Then the program stops.\n\nNext paragraph."


def test_clean_keeps_a_compound_broken_with_a_unicode_hyphen():
    pages = clean_pages(
        [
            PageText(1, "The file is read\u2010only."),
            PageText(2, "Mount the disk read\u2010\nonly and Schwarz\u2011\nWeiß."),
        ]
    )
    assert [page.text for page in pages] == [
        "The file is read-only.",
        "Mount the disk read-only and Schwarz-Weiß.",
    ]


def test_clean_makes_a_word_broken_at_the_foot_of_a_page_whole_on_that_page():
    pages = [PageText(n, f"Chapter one\n\nBody of page {n}.") for n in range(1, 4)]
    pages += [
        PageText(4, "Chapter one\n\nThe last line of the page ends in a bro\x7f"),
        PageText(5, "Chapter one\n\nken word. Then a full stop.\n\nMore text."),
        PageText(6, "Chapter one\n\nBody of page 6."),
    ]
    cleaned = clean_pages(pages)
    assert [page.text for page in cleaned[3:5]] == [
        "The last line of the page ends in a broken",
        "word. Then a full stop.\n\nMore text.",
    ]


def test_clean_leaves_a_hyphen_at_the_foot_of_a_page_before_a_capital():
    cleaned = clean_pages([PageText(1, "Ends in a well-"), PageText(2, "Known start.")])
    assert [page.text for page in cleaned] == ["Ends in a well-", "Known start."]


def test_clean_undoes_pdfium_hyphenation_marker():
    [page] = clean_pages([PageText(1, "small re\ufffeusable tools")])
    assert page.text == "small reusable tools"


def test_clean_joins_wrapped_lines_and_keeps_paragraph_breaks():
    text = "First paragraph wraps\nonto a second line.\n\nSecond paragraph\nalso wraps."
    [page] = clean_pages([PageText(1, text)])
    assert page.text == "First paragraph wraps onto a second line.\n\nSecond paragraph also wraps."


def test_clean_drops_headers_and_footers_repeated_on_most_pages():
    bodies = [
        "Newton's first law describes inertia.",
        "The second law relates force and acceleration.",
        "Every action has an equal and opposite reaction.",
        "Momentum is conserved in a closed system.",
        "Energy can change form but is never lost.",
        "Friction turns kinetic energy into heat.",
    ]
    pages = [
        PageText(n, f"Physics Lecture Notes\n\n{body}\n\nPage {n} of 6")
        for n, body in enumerate(bodies, start=1)
    ]
    assert [page.text for page in clean_pages(pages)] == bodies


def test_clean_drops_a_chapter_header_that_carries_the_page_number():
    pages = [PageText(n, f"Intro text {n}.") for n in range(1, 4)]
    pages += [PageText(n, f"Chapter 2: Data {n - 2}\n\nBody of page {n}.") for n in range(4, 8)]
    pages += [PageText(n, f"Closing text {n}.") for n in range(8, 12)]
    cleaned = clean_pages(pages)
    assert [page.text for page in cleaned[3:7]] == [f"Body of page {n}." for n in range(4, 8)]


def test_clean_keeps_repeated_lines_of_a_short_document():
    pages = [PageText(n, f"Course title\n\nBody {n}.") for n in range(1, 4)]
    assert [page.text for page in clean_pages(pages)] == [
        f"Course title\n\nBody {n}." for n in range(1, 4)
    ]


def test_clean_drops_bare_page_numbers():
    [page] = clean_pages([PageText(1, "17\n\nThe text of the page.\n\n- 17 -")])
    assert page.text == "The text of the page."


def test_clean_normalises_whitespace_and_strips_control_characters():
    text = "Caf\u0065\u0301\x00  au\u00adlait\tis\xa0good\x0c \ufb01ne"
    [page] = clean_pages([PageText(1, text)])
    assert page.text == "Café aulait is good fine"


def test_clean_keeps_page_numbers_and_empty_pages():
    cleaned = clean_pages([PageText(3, "Text."), PageText(4, ""), PageText(5, "More.")])
    assert [(page.number, page.text) for page in cleaned] == [(3, "Text."), (4, ""), (5, "More.")]
