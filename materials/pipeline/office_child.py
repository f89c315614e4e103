"""Reads one slide deck or handout in a throwaway process and streams its sections as JSON lines.

Run as ``python -m materials.pipeline.office_child PATH KIND MAIN_PART
--max-elements N (--count | --max-text-bytes N --max-length N)``, KIND being
"pptx" or "docx", MAIN_PART the stored name of the presentation or document
part and the length its slides or paragraphs, counted as at upload.
The parent (`materials.pipeline.office`) starts it as it starts the PDF
reader: under an address-space limit, a CPU-time limit and a deadline, so a
hostile file can only kill this process, never the worker.

Every XML part is streamed (lxml's iterparse on the ZIP member) and each
element is dropped once read, so memory does not grow with the part; every
element read and every byte of text kept count against the two caps, so
neither does time. Table cells are read from the cells the file holds
(`w:tc`, `a:tc`): a cell merged down the rows is one cell with its text and
empty ones below it, not the top cell looked up again for every row (which
takes time that grows with the square of the table). It must not import
Django: it has to start fast and stay small under the limit.

Protocol on stdout, one JSON object per line:

* ``{"section": [paragraph, ...], "number": n}``: a slide's or a section's
  text, in order; a slide without text is left out (its number is kept);
* ``{"heading": [level, text, section]}``: a handout's Title, Heading 1 or
  Heading 2, before the section it starts;
* last, exactly one of ``{"done": n}`` (slides, or sections) or
  ``{"error": code, "detail": "..."}``;
* with ``--count``, only the length: ``{"count": n}`` (slides listed, or
  every ``w:p`` of the document part) or the error.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

PPTX, DOCX = "pptx", "docx"
# A handout without headings still gets sections small enough to cite.
PARAGRAPHS_PER_SECTION = 30
_SECTION_STYLES = {"title": 1, "heading 1": 1, "heading 2": 2}

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
# Markup Compatibility: the fallback repeats the chosen content in an older form.
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

# What stands for a space between words in a handout's run.
_W_SPACES = {f"{_W}tab", f"{_W}ptab", f"{_W}br", f"{_W}cr"}
_SHAPES = {f"{_P}{name}" for name in ("sp", "grpSp", "graphicFrame", "cxnSp", "pic", "contentPart")}

# What zipfile and lxml raise on a damaged archive or part.
UNREADABLE = (
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


class Refused(Exception):
    """The file passed a cap; `code` is the stored error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class Budget:
    """What may still be read: XML elements in all parts, bytes of kept text, and
    slides or paragraphs (every `w:p`, as the upload counts them)."""

    def __init__(self, elements: int, text_bytes: int, length: int) -> None:
        self.elements = elements
        self.text_bytes = text_bytes
        self.length = length
        self._element_cap, self._text_cap, self._length_cap = elements, text_bytes, length

    def element(self) -> None:
        self.elements -= 1
        if self.elements < 0:
            raise Refused("office_too_many_elements", f"over {self._element_cap} XML elements")

    def counted(self) -> None:
        self.length -= 1
        if self.length < 0:
            raise Refused("office_too_long", f"over {self._length_cap} slides or paragraphs")

    def text(self, text: str) -> str:
        self.text_bytes -= len(text.encode("utf-8", "surrogatepass"))
        if self.text_bytes < 0:
            raise Refused("office_too_much_text", f"over {self._text_cap} bytes of text")
        return text


def _emit(message: dict[str, Any]) -> None:
    data = json.dumps(message, ensure_ascii=False).encode("utf-8", "replace")
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.buffer.flush()


def _stream(
    archive: zipfile.ZipFile, name: str, budget: Budget, *, starts: bool = True
) -> Iterator[tuple[str, Any]]:
    """("start" | "end", element) of one part; an element is emptied once its end is seen.

    On "start" an element has its attributes, on "end" its text too; without
    `starts` only ends come, at half the cost. Emptied elements and earlier
    siblings are removed, so the tree never holds more than the path to the
    element being read.
    """
    with archive.open(name) as raw:
        # OOXML never needs a DTD: entities stay unexpanded and nothing is fetched.
        events = etree.iterparse(
            raw,
            events=("start", "end") if starts else ("end",),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
        )
        for event, element in events:
            if event == "start":
                budget.element()
                yield event, element
                continue
            if not starts:
                budget.element()
            yield event, element
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]


def _words(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


def _relationships(
    archive: zipfile.ZipFile, names: dict[str, str], part: str, budget: Budget
) -> list[tuple[str, str, str]]:
    """(id, type, stored name of the target) of a part's internal relationships."""
    folder, base = posixpath.split(part)
    stored = names.get(posixpath.join(folder, "_rels", f"{base}.rels").lower())
    if stored is None:
        return []
    found = []
    for event, element in _stream(archive, stored, budget):
        if event != "end" or element.tag != _REL or element.get("TargetMode") == "External":
            continue
        target = element.get("Target", "")
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = posixpath.normpath(posixpath.join(folder, target))
        if path.lower() in names:
            found.append((element.get("Id", ""), element.get("Type", ""), names[path.lower()]))
    return found


# --- handouts ----------------------------------------------------------------------------


class _Sections:
    """A handout's sections, sent as each one is complete: cut at its headings, and
    every PARAGRAPHS_PER_SECTION lines, so a section stays small enough to cite.

    A heading stays its section's first line (the first line of its text
    view) and becomes an outline entry for the notes.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def _send(self) -> None:
        if self.lines:
            self.count += 1
            _emit({"section": self.lines, "number": self.count})
            self.lines = []

    def heading(self, level: int, text: str) -> None:
        self._send()
        _emit({"heading": [level, text, self.count + 1]})
        self.lines.append(text)

    def add(self, line: str) -> None:
        if len(self.lines) >= PARAGRAPHS_PER_SECTION:
            self._send()
        self.lines.append(line)

    def finish(self) -> int:
        self._send()
        return self.count


def _heading_styles(archive: zipfile.ZipFile, name: str, budget: Budget) -> dict[str, int]:
    """Style id → section level, for the styles named Title, Heading 1 and Heading 2.

    Word names built-in styles in English whatever the language of the
    document ("heading 1"); only their ids differ.
    """
    levels: dict[str, int] = {}
    style_id: str | None = None
    for event, element in _stream(archive, name, budget):
        if element.tag == f"{_W}style":
            style_id = element.get(f"{_W}styleId") if event == "start" else None
        elif event == "start" and element.tag == f"{_W}name" and style_id is not None:
            level = _SECTION_STYLES.get((element.get(f"{_W}val") or "").lower())
            if level is not None:
                levels[style_id] = level
    return levels


def _docx_blocks(
    archive: zipfile.ZipFile, name: str, budget: Budget
) -> Iterator[tuple[str, str | None]]:
    """(text, style id) of each paragraph of the body, and (row, None) of each table row.

    A row is its cells' text joined by " | "; a table inside a cell, and a
    text box inside a paragraph, are read as part of the cell or paragraph.
    """
    tables = 0  # tables open around the element
    paragraphs = 0  # paragraphs open outside any table
    fallback = 0
    parts: list[str] = []
    cells: list[str] = []
    style: str | None = None
    for event, element in _stream(archive, name, budget):
        tag = element.tag
        if event == "start":
            if tag == _FALLBACK:
                fallback += 1
            elif tag == f"{_W}tbl":
                tables += 1
            elif tag == f"{_W}p":
                budget.counted()
                if tables == 0:
                    paragraphs += 1
                    if paragraphs == 1:
                        style = None
            elif tag == f"{_W}pStyle" and tables == 0 and paragraphs == 1:
                style = element.get(f"{_W}val")
            continue
        if tag == _FALLBACK:
            fallback -= 1
        elif fallback:
            continue
        elif tag == f"{_W}t":
            if element.text:
                parts.append(budget.text(element.text))
        elif tag in _W_SPACES:
            parts.append(" ")
        elif tag == f"{_W}noBreakHyphen":
            parts.append("-")
        elif tag == f"{_W}p":
            if tables == 0:
                paragraphs -= 1
                if paragraphs == 0:
                    yield _words(parts), style
                    parts = []
                    continue
            parts.append(" ")
        elif tag == f"{_W}tc" and tables == 1 and paragraphs == 0:
            cells.append(_words(parts))
            parts = []
        elif tag == f"{_W}tr" and tables == 1 and paragraphs == 0:
            if any(cells):
                yield " | ".join(cells), None
            cells = []
        elif tag == f"{_W}tbl":
            tables -= 1
            if tables == 0 and paragraphs == 0:
                parts, cells = [], []


def read_docx(archive: zipfile.ZipFile, names: dict[str, str], main: str, budget: Budget) -> int:
    """Send a handout's sections and headings; returns how many sections."""
    levels: dict[str, int] = {}
    for _, kind, target in _relationships(archive, names, main, budget):
        if kind.endswith("/styles"):
            levels = _heading_styles(archive, target, budget)
            break
    sections = _Sections()
    # Paragraphs come with their style id; table rows with none.
    for text, style in _docx_blocks(archive, main, budget):
        if not text:
            continue
        level = levels.get(style) if style is not None else None
        if level is not None:
            sections.heading(level, text)
        else:
            sections.add(text)
    return sections.finish()


# --- slides ------------------------------------------------------------------------------


@dataclass
class _Shape:
    """A shape at the top of a slide's tree (a group holds its members' text)."""

    placeholder: tuple[str, str] | None = None  # (type, idx) when it is one
    paragraphs: list[str] = field(default_factory=list)


def _shapes(archive: zipfile.ZipFile, name: str, budget: Budget) -> list[_Shape]:
    """The top-level shapes of a slide or notes part, in the order of its XML.

    Each has its paragraphs (and table rows, cells joined by " | ") in order.
    PowerPoint's own reading order (what a screen reader follows) is that
    order, so it is kept.
    """
    shapes: list[_Shape] = []
    current: _Shape | None = None
    top: Any = None  # the element of the current top-level shape
    tables = 0
    fallback = 0
    parts: list[str] = []
    cells: list[str] = []
    for event, element in _stream(archive, name, budget):
        tag = element.tag
        if event == "start":
            if tag == _FALLBACK:
                fallback += 1
            elif top is None and tag in _SHAPES and _is_top_level(element):
                top, current = element, _Shape()
            elif tag == f"{_P}ph" and current is not None and _owner(element, 3) is top:
                current.placeholder = (element.get("type", "obj"), element.get("idx", "0"))
            elif tag == f"{_A}tbl":
                tables += 1
            continue
        if tag == _FALLBACK:
            fallback -= 1
        elif fallback or current is None:
            pass
        elif tag == f"{_A}t":
            if element.text:
                parts.append(budget.text(element.text))
        elif tag == f"{_A}br":
            parts.append(" ")
        elif tag == f"{_A}p":
            if tables:
                parts.append(" ")
            else:
                if text := _words(parts):
                    current.paragraphs.append(text)
                parts = []
        elif tag == f"{_A}tc" and tables == 1:
            cells.append(_words(parts))
            parts = []
        elif tag == f"{_A}tr" and tables == 1:
            if any(cells):
                current.paragraphs.append(" | ".join(cells))
            cells = []
        elif tag == f"{_A}tbl":
            tables -= 1
        if event == "end" and element is top:
            assert current is not None
            shapes.append(current)
            top, current, parts, cells, tables = None, None, [], [], 0
    return shapes


def _is_top_level(element: Any) -> bool:
    tree = element.getparent()
    return (
        tree is not None
        and tree.tag == f"{_P}spTree"
        and tree.getparent() is not None
        and tree.getparent().tag == f"{_P}cSld"
    )


def _owner(element: Any, generations: int) -> Any:
    for _ in range(generations):
        element = element.getparent()
        if element is None:
            return None
    return element


def _slide_text(shapes: list[_Shape]) -> list[str]:
    """Title first (the first placeholder of index 0, as PowerPoint finds it), then the rest."""
    title = next((s for s in shapes if s.placeholder and s.placeholder[1] == "0"), None)
    ordered = ([title] if title else []) + [s for s in shapes if s is not title]
    return [paragraph for shape in ordered for paragraph in shape.paragraphs]


def _notes_text(shapes: list[_Shape]) -> list[str]:
    """The speaker notes: the notes page's body placeholder (not its slide image or number)."""
    body = next((s for s in shapes if s.placeholder and s.placeholder[0] == "body"), None)
    return body.paragraphs if body else []


def read_pptx(archive: zipfile.ZipFile, names: dict[str, str], main: str, budget: Budget) -> int:
    """Send each slide with text as a section numbered by its slide; returns how many slides."""
    slides = {
        rel_id: target
        for rel_id, kind, target in _relationships(archive, names, main, budget)
        if kind.endswith("/slide")
    }
    order = []
    for event, element in _stream(archive, main, budget):
        if event == "start" and element.tag == f"{_P}sldId":
            budget.counted()
            order.append(element.get(f"{_R}id", ""))
    for number, rel_id in enumerate(order, start=1):
        part = slides.get(rel_id)
        if part is None:
            continue
        paragraphs = _slide_text(_shapes(archive, part, budget))
        for _, kind, target in _relationships(archive, names, part, budget):
            if kind.endswith("/notesSlide"):
                paragraphs += _notes_text(_shapes(archive, target, budget))
                break
        if paragraphs:
            _emit({"section": paragraphs, "number": number})
    return len(order)


def count_length(archive: zipfile.ZipFile, kind: str, main: str, budget: Budget) -> int:
    """Slides listed in the presentation, or paragraphs (every `w:p`, in a table or
    not) of the document: the length the upload is judged by."""
    counted = f"{_P}sldId" if kind == PPTX else f"{_W}p"
    return sum(
        element.tag == counted for _, element in _stream(archive, main, budget, starts=False)
    )


# --- driver ------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m materials.pipeline.office_child")
    parser.add_argument("path")
    parser.add_argument("kind", choices=[PPTX, DOCX])
    parser.add_argument("part", help="the stored name of the main part")
    parser.add_argument("--max-elements", type=int, required=True)
    parser.add_argument("--count", action="store_true", help="print the length only")
    parser.add_argument("--max-text-bytes", type=int)
    parser.add_argument("--max-length", type=int, help="slides or paragraphs")
    args = parser.parse_args(argv)
    if not args.count and (args.max_text_bytes is None or args.max_length is None):
        parser.error("reading needs --max-text-bytes and --max-length")
    budget = Budget(args.max_elements, args.max_text_bytes or 0, args.max_length or 0)
    read = read_pptx if args.kind == PPTX else read_docx
    try:
        with zipfile.ZipFile(args.path) as archive:
            if args.count:
                _emit({"count": count_length(archive, args.kind, args.part, budget)})
                return 0
            names = {info.filename.lower(): info.filename for info in archive.infolist()}
            count = read(archive, names, args.part, budget)
        _emit({"done": count})
    except Refused as exc:
        _emit({"error": exc.code, "detail": str(exc)})
    except MemoryError:
        _emit({"error": "office_too_complex"})
    except BrokenPipeError:
        # The parent stopped reading; nothing to report.
        return 0
    except UNREADABLE as exc:
        _emit({"error": "office_broken", "detail": f"{type(exc).__name__}: {exc}"[:500]})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
