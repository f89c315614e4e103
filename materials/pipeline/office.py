"""Slides (.pptx) and handouts (.docx): checked by their bytes, then read into segments.

An OOXML file is a ZIP of XML parts, so it is judged by what it unpacks to
before anything parses it. Its central directory is judged first, from the
end record and the directory's fixed-size headers alone: `zipfile` makes an
object for every entry it lists, so a small upload listing a million entries
would cost the web process hundreds of megabytes before any count could
refuse it. Then the declared sizes bound what `zipfile` will ever inflate (it
stops at the declared size and fails the CRC), so a zip bomb is refused from
its directory alone. The text is read in a child process with limits, like a
PDF's (`office_child`). A slide is the anchor of a presentation (`page` =
slide number); a handout has no fixed pages, so its anchor is a section, cut
at its headings.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from lxml import etree

from materials.errors import ProcessingError
from materials.pipeline.chunking import Segment
from materials.pipeline.office_child import UNREADABLE
from materials.pipeline.pdf import Child, ChildErrors

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

# The ZIP records read before zipfile is let at the directory, as zipfile reads
# them: the end record (signature, disk, directory's disk, entries on this
# disk, entries, directory size, directory offset, comment length), the ZIP64
# locator just before it and the ZIP64 end record it points to, and each
# directory entry's fixed part (its name, extra field and comment follow).
_END = struct.Struct("<4s4H2IH")
_END_SIGNATURE = b"PK\x05\x06"
_END64_LOCATOR = struct.Struct("<4sIQI")
_END64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_END64 = struct.Struct("<4sQ2H2I4Q")
_END64_SIGNATURE = b"PK\x06\x06"
_ENTRY_SIZE = 46
_ENTRY_SIGNATURE = b"PK\x01\x02"
_ENTRY_LENGTHS = struct.Struct("<3H")  # name, extra field, comment; at byte 28 of an entry
# Room per listed part for its name and extra fields; OOXML names are short.
_DIRECTORY_BYTES_PER_PART = 1024

_CHILD_MODULE = "materials.pipeline.office_child"
_COUNT_SECONDS = 20.0
_CHILD_ERRORS = ChildErrors(
    timeout="office_timeout", memory="office_too_complex", broken="office_broken"
)

_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"


@dataclass(frozen=True)
class OfficeFile:
    """What an upload is, found from its content: its kind and its length."""

    kind: str  # PPTX or DOCX
    count: int  # slides (PPTX) or paragraphs (DOCX)
    part: str = ""  # the stored name of the presentation or document part


@dataclass
class OfficeText:
    segments: list[Segment]
    page_count: int  # slides or sections: what `page` counts for this kind
    outline: list[tuple[int, str, int]] = field(default_factory=list)  # (level, heading, section)


def _safe_parser() -> dict[str, Any]:
    # OOXML never needs a DTD: entities stay unexpanded and nothing is fetched.
    return {"resolve_entities": False, "no_network": True, "load_dtd": False}


def office_inspect(source: Path | IO[bytes], *, count: bool = True) -> OfficeFile:
    """The kind and length of an OOXML upload, or a ProcessingError saying why not.

    Refuses encrypted and legacy Office files, macro-enabled files, zip bombs
    (too much unpacked data, too many parts, or an over-compressed part), and
    anything whose main part is not a presentation or a Word document.
    Only the directory and the content types are read here; the length is
    counted by the reader's child process under its limits (without `count`
    it is 0: the reader counts as it reads).
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
            _check_directory(handle)
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                info = _inspect_archive(archive)
        except UNREADABLE as exc:
            raise ProcessingError("office_broken", detail=str(exc)[:500]) from exc
    return replace(info, count=_counted(source, info)) if count else info


def _counted(source: Path | IO[bytes], info: OfficeFile) -> int:
    """The slides or paragraphs, counted in the reader's child under its limits.

    It gets at most as long as a PDF's page count at upload, however long
    the worker may read: the student is waiting on the page.
    """
    extra = [info.kind, info.part, "--count", "--max-elements"]
    extra.append(str(settings.MAX_OFFICE_XML_ELEMENTS))
    seconds = min(settings.OFFICE_PARSE_TIMEOUT, _COUNT_SECONDS)
    with (
        _on_disk(source) as path,
        Child(
            path,
            extra,
            settings.OFFICE_PARSE_MEMORY_MB,
            module=_CHILD_MODULE,
            cpu_seconds=seconds,
            errors=_CHILD_ERRORS,
        ) as child,
    ):
        for message in child.messages(seconds):
            if "error" in message:
                raise child.error(message)
            if "count" in message:
                child.clean_exit = True
                return int(message["count"])
        raise child.crash()


@contextmanager
def _on_disk(source: Path | IO[bytes]) -> Iterator[Path]:
    """A path the child can open: the stored file, the upload's own temporary file,
    or a copy of a small upload that Django holds in memory."""
    if isinstance(source, Path):
        yield source
        return
    temporary = getattr(source, "temporary_file_path", None)
    if callable(temporary):
        yield Path(temporary())
        return
    with tempfile.NamedTemporaryFile(prefix="upload-", suffix=".zip") as copy:
        source.seek(0)
        shutil.copyfileobj(source, copy)
        copy.flush()
        source.seek(0)
        yield Path(copy.name)


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


def _check_directory(handle: IO[bytes]) -> None:
    """Refuse a ZIP that lists more than MAX_OFFICE_PARTS entries, before zipfile reads its list.

    zipfile reads as many entries as the directory's size holds, whatever
    count the end record gives, so the entries are counted by walking their
    headers; the directory's size bounds what is read for that.
    """
    limit = settings.MAX_OFFICE_PARTS
    found = _find_directory(handle)
    if found is None:
        return  # no end record: zipfile says the file is damaged
    entries, size, end = found
    if entries > limit:
        raise ProcessingError("office_too_many_parts", detail=f"{entries} parts")
    if size > limit * _DIRECTORY_BYTES_PER_PART:
        raise ProcessingError("office_too_many_parts", detail=f"a directory of {size} bytes")
    if size > end:
        return
    handle.seek(end - size)
    directory = handle.read(size)
    count = position = 0
    while directory.startswith(_ENTRY_SIGNATURE, position) and (
        position + _ENTRY_SIZE <= len(directory)
    ):
        count += 1
        if count > limit:
            raise ProcessingError("office_too_many_parts", detail=f"over {limit} parts listed")
        position += _ENTRY_SIZE + sum(_ENTRY_LENGTHS.unpack_from(directory, position + 28))


def _find_directory(handle: IO[bytes]) -> tuple[int, int, int] | None:
    """(entries, directory size, where the directory ends) from the end records, as zipfile
    finds them: the end record at the very end or, after a comment, the last one
    in the final 64 KiB; then the ZIP64 record, when a locator precedes it."""
    handle.seek(0, os.SEEK_END)
    length = handle.tell()
    tail_start = max(0, length - _END.size - 0xFFFF)
    handle.seek(tail_start)
    tail = handle.read()
    at = len(tail) - _END.size
    if not (at >= 0 and tail.startswith(_END_SIGNATURE, at) and tail.endswith(b"\0\0")):
        at = tail.rfind(_END_SIGNATURE)
        if at < 0 or len(tail) - at < _END.size:
            return None
    entries, size = _END.unpack_from(tail, at)[4:6]
    end = tail_start + at
    locator = end - _END64_LOCATOR.size
    if locator - _END64.size < 0:
        return entries, size, end
    handle.seek(locator - _END64.size)
    data = handle.read(_END64.size + _END64_LOCATOR.size)
    if data.startswith(_END64_LOCATOR_SIGNATURE, _END64.size) and data.startswith(_END64_SIGNATURE):
        entries, size = _END64.unpack_from(data)[7:9]
        end = locator - _END64.size
    return entries, size, end


def _inspect_archive(archive: zipfile.ZipFile) -> OfficeFile:
    """The kind and main part (length 0) of a package whose directory passed the checks."""
    members = archive.infolist()
    if len(members) > settings.MAX_OFFICE_PARTS:
        raise ProcessingError("office_too_many_parts", detail=f"{len(members)} parts")
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
    return OfficeFile(kind=kind, count=0, part=stored)


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


def office_check_length(info: OfficeFile) -> tuple[int, int] | None:
    """(count, limit) when the file is longer than this installation accepts."""
    limit = _length_limit(info.kind)
    return (info.count, limit) if info.count > limit else None


def _length_limit(kind: str) -> int:
    return settings.MAX_PPTX_SLIDES if kind == PPTX else settings.MAX_DOCX_PARAGRAPHS


def extract_office(path: Path, kind: str) -> OfficeText:
    """The text of stored slides or a handout, checked again as at upload, read in a child.

    The child (`office_child`) runs under the PDF reader's limits: address
    space (OFFICE_PARSE_MEMORY_MB), CPU time and a deadline (both
    OFFICE_PARSE_TIMEOUT). It caps the elements and text it reads, and counts
    the slides or paragraphs itself, so the worker parses no XML but the
    (small) list of content types.
    """
    if not path.exists():
        raise ProcessingError("pdf_missing")
    info = office_inspect(path, count=False)
    if info.kind != kind:
        raise ProcessingError("office_unsupported", detail=f"stored as {kind}, is {info.kind}")
    extra = [
        info.kind,
        info.part,
        "--max-elements",
        str(settings.MAX_OFFICE_XML_ELEMENTS),
        "--max-text-bytes",
        str(int(settings.MAX_OFFICE_TEXT_MB * 1024 * 1024)),
        "--max-length",
        str(_length_limit(info.kind)),
    ]
    timeout = settings.OFFICE_PARSE_TIMEOUT
    segments: list[Segment] = []
    outline: list[tuple[int, str, int]] = []
    with Child(
        path,
        extra,
        settings.OFFICE_PARSE_MEMORY_MB,
        module=_CHILD_MODULE,
        cpu_seconds=timeout,
        errors=_CHILD_ERRORS,
    ) as child:
        for message in child.messages(timeout):
            if "section" in message:
                lines = [str(line) for line in message["section"]]
                segments.append(_segment(lines, int(message["number"])))
            elif "heading" in message:
                level, heading, section = message["heading"]
                outline.append((int(level), str(heading), int(section)))
            elif "error" in message:
                raise child.error(message)
            elif "done" in message:
                child.clean_exit = True
                return OfficeText(
                    segments=segments, page_count=int(message["done"]), outline=outline
                )
        raise child.crash()


def _segment(paragraphs: list[str], number: int) -> Segment:
    """A slide or section as a segment that ends its paragraph.

    The chunker joins segments softly, because a PDF's sentences run on over
    a page break; a slide or a section never runs on into the next one, so a
    passage prefers to end where it ends.
    """
    return Segment(text="\n\n".join(paragraphs) + "\n\n", page=number)


def docx_outline(path: Path) -> list[tuple[int, str, int]]:
    """(level, heading, section) of a stored handout, for the notes; none when unreadable."""
    try:
        return extract_office(path, DOCX).outline
    except ProcessingError:
        return []
