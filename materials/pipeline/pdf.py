"""PDF text extraction in a child process, and cleaning of the extracted pages.

Parsing runs in `materials.pipeline.pdf_child`, a separate process with an
address-space limit and a deadline: pdfium is C++ and a crafted or damaged file
can loop, exhaust memory or crash. The worker only ever sees a ProcessingError.
`Child` runs the slides and handouts reader (`office_child`) the same way.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import resource
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from materials.errors import ERROR_MESSAGES, ProcessingError

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_CHILD_MODULE = "materials.pipeline.pdf_child"
_READ_SIZE = 1 << 16
# Words that signal an allocation failure in whatever the child printed last.
_MEMORY_HINTS = (
    b"MemoryError",
    b"bad_alloc",
    b"Cannot allocate memory",
    b"out of memory",
    b"Out of memory",
    b"failed to map segment",
)


@dataclass(frozen=True)
class PageText:
    """The text of one physical page, and how it was read."""

    number: int  # physical page, counted from 1
    text: str
    # "text" (the PDF's text layer), "repaired" (decoded from a legacy
    # Cyrillic code page), "ocr" (recognised from the image), "none" (no text
    # even after recognition) or "unavailable" (recognition not installed).
    method: str = "text"


# --- the child process ------------------------------------------------------


def resource_limiter(limit_mb: int, *, cpu_seconds: float | None = None) -> Callable[[], None]:
    """A preexec_fn capping a child's address space and, if given, its CPU time.

    The limits are computed before fork: the function that runs in the child
    only sets them. A child never writes a core file: one killed at its limit
    would otherwise leave hundreds of megabytes in the project folder.
    """
    limit = max(1, int(limit_mb)) * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    cpu: tuple[int, int] | None = None
    if cpu_seconds is not None:
        # SIGXCPU at the soft limit ends a child that keeps Python's default
        # handler; the hard limit, a second later, is SIGKILL for one that does not.
        soft = max(1, math.ceil(cpu_seconds))
        _, ceiling = resource.getrlimit(resource.RLIMIT_CPU)
        hard = soft + 1 if ceiling == resource.RLIM_INFINITY else min(soft + 1, ceiling)
        cpu = (min(soft, hard), hard)

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if cpu is not None:
            resource.setrlimit(resource.RLIMIT_CPU, cpu)

    return apply


@dataclass(frozen=True)
class ChildErrors:
    """The codes a child's failures are stored as: out of time, out of memory, anything else."""

    timeout: str = "pdf_timeout"
    memory: str = "pdf_too_complex"
    broken: str = "pdf_broken"


PDF_ERRORS = ChildErrors()


class Child:
    """One run of a reader module (pdf_child by default) under an address-space
    limit, and a CPU-time limit when given; always killed and reaped on exit,
    however it ends. `messages()` adds the deadline."""

    def __init__(
        self,
        path: Path,
        extra: list[str],
        memory_limit_mb: int,
        *,
        module: str = _CHILD_MODULE,
        cpu_seconds: float | None = None,
        errors: ChildErrors = PDF_ERRORS,
    ) -> None:
        self.errors = errors
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        try:
            # Fixed argv, no shell: the path is only ever an argument.
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", module, os.path.abspath(path), *extra],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                # A file, not a pipe: a chatty child must never block on stderr.
                stderr=self._stderr,
                cwd=_PROJECT_ROOT,
                preexec_fn=resource_limiter(memory_limit_mb, cpu_seconds=cpu_seconds),
                close_fds=True,
            )
        except BaseException:
            self._stderr.close()
            raise
        self.clean_exit = False
        # Seconds the parent will wait for the child in all; recognition adds to it.
        self.timeout = 0.0

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process = self.process
        try:
            if process.poll() is None and self.clean_exit:
                try:
                    process.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    pass
            if process.poll() is None:
                process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()
            self._stderr.close()

    def messages(self, timeout: float) -> Iterator[dict[str, Any]]:
        """JSON lines from the child, as they arrive.

        The deadline counts only the time spent waiting for the child, so a
        slow consumer between pages (embedding, saving) cannot cause a timeout
        while the child sits blocked on a full pipe. A consumer may raise
        `self.timeout` while reading (recognition announces its page count).
        """
        self.timeout = timeout
        stdout = self.process.stdout
        assert stdout is not None
        descriptor = stdout.fileno()
        os.set_blocking(descriptor, False)
        waited = 0.0
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(descriptor, selectors.EVENT_READ)
            while True:
                remaining = self.timeout - waited
                if remaining <= 0:
                    raise ProcessingError(
                        self.errors.timeout, detail=f"no result within {self.timeout:g}s"
                    )
                started = time.monotonic()
                ready = selector.select(remaining)
                waited += time.monotonic() - started
                if not ready:
                    continue
                try:
                    chunk = os.read(descriptor, _READ_SIZE)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    message = _decode(line)
                    if message is not None:
                        yield message
        message = _decode(buffer)
        if message is not None:
            yield message
        try:
            self.process.wait(timeout=max(self.timeout - waited, 0.5))
        except subprocess.TimeoutExpired:
            raise ProcessingError(self.errors.timeout, detail="child did not exit") from None

    def error(self, message: dict[str, Any]) -> ProcessingError:
        code = str(message.get("error"))
        if code not in ERROR_MESSAGES:
            return ProcessingError(self.errors.broken, detail=f"child reported {code!r}")
        return ProcessingError(code, detail=str(message.get("detail") or "")[:500])

    def crash(self) -> ProcessingError:
        """The error for a child that ended without a final message."""
        self.process.poll()
        returncode = self.process.returncode
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 4000))
        tail = self._stderr.read()
        detail = f"exit {returncode}: {tail.decode('utf-8', 'replace')[-500:]}"
        # Under the address-space limit pdfium's failed allocations abort
        # (SIGABRT, nothing printed); SIGKILL is how the kernel's OOM killer
        # ends a process. SIGXCPU is the CPU-time limit. A segfault is a
        # damaged file.
        if returncode == -signal.SIGXCPU:
            return ProcessingError(self.errors.timeout, detail=detail)
        memory_signals = (-signal.SIGABRT, -signal.SIGKILL)
        if any(hint in tail for hint in _MEMORY_HINTS) or returncode in memory_signals:
            return ProcessingError(self.errors.memory, detail=detail)
        return ProcessingError(self.errors.broken, detail=detail)


def _decode(line: bytes) -> dict[str, Any] | None:
    line = line.strip()
    if not line:
        return None
    try:
        message = json.loads(line)
    except ValueError:
        # A line cut short by a crash; the missing final message reports it.
        return None
    return message if isinstance(message, dict) else None


@dataclass(frozen=True)
class OcrOptions:
    """How the child recognises pages that have no usable text layer."""

    enabled: bool = True
    threads: int = 2
    tessdata: str = ""  # empty: TESSDATA_PREFIX or the distribution's folder
    seconds_per_page: float = 20.0  # added to the deadline per page to recognise


def extract_pages(
    path: Path,
    *,
    timeout: float = 120.0,
    memory_limit_mb: int = 1024,
    ocr: OcrOptions | None = None,
    on_recognising: Callable[[int], None] | None = None,
) -> Iterator[PageText]:
    """Yield each page's text as the child reads it, each page exactly once.

    Pages with a usable text layer come first, in order; pages read from
    their image follow as they finish, after `on_recognising(count)` is
    called once with how many there will be. Lazy: nothing starts until the
    first page is asked for, and the child is killed and reaped as soon as
    the consumer stops (close() or garbage).
    Raises ProcessingError: pdf_missing, pdf_encrypted, pdf_broken, pdf_empty,
    pdf_timeout or pdf_too_complex.
    """
    path = Path(path)
    if not path.is_file():
        raise ProcessingError("pdf_missing")
    ocr = ocr or OcrOptions()
    # Table rendering is a nicety: it may use a quarter of the time, never all.
    extra = ["--table-seconds", f"{min(timeout / 4, 30.0):.3f}"]
    extra += ["--ocr-threads", str(max(1, ocr.threads))]
    if ocr.tessdata:
        extra += ["--tessdata", ocr.tessdata]
    if not ocr.enabled:
        extra.append("--no-ocr")
    with Child(path, extra, memory_limit_mb) as child:
        for message in child.messages(timeout):
            if "page" in message:
                yield PageText(
                    number=int(message["page"]),
                    text=str(message.get("text") or ""),
                    method=str(message.get("method") or "text"),
                )
            elif "ocr_total" in message:
                count = int(message["ocr_total"])
                child.timeout += count * ocr.seconds_per_page
                if on_recognising is not None:
                    on_recognising(count)
            elif "error" in message:
                raise child.error(message)
            elif "done" in message:
                child.clean_exit = True
                return
        raise child.crash()


def pdf_page_count(path: Path, *, timeout: float = 20.0, memory_limit_mb: int = 1024) -> int:
    """Count pages without reading them, for upload validation.

    Raises the same ProcessingErrors as extract_pages; a PDF without pages is
    pdf_empty rather than 0, because no caller can use one.
    """
    path = Path(path)
    if not path.is_file():
        raise ProcessingError("pdf_missing")
    with Child(path, ["--count"], memory_limit_mb) as child:
        for message in child.messages(timeout):
            if "error" in message:
                raise child.error(message)
            if "pages" in message:
                child.clean_exit = True
                pages = int(message["pages"])
                if pages <= 0:
                    raise ProcessingError("pdf_empty")
                return pages
        raise child.crash()


# --- cleaning ---------------------------------------------------------------

_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
# pdfium marks a hyphen it removed at a line end with U+FFFE; a soft hyphen,
# U+2010 or U+2011 before a break means the same, and so does U+007F after a
# letter: TeX's Cyrillic (T2A) fonts draw the hyphen they break lines with at
# code 127, which a font without a Unicode map (a legacy Cyrillic book) passes
# on as DEL. All become "-\n", also at the end of a page, and are judged like
# any other hyphen at a line end (T2A breaks "по-разному" with it too).
_BREAK_HYPHEN = re.compile(
    r"\ufffe[ \t]*\n?|(?:[\xad\u2010\u2011]|(?<=[^\W\d_])\x7f)[ \t]*(?:\n|\Z)"
)
# Elsewhere U+2010 and U+2011 are a compound's hyphen, which the vocabulary
# must see as "-": "read‐only" on one page keeps "read-\nonly" whole on another.
_HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-"})
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u200b\u200e\u200f\u2060\ufeff\ufffe\uffff"
    "\ue000-\uf8ff\U000f0000-\U0010ffff]"
)
_SPACES = re.compile("[ \t\xa0\u2000-\u200a\u202f\u205f\u3000]+")
_DIGITS = re.compile(r"\d+")
_EDGE_NUMBER = re.compile(r"^(\d{1,4})\b|\b(\d{1,4})$")
_PAGE_NUMBER = re.compile(
    r"^[-–—]?\s*(?:(?:page|p\.|pp\.|стр\.?|страница|seite|s\.)\s*)?\d{1,4}"
    r"(?:\s*(?:/|of|из|von)\s*\d{1,4})?\s*[-–—]?$|^[ivxlcdm]{1,7}$",
    re.IGNORECASE,
)
# A word is tried from its first letter only: from each of its letters, a long
# word without the hyphen would be read again to its end.
_HYPHENATED = re.compile(r"\b\w+(?:-\w+)+")
_WORD = re.compile(r"\w+")
_LINE_END_HYPHEN = re.compile(r"\b(\w+)-$")
# How far back from a paragraph's end a word broken by a hyphen is looked for:
# searched from the start, each of a paragraph's thousand lines would read the
# whole paragraph again.
_WORD_REACH = 200
_EDGE_LINES = 2


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_LIGATURES)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _BREAK_HYPHEN.sub("-\n", text).translate(_HYPHENS)
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text)


def _edge_indices(lines: list[str]) -> list[int]:
    filled = [index for index, line in enumerate(lines) if line]
    return sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))


def _key(line: str) -> str:
    return _DIGITS.sub("#", line.lower())


def _numbered_key(line: str, page_number: int) -> tuple[str, int] | None:
    """(key, physical page - printed number) for a line that starts or ends with a number."""
    match = _EDGE_NUMBER.search(line)
    if not match or len(line) < 4:
        return None
    printed = int(match.group(1) or match.group(2))
    return _key(line), page_number - printed


def _running_lines(pages: list[tuple[int, list[str]]]) -> Callable[[str, int], bool]:
    """A test for header/footer lines, learned from the whole document.

    A line repeated (digits ignored) at the top or bottom of at least half the
    pages is furniture; so is a chapter header carrying the page number when
    its printed number keeps a fixed offset to the physical page on 3+ pages.
    """
    if len(pages) < 4:
        return lambda line, number: bool(_PAGE_NUMBER.match(line))
    keys: Counter[str] = Counter()
    numbered: Counter[tuple[str, int]] = Counter()
    for number, lines in pages:
        edges = [lines[index] for index in _edge_indices(lines)]
        keys.update({_key(line) for line in edges})
        numbered.update({key for line in edges if (key := _numbered_key(line, number))})
    threshold = max(2, (len(pages) + 1) // 2)
    repeated = {key for key, count in keys.items() if count >= threshold}
    running = {key for key, count in numbered.items() if count >= 3}

    def is_running(line: str, number: int) -> bool:
        return (
            bool(_PAGE_NUMBER.match(line))
            or _key(line) in repeated
            or _numbered_key(line, number) in running
        )

    return is_running


def _join_lines(lines: list[str], hyphenated: set[str], words: set[str]) -> str:
    """One paragraph from its wrapped lines, undoing hyphenation at line ends."""
    text = lines[0]
    for line in lines[1:]:
        match = _end_hyphen(text)
        if match is None:
            # A URL wrapped after a slash continues without a space.
            last_token = text[text.rfind(" ") + 1 :]
            glue = "" if text.endswith("/") and "://" in last_token else " "
            text = f"{text}{glue}{line}"
            continue
        if not _breaks_word(text, line):
            # "3-dimensional", "Schwarz-Weiß", "x-" before a symbol: a real hyphen.
            text += line
            continue
        left = match.group(1)
        right = _WORD.match(line)
        assert right is not None  # the line starts with a lower-case letter
        compound = f"{left}-{right.group(0)}".lower()
        joined = f"{left}{right.group(0)}".lower()
        # Keep "well-known" when the document writes it so elsewhere and
        # never writes "wellknown"; otherwise it was typographic hyphenation.
        if compound in hyphenated and joined not in words:
            text += line
        else:
            text = text[:-1] + line
    return text


def _end_hyphen(text: str) -> re.Match[str] | None:
    """The word before a hyphen that ends the text."""
    return _LINE_END_HYPHEN.search(text, max(0, len(text) - _WORD_REACH))


def _breaks_word(line: str, next_line: str) -> bool:
    """The line ends in a word broken by a hyphen, and the next line goes on with it."""
    match = _end_hyphen(line)
    return match is not None and match.group(1)[-1].isalpha() and next_line[:1].islower()


def _paragraph_lines(lines: list[str]) -> list[list[str]]:
    """The lines of each paragraph; blank lines separate paragraphs.

    A paragraph never ends in a broken word: where one seems to (the PDF's
    layout or recognition took a hanging indent for a new paragraph), the
    next one goes on with it.
    """
    groups: list[list[str]] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line:
            current.append(line)
        elif current:
            if groups and _breaks_word(groups[-1][-1], current[0]):
                groups[-1] += current
            else:
                groups.append(current)
            current = []
    return groups


def _carry_back(last_paragraph: list[str], following_page: list[list[str]]) -> None:
    """Move the end of a word broken at the foot of a page back to where it begins.

    The word is then whole, on the page a reader finds it on; the running
    head between the two halves is gone by now.
    """
    first_paragraph = following_page[0]
    if not _breaks_word(last_paragraph[-1], first_paragraph[0]):
        return
    end, _, rest = first_paragraph[0].partition(" ")
    last_paragraph.append(end)
    if rest:
        first_paragraph[0] = rest
    elif len(first_paragraph) > 1:
        del first_paragraph[0]
    else:
        del following_page[0]


def clean_pages(pages: list[PageText]) -> list[PageText]:
    """Readable page text: paragraphs separated by a blank line, no furniture.

    Removes repeated headers/footers and page numbers, undoes hyphenation at
    line ends (a word broken at the foot of a page is made whole on that
    page), joins wrapped lines, strips control characters and soft hyphens,
    collapses spaces and NFC-normalises. Page numbers are kept so passages
    stay anchored to the physical page.
    """
    split = []
    for page in pages:
        text = _normalise(page.text)
        split.append((page.number, [line.strip() for line in text.split("\n")]))

    vocabulary_text = "\n".join("\n".join(lines) for _, lines in split).lower()
    hyphenated = set(_HYPHENATED.findall(vocabulary_text))
    words = set(_WORD.findall(vocabulary_text))
    is_running = _running_lines(split)

    grouped = []
    for number, lines in split:
        lines = list(lines)
        for index in _edge_indices(lines):
            if is_running(lines[index], number):
                lines[index] = ""
        grouped.append((number, _paragraph_lines(lines)))
    for (number, groups), (following, following_groups) in itertools.pairwise(grouped):
        if following == number + 1 and groups and following_groups:
            _carry_back(groups[-1], following_groups)

    cleaned = []
    for number, groups in grouped:
        paragraphs = [" ".join(_join_lines(group, hyphenated, words).split()) for group in groups]
        cleaned.append(PageText(number=number, text="\n\n".join(filter(None, paragraphs))))
    return cleaned
