"""Slides (.pptx) and handouts (.docx): checked by their bytes, then read into segments.

An OOXML file is a ZIP of XML parts, so it is judged by what it unpacks to
before anything parses it: the declared sizes bound what `zipfile` will ever
inflate (it stops at the declared size and fails the CRC), so a zip bomb is
refused from its directory alone. A slide is the anchor of a presentation
(`page` = slide number); a handout has no fixed pages, so its anchor is a
section, cut at its headings.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from lxml import etree

from materials.errors import ProcessingError
from materials.pipeline.chunking import Segment

PPTX, DOCX = "pptx", "docx"
MAIN_CONTENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
}
CONTENT_TYPES_PART = "[Content_Types].xml"
ZIP_MAGIC = b"PK\x03\x04"
# An OLE compound file: a legacy .ppt/.doc, or an encrypted OOXML file (Office
# wraps those in OLE, with the package as an "EncryptedPackage" stream).
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
# Small parts compress well by nature; only big ones can blow up memory.
_RATIO_FLOOR_BYTES = 1024 * 1024
_CONTENT_TYPES_MAX_BYTES = 1024 * 1024
# A handout without headings still gets sections small enough to cite.
PARAGRAPHS_PER_SECTION = 30
_SECTION_STYLES = {"title": 1, "heading 1": 1, "heading 2": 2}

# What zipfile and lxml raise on a damaged archive or part.
_UNREADABLE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    etree.XMLSyntaxError,
    KeyError,
    EOFError,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # a password-protected ZIP member
    ValueError,
    OSError,
)

_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"


@dataclass(frozen=True)
class OfficeFile:
    """What an upload is, found from its content: its kind and its length."""

    kind: str  # PPTX or DOCX
    count: int  # slides (PPTX) or paragraphs (DOCX)


@dataclass
class OfficeText:
    segments: list[Segment]
    page_count: int  # slides or sections: what `page` counts for this kind
    outline: list[tuple[int, str, int]] = field(default_factory=list)  # (level, heading, section)


def _safe_parser() -> dict[str, Any]:
    # OOXML never needs a DTD: entities stay unexpanded and nothing is fetched.
    return {"resolve_entities": False, "no_network": True, "load_dtd": False}


def office_inspect(source: Path | IO[bytes]) -> OfficeFile:
    """The kind and length of an OOXML upload, or a ProcessingError saying why not.

    Refuses encrypted and legacy Office files, macro-enabled files, zip bombs
    (too much unpacked data, too many parts, or an over-compressed part), and
    anything whose main part is not a presentation or a Word document.
    """
    with _opened(source) as handle:
        head = handle.read(8)
        handle.seek(0)
        if head.startswith(OLE_MAGIC):
            raise ProcessingError(
                "office_encrypted" if _has_encrypted_stream(handle) else "office_legacy"
            )
        if not head.startswith(ZIP_MAGIC):
            raise ProcessingError("office_broken")
        try:
            with zipfile.ZipFile(handle) as archive:
                return _inspect_archive(archive)
        except _UNREADABLE as exc:
            raise ProcessingError("office_broken", detail=str(exc)[:500]) from exc


@contextmanager
def _opened(source: Path | IO[bytes]) -> Iterator[IO[bytes]]:
    """A handle on a stored path, or the upload itself, left rewound for whoever reads next."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            yield handle
        return
    source.seek(0)
    try:
        yield source
    finally:
        source.seek(0)


def _has_encrypted_stream(handle: IO[bytes]) -> bool:
    """Whether an OLE file holds an encrypted OOXML package (its stream name is UTF-16)."""
    tail = b""
    while block := handle.read(1024 * 1024):
        if _ENCRYPTED_STREAM in tail + block:
            return True
        tail = block[-len(_ENCRYPTED_STREAM) :]
    return False


def _inspect_archive(archive: zipfile.ZipFile) -> OfficeFile:
    members = archive.infolist()
    if len(members) > settings.MAX_OFFICE_PARTS:
        raise ProcessingError("office_bomb", detail=f"{len(members)} parts")
    if sum(m.file_size for m in members) > settings.MAX_OFFICE_UNPACKED_MB * 1024 * 1024:
        raise ProcessingError("office_bomb", detail="unpacked size over the limit")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR_BYTES and ratio > settings.MAX_OFFICE_COMPRESSION_RATIO:
            raise ProcessingError("office_bomb", detail=f"{member.filename}: ratio {ratio:.0f}")
    names = {m.filename.lower(): m.filename for m in members}
    if any(PurePosixPath(name).name == "vbaproject.bin" for name in names):
        raise ProcessingError("office_macros")
    if CONTENT_TYPES_PART.lower() not in names:
        raise ProcessingError("office_broken", detail="no [Content_Types].xml")
    declared = _content_types(archive, names[CONTENT_TYPES_PART.lower()])
    if any(
        "macroenabled" in kind.lower() or "vbaproject" in kind.lower() for kind in declared.values()
    ):
        raise ProcessingError("office_macros")
    main = [
        (part, MAIN_CONTENT_TYPES[kind])
        for part, kind in declared.items()
        if kind in MAIN_CONTENT_TYPES
    ]
    if not main:
        raise ProcessingError("office_unsupported")
    part, kind = main[0]
    stored = names.get(part.lstrip("/").lower())
    if stored is None:
        raise ProcessingError("office_broken", detail=f"main part {part} is missing")
    # Slides are listed once in presentation.xml; every paragraph, in a table
    # or not, is a <w:p> of the document part.
    counted = f"{_P}sldId" if kind == PPTX else f"{_W}p"
    return OfficeFile(kind=kind, count=_count_elements(archive, stored, counted))


def _content_types(archive: zipfile.ZipFile, name: str) -> dict[str, str]:
    """Part name (or "*.ext" for a default) → its declared content type."""
    if archive.getinfo(name).file_size > _CONTENT_TYPES_MAX_BYTES:
        raise ProcessingError("office_broken", detail="[Content_Types].xml is too large")
    root = etree.fromstring(archive.read(name), etree.XMLParser(**_safe_parser()))
    declared = {}
    for element in root:
        if element.tag == f"{_CT}Override":
            declared[element.get("PartName", "")] = element.get("ContentType", "")
        elif element.tag == f"{_CT}Default":
            declared[f"*.{element.get('Extension', '')}"] = element.get("ContentType", "")
    return declared


def _count_elements(archive: zipfile.ZipFile, name: str, tag: str) -> int:
    """How many `tag` elements a part holds, streamed so the tree is never kept whole."""
    count = 0
    with archive.open(name) as stream:
        for _, element in etree.iterparse(stream, events=("end",), **_safe_parser()):
            if element.tag == tag:
                count += 1
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    return count


def office_check_length(info: OfficeFile) -> tuple[int, int] | None:
    """(count, limit) when the file is longer than this installation accepts."""
    limit = settings.MAX_PPTX_SLIDES if info.kind == PPTX else settings.MAX_DOCX_PARAGRAPHS
    return (info.count, limit) if info.count > limit else None


def extract_office(path: Path, kind: str) -> OfficeText:
    """The text of stored slides or a handout, checked again as at upload."""
    if not path.exists():
        raise ProcessingError("pdf_missing")
    info = office_inspect(path)
    if info.kind != kind:
        raise ProcessingError("office_unsupported", detail=f"stored as {kind}, is {info.kind}")
    if office_check_length(info):
        raise ProcessingError("office_too_long")
    try:
        return extract_pptx(path) if kind == PPTX else extract_docx(path)
    except ProcessingError:
        raise
    except Exception as exc:  # python-pptx/-docx raise many kinds on a damaged part
        raise ProcessingError("office_broken", detail=f"{type(exc).__name__}: {exc}"[:500]) from exc


def _segment(paragraphs: list[str], number: int) -> Segment:
    """A slide or section as a segment that ends its paragraph.

    The chunker joins segments softly, because a PDF's sentences run on over
    a page break; a slide or a section never runs on into the next one, so a
    passage prefers to end where it ends.
    """
    return Segment(text="\n\n".join(paragraphs) + "\n\n", page=number)


# --- slides ----------------------------------------------------------------------------


def extract_pptx(path: Path) -> OfficeText:
    """One segment per slide: title, text and tables in reading order, then speaker notes.

    PowerPoint's own reading order (what a screen reader follows) is the
    order of the shapes in the slide's XML, so that order is kept.
    """
    from pptx import Presentation

    presentation = Presentation(str(path))
    segments = []
    number = 0
    for number, slide in enumerate(presentation.slides, start=1):
        paragraphs = list(_slide_paragraphs(slide))
        if paragraphs:
            segments.append(_segment(paragraphs, number))
    return OfficeText(segments=segments, page_count=number)


def _slide_paragraphs(slide: Any) -> Iterator[str]:
    title = slide.shapes.title
    if title is not None and title.has_text_frame:
        yield from _frame_paragraphs(title.text_frame)
    for shape in _shapes(slide.shapes):
        if title is not None and shape.shape_id == title.shape_id:
            continue
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield from _frame_paragraphs(shape.text_frame)
        if getattr(shape, "has_table", False) and shape.has_table:
            yield from _table_rows(shape.table.rows)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        yield from _frame_paragraphs(slide.notes_slide.notes_text_frame)


def _shapes(shapes: Any) -> Iterator[Any]:
    """Every shape, the members of groups in place of the group."""
    for shape in shapes:
        if hasattr(shape, "shapes"):  # a group shape
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _frame_paragraphs(frame: Any) -> Iterator[str]:
    for paragraph in frame.paragraphs:
        # "\v" is a line break inside a paragraph (python-pptx's convention).
        text = " ".join(paragraph.text.replace("\v", " ").split())
        if text:
            yield text


def _table_rows(rows: Any) -> Iterator[str]:
    for row in rows:
        cells = []
        seen: set[int] = set()
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans.
            key = id(getattr(cell, "_tc", cell))
            if key in seen:
                continue
            seen.add(key)
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            yield " | ".join(cells)


# --- handouts ----------------------------------------------------------------------------


def extract_docx(path: Path) -> OfficeText:
    """One segment per section: cut at Title/Heading 1/Heading 2, and every
    PARAGRAPHS_PER_SECTION paragraphs, so a section stays small enough to cite.

    The heading stays the section's first line (and so the first line of its
    text view), and becomes an outline entry for the notes.
    """
    from docx import Document
    from docx.table import Table

    document = Document(str(path))
    sections: list[list[str]] = [[]]
    outline: list[tuple[int, str, int]] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines = list(_table_rows(block.rows))
            level = None
        else:
            text = " ".join(block.text.split())
            lines = [text] if text else []
            level = _heading_level(block) if text else None
        if level is not None:
            if sections[-1]:
                sections.append([])
            outline.append((level, lines[0], len(sections)))
        for line in lines:
            if len(sections[-1]) >= PARAGRAPHS_PER_SECTION:
                sections.append([])
            sections[-1].append(line)
    sections = [lines for lines in sections if lines]
    segments = [_segment(lines, number) for number, lines in enumerate(sections, start=1)]
    return OfficeText(segments=segments, page_count=len(segments), outline=outline)


def _heading_level(paragraph: Any) -> int | None:
    style = paragraph.style
    name = (style.name or "").lower() if style is not None else ""
    return _SECTION_STYLES.get(name)


def docx_outline(path: Path) -> list[tuple[int, str, int]]:
    """(level, heading, section) of a stored handout, for the notes; none when unreadable."""
    try:
        return extract_office(path, DOCX).outline
    except ProcessingError:
        return []
