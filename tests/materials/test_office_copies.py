"""The evaluation's slides and handout copies of a document: read back by the app's own office
extractor, slide n and section n must hold page n's text, so the gold pages stay right."""

from __future__ import annotations

from materials.pipeline.office import DOCX, PPTX, extract_office
from tests.support.office_files import handout_copy, slides_copy

# Page 2 is empty (a blank page keeps its number); page 4 is longer than a section's cut.
PAGES = [
    "Photosynthesis\nLight energy becomes chemical energy in the chloroplasts.",
    "",
    "Respiration\nGlycolysis happens in the cytoplasm.\nThe Krebs cycle runs in the matrix.",
    "\n".join(f"Line {n} of a long page about ribosomes." for n in range(1, 80)),
    "Последняя страница\nРибосомы переводят матричную РНК в белки.",
]


def _words(text: str) -> list[str]:
    return text.split()


def test_slides_copy_has_a_slide_per_page_holding_its_text(tmp_path):
    path = tmp_path / "copy.pptx"
    path.write_bytes(slides_copy(PAGES))
    read = extract_office(path, PPTX)
    assert read.page_count == len(PAGES)
    assert [s.page for s in read.segments] == [1, 3, 4, 5]
    for segment in read.segments:
        assert _words(segment.text) == _words(PAGES[segment.page - 1])


def test_handout_copy_has_a_section_per_page_holding_its_text(tmp_path):
    path = tmp_path / "copy.docx"
    path.write_bytes(handout_copy(PAGES))
    read = extract_office(path, DOCX)
    assert read.page_count == len(PAGES)
    assert [s.page for s in read.segments] == [1, 2, 3, 4, 5]
    texts = {segment.page: segment.text for segment in read.segments}
    assert _words(texts[2]) == ["2"]  # an empty page keeps its section, named by its number
    for number in (1, 3, 4, 5):
        assert _words(texts[number]) == _words(PAGES[number - 1])
    assert [entry[2] for entry in read.outline] == [1, 2, 3, 4, 5]
