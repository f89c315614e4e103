"""Small slides and handouts made with python-pptx and python-docx, for the tests."""

from __future__ import annotations

import io
import struct
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

NOTES = "Tell the students that transfer RNA brings each amino acid to the ribosome in turn."


def make_pptx() -> bytes:
    """Three slides: bullets, a table, and speaker notes on the last one."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Photosynthesis"
    first.placeholders[1].text_frame.text = (
        "Photosynthesis converts light energy into chemical energy inside the chloroplasts.\n"
        "Chlorophyll absorbs red and blue light."
    )
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Cellular respiration"
    table = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(1.5)).table
    for row, cells in enumerate(
        [("Stage", "Place"), ("Glycolysis", "cytoplasm"), ("Krebs cycle", "mitochondrial matrix")]
    ):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    third = deck.slides.add_slide(deck.slide_layouts[1])
    third.shapes.title.text = "Protein synthesis"
    third.placeholders[1].text_frame.text = "Ribosomes translate messenger RNA into proteins."
    third.notes_slide.notes_text_frame.text = NOTES
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def blank_pptx(slides: int = 2) -> bytes:
    from pptx import Presentation

    deck = Presentation()
    for _ in range(slides):
        deck.slides.add_slide(deck.slide_layouts[6])  # the blank layout
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


SECTIONS = {
    "Introduction": "Plants make their own food from light, water and air. ",
    "Light reactions": "The light reactions split water and release oxygen in the thylakoids. ",
    "The Calvin cycle": "The Calvin cycle fixes carbon dioxide into sugar in the stroma. ",
}


def make_docx(sections: dict[str, str] | None = None, *, repeat: int = 18) -> bytes:
    """A handout: a Heading 1 per section, each with one long paragraph and the first a table."""
    from docx import Document

    document = Document()
    for number, (heading, sentence) in enumerate((sections or SECTIONS).items()):
        document.add_heading(heading, level=1)
        document.add_paragraph(sentence * repeat)
        if number == 0:
            table = document.add_table(rows=1, cols=2)
            table.rows[0].cells[0].text = "Input"
            table.rows[0].cells[1].text = "Output"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def plain_docx(paragraphs: int) -> bytes:
    from docx import Document

    document = Document()
    for number in range(paragraphs):
        document.add_paragraph(f"Paragraph number {number} of a handout without headings.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def rezip(
    content: bytes,
    *,
    replace: dict[str, bytes] | None = None,
    add: dict | None = None,
    stored: bool = False,
):
    """The same package with some parts replaced or added (e.g. macros, a bomb).

    `stored` keeps the replaced parts uncompressed, so that a part made of one
    thing repeated is not refused as over-compressed before it is read.
    """
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            replaced = item.filename in (replace or {})
            method = zipfile.ZIP_STORED if stored and replaced else None
            target.writestr(
                item, (replace or {}).get(item.filename, source.read(item)), compress_type=method
            )
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = PPTX_TYPE) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def macro_type_pptx() -> bytes:
    deck = make_pptx()
    types = zipfile.ZipFile(io.BytesIO(deck)).read("[Content_Types].xml")
    macro = types.replace(
        b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        b"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
    )
    assert macro != types
    return rezip(deck, replace={"[Content_Types].xml": macro})


def spreadsheet_like() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# --- files that cost a reader time or memory -----------------------------------------------

W_NAMESPACE = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_with_body(body: str) -> bytes:
    """A handout whose document part holds `body`, stored uncompressed."""
    document = f'<w:document xmlns:w="{W_NAMESPACE}"><w:body>{body}</w:body></w:document>'
    return rezip(plain_docx(1), replace={"word/document.xml": document.encode()}, stored=True)


def merged_table_docx(rows: int, columns: int = 10) -> bytes:
    """A table whose every column is one cell merged down all its rows.

    The cells below the first row only say they continue the one above; an
    empty cell needs no paragraph, so the file holds none of them.
    """
    top = (
        '<w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr>'
        "<w:p><w:r><w:t>Top</w:t></w:r></w:p></w:tc>"
    )
    below = "<w:tc><w:tcPr><w:vMerge/></w:tcPr></w:tc>"
    grid = "<w:tblGrid>" + '<w:gridCol w:w="500"/>' * columns + "</w:tblGrid>"
    rows_xml = f"<w:tr>{top * columns}</w:tr>" + f"<w:tr>{below * columns}</w:tr>" * (rows - 1)
    ending = "<w:p><w:r><w:t>End of the handout.</w:t></w:r></w:p>"
    return docx_with_body(f"<w:tbl>{grid}{rows_xml}</w:tbl>{ending}")


def many_runs_docx(runs: int) -> bytes:
    """One paragraph of text and `runs` empty runs: six bytes each, one element each."""
    return docx_with_body("<w:p><w:r><w:t>Runs.</w:t></w:r>" + "<w:r/>" * runs + "</w:p>")


def zip_listing(entries: int, *, declared: int | None = None) -> bytes:
    """A ZIP whose directory lists `entries` entries, all of one tiny stored file.

    The end record says `declared` entries (by default the true count, as far
    as its 16 bits go); zipfile reads the directory by its size, not by that.
    """
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, 1, 0) + b"a"
    entry = struct.pack(
        "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0
    )
    directory = (entry + b"a") * entries
    count = min(entries if declared is None else declared, 0xFFFF)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(local), 0)
    return local + directory + end


# --- copies of a document's pages, for the evaluation ------------------------------------

# A docx section is cut every PARAGRAPHS_PER_SECTION lines (30); a page stays below that.
HANDOUT_PARAGRAPHS_PER_PAGE = 25


def _page_paragraphs(text: str, most: int) -> list[str]:
    """The page's non-empty lines, joined into at most `most` paragraphs in their order."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    size = max(1, -(-len(lines) // most))
    return [" ".join(lines[start : start + size]) for start in range(0, len(lines), size)]


def slides_copy(page_texts: list[str]) -> bytes:
    """A deck with one slide per page, in order, each holding its page's text.

    Slide n is page n (an empty page gets an empty slide), so the question sets'
    gold pages stay the copy's slide numbers.
    """
    from pptx import Presentation
    from pptx.util import Inches, Pt

    deck = Presentation()
    for text in page_texts:
        slide = deck.slides.add_slide(deck.slide_layouts[6])  # the blank layout
        paragraphs = _page_paragraphs(text, 60)
        if not paragraphs:
            continue
        box = slide.shapes.add_textbox(Inches(0.3), Inches(0.3), Inches(9.4), Inches(7))
        frame = box.text_frame
        frame.word_wrap = True
        frame.text = "\n".join(paragraphs)
        for paragraph in frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(8)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def handout_copy(page_texts: list[str]) -> bytes:
    """A handout whose section n holds page n's text, and nothing else.

    The extractor cuts a section at each heading and every 30 lines, so each page
    starts with a Heading 1 (its first line; the page number when it has none)
    and is kept to HANDOUT_PARAGRAPHS_PER_PAGE paragraphs: section n is page n.
    """
    from docx import Document

    document = Document()
    for number, text in enumerate(page_texts, start=1):
        paragraphs = _page_paragraphs(text, HANDOUT_PARAGRAPHS_PER_PAGE)
        document.add_heading(paragraphs[0] if paragraphs else str(number), level=1)
        for paragraph in paragraphs[1:]:
            document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
