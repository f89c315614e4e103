"""Reading slides and handouts into segments anchored to a slide or a section, in the reader's
child process, as the worker does."""

from __future__ import annotations

from materials.pipeline.office import DOCX, PPTX, extract_office
from materials.pipeline.office_child import PARAGRAPHS_PER_SECTION
from tests.support.office_files import NOTES, SECTIONS, make_docx, make_pptx, plain_docx


def test_each_slide_is_a_segment_with_title_body_table_and_notes_in_order(tmp_path):
    path = tmp_path / "deck.pptx"
    path.write_bytes(make_pptx())
    read = extract_office(path, PPTX)
    assert read.page_count == 3
    assert [s.page for s in read.segments] == [1, 2, 3]
    assert read.segments[1].text.strip().split("\n\n") == [
        "Cellular respiration",
        "Stage | Place",
        "Glycolysis | cytoplasm",
        "Krebs cycle | mitochondrial matrix",
    ]
    assert read.segments[2].text.strip().split("\n\n") == [
        "Protein synthesis",
        "Ribosomes translate messenger RNA into proteins.",
        NOTES,
    ]


def test_handout_headings_start_sections_and_keep_their_heading_first(tmp_path):
    path = tmp_path / "handout.docx"
    path.write_bytes(make_docx(repeat=1))
    read = extract_office(path, DOCX)
    assert read.page_count == 3
    assert [s.text.split("\n\n")[0] for s in read.segments] == list(SECTIONS)
    assert "Input | Output" in read.segments[0].text
    assert read.outline == [(1, heading, n) for n, heading in enumerate(SECTIONS, start=1)]


def test_handout_without_headings_is_cut_into_small_sections(tmp_path):
    path = tmp_path / "plain.docx"
    path.write_bytes(plain_docx(PARAGRAPHS_PER_SECTION * 2 + 5))
    read = extract_office(path, DOCX)
    assert read.page_count == 3 and [s.page for s in read.segments] == [1, 2, 3]
    assert read.segments[1].text.startswith(f"Paragraph number {PARAGRAPHS_PER_SECTION} ")
    assert read.outline == []
