"""Reads one PDF in a throwaway process and streams its pages as JSON lines.

Run as ``python -m materials.pipeline.pdf_child PATH [--count] [--table-seconds N]
[--ocr-threads N] [--tessdata DIR] [--no-ocr]``.
The parent (`materials.pipeline.pdf`) starts it under a memory limit and a
deadline, so a hostile or broken file can only kill this process, never the
worker. It must not import Django: it has to start fast and stay small under
the limit.

Protocol on stdout, one JSON object per line:

* ``{"page": n, "text": "...", "method": m}`` for every page, as soon as it is
  read; ``m`` is "text" (the text layer as it is), "repaired" (a legacy
  8-bit Cyrillic encoding decoded), "ocr" (recognised from the page's image,
  with its ``"confidence"``), "none" (nothing usable, even after recognition)
  or "unavailable" (no usable text layer, and recognition is switched off or
  Tesseract is not installed);
  pages with a usable text layer come first, in order, then the recognised
  ones as they finish;
* ``{"ocr_total": k}`` before the first of k pages is recognised;
* ``{"pages": n}`` in ``--count`` mode;
* last, exactly one of ``{"done": n}`` or ``{"error": code}``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import re
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

# pdfium reports line changes as "\r\n"; lone "\r"/"\n" may come from the file.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# A ruled table needs this many horizontal rules that each cross this many
# vertical rules; one framed box or a fraction bar does not qualify.
_MIN_GRID_ROWS = 3
_MIN_CROSSINGS = 3
# Path objects inspected per page, so a vector drawing cannot cost seconds.
_MAX_PATHS = 2000
_MAX_RULES = 300
# Letters and digits inside the grid; a ruled figure with empty cells is no table.
_MIN_GRID_TEXT = 20


def _emit(message: dict[str, Any]) -> None:
    data = json.dumps(message, ensure_ascii=False).encode("utf-8", "replace")
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.buffer.flush()


def _open_error_code(exc: BaseException, path: str) -> str:
    """Map a failed open to a stored error code."""
    import pypdfium2.raw as pdfium_c

    if isinstance(exc, MemoryError):
        return "pdf_too_complex"
    if isinstance(exc, FileNotFoundError):
        return "pdf_missing"
    code = getattr(exc, "err_code", None)
    if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
        return "pdf_encrypted"
    if code == pdfium_c.FPDF_ERR_FILE:
        return "pdf_missing"
    # pdfium refuses a well-formed PDF whose page tree is empty (with no
    # error code at all); tell that apart from garbage so the student reads
    # "no pages", not "damaged".
    if _is_zero_page_pdf(path):
        return "pdf_empty"
    return "pdf_broken"


def _is_zero_page_pdf(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            if b"%PDF-" not in handle.read(1024):
                return False
        from pdfminer.pdfdocument import PDFDocument
        from pdfminer.pdfpage import PDFPage
        from pdfminer.pdfparser import PDFParser
        from pdfminer.pdftypes import resolve1

        with open(path, "rb") as handle:
            document = PDFDocument(PDFParser(handle))
            pages = resolve1(document.catalog.get("Pages"))
            if not isinstance(pages, dict) or resolve1(pages.get("Count")) != 0:
                return False
            return next(iter(PDFPage.create_pages(document)), None) is None
    except Exception:
        return False


# --- plain text with paragraph breaks (pypdfium2) ---------------------------


def _line_boxes(textpage: Any) -> list[tuple[str, tuple[float, ...] | None]]:
    """Lines of the page with the boxes of their first and last characters."""
    import pypdfium2.raw as pdfium_c

    text = textpage.get_text_range()
    lines: list[tuple[str, tuple[float, ...] | None]] = []
    left, bottom, right, top = (ctypes.c_double() for _ in range(4))

    def box(text_index: int) -> tuple[float, float, float, float] | None:
        char_index = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, text_index)
        if char_index < 0 or not pdfium_c.FPDFText_GetCharBox(
            textpage, char_index, left, right, bottom, top
        ):
            return None
        return left.value, bottom.value, right.value, top.value

    position = 0
    for match in [*_LINE_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[position:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            first = box(position + lead)
            last = box(position + lead + len(stripped) - 1)
            geometry = None
            if first and last and first[3] > first[1] and last[3] > last[1]:
                # x0, x1, bottom/top of the first char, bottom/top of the last char
                geometry = (first[0], last[2], first[1], first[3], last[1], last[3])
            lines.append((stripped, geometry))
        position = match.end() if match else len(text)
    return lines


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * (len(ordered) - 1) + 0.5))]


def _paragraph_text(textpage: Any) -> str:
    """Page text with "\\n" between lines and "\\n\\n" between paragraphs.

    pdfium gives lines but no paragraphs; the chunker needs them, so they are
    inferred from geometry: extra vertical space, a line that ends early
    although the next word would have fitted, or a first-line indent.
    """
    lines = _line_boxes(textpage)
    if not lines:
        return ""
    known = [geometry for _, geometry in lines if geometry]
    if len(lines) < 3 or len(known) < 0.8 * len(lines):
        return "\n".join(text for text, _ in lines)

    size = statistics.median(max(g[3] - g[2], g[5] - g[4]) for g in known) or 1.0
    long_lines = [g for (text, g) in lines if g and len(text) >= 25] or known
    column_left = _percentile([g[0] for g in long_lines], 0.2)
    column_right = _percentile([g[1] for g in long_lines], 0.8)
    pitches = [
        a[4] - b[2]
        for (_, a), (_, b) in zip(lines, lines[1:], strict=False)
        if a and b and 0.8 * size < a[4] - b[2] < 3 * size
    ]
    pitch = statistics.median(pitches) if pitches else 1.2 * size
    char_width = 0.5 * size

    out = [lines[0][0]]
    for k in range(1, len(lines)):
        text, b = lines[k]
        a = lines[k - 1][1]
        if not (a and b):
            out.append("\n" + text)
            continue
        drop = a[4] - b[2]
        # Sub/superscripts and inline math come as separate "lines" on the same row.
        same_row = abs(drop) < 0.4 * size or (
            b[0] >= a[1] - char_width and b[2] < a[5] and b[3] > a[4]
        )
        if same_row:
            out.append(" " + text)
            continue
        first_word = len(text.split()[0]) * char_width + char_width
        new_paragraph = drop > 1.6 * pitch or a[1] + first_word < column_right - char_width
        if (
            not new_paragraph
            and b[0] > column_left + 0.8 * size
            and abs(a[0] - column_left) < 0.5 * size
        ):
            # An indented first line, unless the indent continues (a hanging
            # list item or a quoted block keeps its lines together).
            after = lines[k + 1][1] if k + 1 < len(lines) else None
            new_paragraph = after is None or abs(after[0] - column_left) < 0.5 * size
        out.append(("\n\n" if new_paragraph else "\n") + text)
    return "".join(out)


# --- tables (pdfplumber, only on pages with a ruled grid) -------------------


def _path_bounds(
    handle: Any, count: Any, get: Any, depth: int, out: list[tuple[float, ...]]
) -> None:
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    for index in range(count(handle)):
        if len(out) >= _MAX_PATHS:
            return
        obj = get(handle, index)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            if pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
                out.append((left.value, bottom.value, right.value, top.value))
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < 3:
            _path_bounds(
                obj,
                pdfium_c.FPDFFormObj_CountObjects,
                pdfium_c.FPDFFormObj_GetObject,
                depth + 1,
                out,
            )


def _has_ruled_grid(page: Any, textpage: Any) -> bool:
    """Cheap test for a ruled table: rules that cross, with text inside.

    pdfplumber costs 0.05-1 s a page, so it only runs where pdfium's own
    drawing objects show a grid of thin horizontal and vertical rules.
    """
    import pypdfium2.raw as pdfium_c

    bounds: list[tuple[float, ...]] = []
    _path_bounds(page.raw, pdfium_c.FPDFPage_CountObjects, pdfium_c.FPDFPage_GetObject, 0, bounds)
    horizontal: list[tuple[float, float, float]] = []
    vertical: list[tuple[float, float, float]] = []
    for left, bottom, right, top in bounds:
        width, height = right - left, top - bottom
        if height <= 3 and width >= 8:
            horizontal.append(((bottom + top) / 2, left, right))
        elif width <= 3 and height >= 8:
            vertical.append(((left + right) / 2, bottom, top))
    if len(horizontal) < _MIN_GRID_ROWS or len(vertical) < _MIN_CROSSINGS:
        return False
    tolerance = 2.0
    rows = []
    for y, x0, x1 in horizontal[:_MAX_RULES]:
        crossings = sum(
            1
            for x, y0, y1 in vertical[:_MAX_RULES]
            if x0 - tolerance <= x <= x1 + tolerance and y0 - tolerance <= y <= y1 + tolerance
        )
        if crossings >= _MIN_CROSSINGS:
            rows.append((y, x0, x1))
    if len(rows) < _MIN_GRID_ROWS:
        return False
    inside = textpage.get_text_bounded(
        left=min(r[1] for r in rows),
        bottom=min(r[0] for r in rows),
        right=max(r[2] for r in rows),
        top=max(r[0] for r in rows),
    )
    return sum(ch.isalnum() for ch in inside) >= _MIN_GRID_TEXT


def _useful_rows(table: list[list[str | None]]) -> list[str]:
    """Rows as "cell | cell"; empty when the grid is a drawing, not a table."""
    if len(table) < 2 or max(len(row) for row in table) < 2:
        return []
    cells = [" ".join((cell or "").split()) for row in table for cell in row]
    filled = [cell for cell in cells if cell]
    if len(filled) < len(cells) / 4 or sum(ch.isalnum() for cell in filled for ch in cell) < 10:
        return []
    rows = []
    for row in table:
        parts = [" ".join((cell or "").split()) for cell in row]
        if any(parts):
            rows.append(" | ".join(parts))
    return rows


class _Tables:
    """pdfplumber, opened lazily once per document and dropped after a failure.

    It spends at most `budget` seconds per document (about 0.7 s per dense
    table page): past that, pages keep pdfium's text, so a 500-page table
    report is still read in time instead of failing with pdf_timeout.
    """

    def __init__(self, path: str, budget: float) -> None:
        self.path = path
        self.pdf: Any = None
        self.failed = False
        self.budget = budget
        self.spent = 0.0

    def close(self) -> None:
        # Only the file: pdfplumber's own close() first builds every page.
        if self.pdf is not None:
            with contextlib.suppress(OSError, AttributeError):
                self.pdf.stream.close()
            self.pdf = None

    def page_text(self, index: int) -> str | None:
        """Text of a page with its tables as rows, or None to keep pdfium's text."""
        if self.failed or self.spent >= self.budget:
            return None
        started = time.monotonic()
        try:
            return self._page_text(index)
        finally:
            self.spent += time.monotonic() - started

    def _page_text(self, index: int) -> str | None:
        try:
            if self.pdf is None:
                import pdfplumber

                self.pdf = pdfplumber.open(self.path)
            page = self.pdf.pages[index]
        except MemoryError:
            raise
        except Exception:
            # pdfminer is stricter than pdfium and rejects some files pdfium reads.
            self.failed = True
            return None
        try:
            return _page_with_tables(page)
        except MemoryError:
            raise
        except Exception:
            return None
        finally:
            page.close()


def _crop_text(page: Any, x0: float, top: float, x1: float, bottom: float) -> str:
    px0, ptop, px1, pbottom = page.bbox
    x0, top, x1, bottom = max(x0, px0), max(top, ptop), min(x1, px1), min(bottom, pbottom)
    if x1 - x0 < 1 or bottom - top < 1:
        return ""
    return (page.within_bbox((x0, top, x1, bottom)).extract_text() or "").strip()


def _page_with_tables(page: Any) -> str | None:
    found = []
    for table in page.find_tables():
        rows = _useful_rows(table.extract())
        if rows:
            found.append((table.bbox, rows))
    if not found:
        return None
    found.sort(key=lambda item: item[0][1])
    x_min, y_min, x_max, y_max = page.bbox
    parts: list[str] = []
    cursor = y_min
    for index, ((x0, top, x1, bottom), rows) in enumerate(found):
        parts.append(_crop_text(page, x_min, cursor, x_max, top))
        overlaps = any(
            other[1] < bottom and other[3] > top for j, (other, _) in enumerate(found) if j != index
        )
        if not overlaps:
            parts.append(_crop_text(page, x_min, top, x0, bottom))
        # Rows are separate paragraphs so that cleaning never glues them together.
        parts.append("\n\n".join(rows))
        if not overlaps:
            parts.append(_crop_text(page, x1, top, x_max, bottom))
        cursor = max(cursor, bottom)
    parts.append(_crop_text(page, x_min, cursor, x_max, y_max))
    return "\n\n".join(part for part in parts if part)


# --- driver -----------------------------------------------------------------


def _page_text(page: Any, index: int, tables: _Tables) -> str:
    """One page's text; each refinement falls back to the plainer one on error."""
    textpage = page.get_textpage()
    try:
        try:
            ruled = _has_ruled_grid(page, textpage)
        except MemoryError:
            raise
        except Exception:
            ruled = False
        text = tables.page_text(index) if ruled else None
        if text is None:
            try:
                text = _paragraph_text(textpage)
            except MemoryError:
                raise
            except Exception:
                text = textpage.get_text_range()
        return text
    finally:
        textpage.close()


def _only_text(page: Any) -> bool:
    """The page holds text objects and nothing else: no image, drawing or annotation.

    Its picture then shows exactly its text layer, so recognising it would
    only read that text again (a page with nothing but a running footer).
    """
    import pypdfium2.raw as pdfium_c

    if pdfium_c.FPDFPage_GetAnnotCount(page.raw):
        return False
    return all(obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT for obj in page.get_objects(max_depth=1))


# A page with fewer words than this is asked whether it holds anything but text.
_FEW_WORDS = 50


def _pages(document: Any, path: str, table_seconds: float) -> Iterator[tuple[int, str, bool]]:
    """(number, text, holds only text) of every page."""
    tables = _Tables(path, table_seconds)
    try:
        for index in range(len(document)):
            text, only_text = "", False
            try:
                page = document[index]
            except MemoryError:
                raise
            except Exception:
                # An unreadable page keeps its number with no text; the rest still count.
                yield index + 1, text, only_text
                continue
            try:
                text = _page_text(page, index, tables)
                only_text = len(text.split()) < _FEW_WORDS and _only_text(page)
            except MemoryError:
                raise
            except Exception:
                text = text or ""
            finally:
                page.close()
            yield index + 1, text, only_text
    finally:
        tables.close()


def _rendered(document: Any, numbers: list[int]) -> Iterator[tuple[int, Any]]:
    """Page images for recognition, rendered on this thread (pdfium is not thread-safe)."""
    from materials.pipeline.ocr import render

    for number in numbers:
        image = None
        try:
            page = document[number - 1]
            try:
                image = render(page)
            finally:
                page.close()
        except MemoryError:
            raise
        except Exception:  # noqa: S110 - an unrenderable page is reported as unreadable
            pass
        if image is not None:
            yield number, image


def _emit_pages(document: Any, args: argparse.Namespace) -> None:
    """Every page once: usable text layers at once, then the recognised pages."""
    from materials.pipeline.textcheck import check_page

    to_recognise: list[int] = []
    sample: list[str] = []
    for number, raw, only_text in _pages(document, args.path, args.table_seconds):
        verdict = check_page(raw)
        if verdict.status == "empty" and only_text:
            # Nothing to recognise that the text layer does not already hold.
            method = "text" if raw.strip() else "none"
            _emit({"page": number, "text": verdict.text, "method": method})
        elif verdict.status in ("ok", "repaired"):
            method = "text" if verdict.status == "ok" else "repaired"
            _emit({"page": number, "text": verdict.text, "method": method})
            if sum(map(len, sample)) < 5000:
                sample.append(verdict.text)
        else:
            to_recognise.append(number)
    if not to_recognise:
        return
    recognised: set[int] = set()
    unavailable = args.no_ocr
    if not args.no_ocr:
        from materials.pipeline.ocr import OcrUnavailable, Recognizer, tessdata_dir

        try:
            recognizer = Recognizer(
                tessdata_dir(args.tessdata), threads=args.ocr_threads, sample_text=" ".join(sample)
            )
        except OcrUnavailable:
            unavailable = True
        else:
            _emit({"ocr_total": len(to_recognise)})
            try:
                pages = recognizer.recognise_all(_rendered(document, to_recognise))
                for number, reading in pages:
                    recognised.add(number)
                    _emit(
                        {
                            "page": number,
                            "text": reading.text,
                            "method": "ocr" if reading.text else "none",
                            "confidence": round(reading.confidence, 1),
                        }
                    )
            finally:
                recognizer.close()
    for number in to_recognise:
        if number not in recognised:
            _emit({"page": number, "text": "", "method": "unavailable" if unavailable else "none"})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m materials.pipeline.pdf_child")
    parser.add_argument("path")
    parser.add_argument("--count", action="store_true", help="print the page count only")
    parser.add_argument("--table-seconds", type=float, default=30.0, help="pdfplumber budget")
    parser.add_argument("--ocr-threads", type=int, default=2, help="pages recognised at once")
    parser.add_argument("--tessdata", default="", help="Tesseract's language data folder")
    parser.add_argument("--no-ocr", action="store_true", help="never recognise page images")
    args = parser.parse_args(argv)
    path = args.path
    try:
        import pypdfium2 as pdfium
    except MemoryError:
        _emit({"error": "pdf_too_complex"})
        return 0
    try:
        document = pdfium.PdfDocument(path)
    except Exception as exc:  # every failure to open becomes a stored code
        _emit({"error": _open_error_code(exc, path)})
        return 0
    try:
        total = len(document)
        if args.count:
            _emit({"pages": total})
            return 0
        if total == 0:
            _emit({"error": "pdf_empty"})
            return 0
        _emit_pages(document, args)
        _emit({"done": total})
    except MemoryError:
        _emit({"error": "pdf_too_complex"})
    except BrokenPipeError:
        # The parent stopped reading (consumer done early); nothing to report.
        return 0
    finally:
        document.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
