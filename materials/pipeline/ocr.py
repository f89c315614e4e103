"""Text recognition of page images with Tesseract, for the PDF child process.

Runs inside `materials.pipeline.pdf_child` (no Django: the child must start
fast and stay small under its memory limit). tesserocr drives libtesseract in
process and releases the GIL while it recognises, so one API per thread keeps
both cores busy while the main thread renders the next page with pdfium
(which is not thread-safe and so stays on one thread).

Why tesserocr and not the `tesseract` command (pytesseract, ocrmypdf): no
process start and no model load per page, and word confidences from the same
call, which is how pictures without text are told apart from text.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Where Debian, Fedora/Alpine and a source build put the language models.
_TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
# Tesseract is most accurate near 300 dpi; the long side is capped so that a
# poster-sized page costs no more than a large page of a book.
RENDER_DPI = 300
MIN_SCAN_DPI = 150
MAX_SIDE_PIXELS = 4200
# A paragraph whose mean word confidence is below this is noise read from a
# photo or a drawing; real text, even from a poor scan, scores 60-95.
MIN_PARAGRAPH_CONFIDENCE = 50
# A page read this poorly with the document's languages is tried with the
# other installed ones (Chinese, say), the best reading kept.
RETRY_CONFIDENCE = 60
MAX_OTHER_LANGUAGES = 3
_BASE_LANGUAGES = ("eng", "rus")
_NOT_LANGUAGES = {"osd", "equ"}
# Tesseract puts a space between Chinese and Japanese words; the script has none.
_CJK_GAP = re.compile(
    r"(?<=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]) +(?=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef])"
)


class OcrUnavailable(Exception):
    """Tesseract's library or its language models are not installed."""


@dataclass(frozen=True)
class Recognition:
    """What recognition made of one page."""

    text: str  # paragraphs separated by a blank line, lines by "\n"
    confidence: float  # mean word confidence of the kept text, 0-100
    languages: str


def tessdata_dir(configured: str = "") -> str:
    """The folder with *.traineddata: the setting, TESSDATA_PREFIX, or a known place."""
    for candidate in (configured, os.environ.get("TESSDATA_PREFIX", ""), *_TESSDATA_DIRS):
        if candidate and any(Path(candidate).glob("*.traineddata")):
            return candidate
    raise OcrUnavailable("no Tesseract language data (install tesseract-ocr-eng/-rus)")


def installed_languages(tessdata: str) -> list[str]:
    return sorted(
        path.name.removesuffix(".traineddata")
        for path in Path(tessdata).glob("*.traineddata")
        if path.name.removesuffix(".traineddata") not in _NOT_LANGUAGES
    )


def _script_languages(text: str, installed: list[str]) -> str:
    """Tesseract languages for text in this script: Russian with English, or English alone.

    English alone for Latin text: with Russian loaded too, a Latin "a" or "o"
    is sometimes read as its Cyrillic twin, and the word no longer matches a search.
    """
    cyrillic = sum("\u0400" <= char <= "\u04ff" for char in text)
    latin = sum(char.isascii() and char.isalpha() for char in text)
    wanted = ["rus", "eng"] if cyrillic >= 0.2 * max(1, cyrillic + latin) else ["eng"]
    if latin + cyrillic == 0:
        wanted = ["eng", "rus"]
    chosen = [language for language in wanted if language in installed]
    return "+".join(chosen or installed[:1])


class Recognizer:
    """Tesseract APIs, one per thread, for one document.

    The document's languages are settled on the first page (from the text
    layer's script when the document has one, else from a first reading with
    English and Russian) and kept for the rest, so later pages run in parallel.
    """

    def __init__(self, tessdata: str, *, threads: int = 2, sample_text: str = "") -> None:
        try:
            import tesserocr  # noqa: F401
        except ImportError as exc:  # pragma: no cover - tesserocr is a pinned dependency
            raise OcrUnavailable(f"tesserocr cannot be imported: {exc}") from exc
        self.tessdata = tessdata
        self.installed = installed_languages(tessdata)
        if not self.installed:
            raise OcrUnavailable(f"no language data in {tessdata}")
        self.languages = _script_languages(sample_text, self.installed) if sample_text else ""
        self.threads = max(1, threads)
        self._local = threading.local()
        self._apis: list[Any] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            for api in self._apis:
                api.End()
            self._apis.clear()

    def _api(self, languages: str) -> Any:
        import tesserocr

        cache = getattr(self._local, "apis", None)
        if cache is None:
            cache = self._local.apis = {}
        api = cache.get(languages)
        if api is None:
            # AUTO_OSD finds the page's orientation too: a scan fed in sideways
            # or upside down is turned before it is read.
            api = tesserocr.PyTessBaseAPI(
                path=self.tessdata, lang=languages, psm=tesserocr.PSM.AUTO_OSD
            )
            cache[languages] = api
            with self._lock:
                self._apis.append(api)
        return api

    def _read(self, image: Any, languages: str) -> Recognition:
        import tesserocr

        api = self._api(languages)
        api.SetImage(image)
        if not api.Recognize():
            api.Clear()
            return Recognition(text="", confidence=0.0, languages=languages)
        paragraphs: list[str] = []
        weighted = 0.0
        letters = 0
        level = tesserocr.RIL.PARA
        iterator = api.GetIterator()
        if iterator is not None:
            for paragraph in tesserocr.iterate_level(iterator, level):
                try:
                    text = _CJK_GAP.sub("", paragraph.GetUTF8Text(level) or "").strip()
                except RuntimeError:  # an empty block ("No text returned")
                    continue
                confidence = paragraph.Confidence(level)
                size = sum(char.isalnum() for char in text)
                if size >= 2 and confidence >= MIN_PARAGRAPH_CONFIDENCE:
                    paragraphs.append(text)
                    weighted += confidence * size
                    letters += size
        api.Clear()
        return Recognition(
            text="\n\n".join(paragraphs),
            confidence=weighted / letters if letters else 0.0,
            languages=languages,
        )

    def recognise(self, image: Any) -> Recognition:
        """One page image's text; tries other installed languages when the reading is poor."""
        languages = self.languages or _script_languages("", self.installed)
        best = self._read(image, languages)
        if not self.languages and best.text:
            # First page of a document with no text layer: settle its script.
            settled = _script_languages(best.text, self.installed)
            if settled != languages:
                best = max(best, self._read(image, settled), key=_quality)
            self.languages = best.languages
        if best.confidence < RETRY_CONFIDENCE:
            others = [
                language
                for language in self.installed
                if language not in _BASE_LANGUAGES and language not in best.languages
            ]
            for language in others[:MAX_OTHER_LANGUAGES]:
                reading = self._read(image, language)
                if _quality(reading) > _quality(best):
                    best = reading
            if best.languages != languages and best.confidence >= RETRY_CONFIDENCE:
                self.languages = best.languages
        return best

    def recognise_all(self, images: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Recognition]]:
        """(page, reading) as pages finish, rendering staying on the caller's thread.

        The first page is read alone so that the document's languages are
        settled before the threads start; at most two pages per thread wait
        in memory.
        """
        iterator = iter(images)
        first = next(iterator, None)
        if first is None:
            return
        yield first[0], self.recognise(first[1])
        pending: list[tuple[int, Future[Recognition]]] = []
        with ThreadPoolExecutor(self.threads, thread_name_prefix="ocr") as pool:
            for number, image in iterator:
                pending.append((number, pool.submit(self.recognise, image)))
                while len(pending) >= 2 * self.threads or (pending and pending[0][1].done()):
                    done_number, future = pending.pop(0)
                    yield done_number, future.result()
            for number, future in pending:
                yield number, future.result()


def _quality(reading: Recognition) -> float:
    """Confident letters: more text read well beats a little read slightly better."""
    return reading.confidence * min(len(reading.text), 2000) / 100


def _scan_dpi(page: Any) -> float | None:
    """The resolution of the image that fills the page, when the page is a scan."""
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    for count, image in enumerate(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])):
        if count >= 8:  # a collage of many pictures is not one scanned sheet
            return None
        left, bottom, right, top = image.get_bounds()
        if (right - left) * (top - bottom) >= 0.8 * width * height:
            pixels_wide, _ = image.get_px_size()
            return pixels_wide / max(1.0, (right - left) / 72)
    return None


def render(page: Any) -> Any:
    """A grayscale image of a pdfium page for recognition, the long side capped.

    A scan is read at its own resolution (kept within 150-300 dpi): scaling a
    200 dpi scan up to 300 costs a quarter more time and read no better in
    bench/ocr.py; anything else is drawn at RENDER_DPI.
    """
    width, height = page.get_size()
    native = _scan_dpi(page)
    dpi = min(max(native, MIN_SCAN_DPI), RENDER_DPI) if native else RENDER_DPI
    scale = dpi / 72
    longest = max(width, height) * scale
    if longest > MAX_SIDE_PIXELS:
        scale *= MAX_SIDE_PIXELS / longest
    return page.render(scale=scale, grayscale=True).to_pil()
