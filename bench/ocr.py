"""Text recognition of scans: speed, accuracy and memory (`python -m bench.ocr`).

Scans are made from corpus pages (tests/support/pdfs.py `scan_pdf`: rendered at
200 dpi, skewed up to 1.5°, grey noise, no text layer) so the born-digital
text layer of the same pages is the reference:

- accuracy: character error rate of the recognised pages against the text
  layer, both cleaned by the product's own `clean_pages` and compared with
  whitespace collapsed (edit distance / reference length);
- speed: seconds per page through `extract_pages` (the PDF child with
  OCR_THREADS threads, and with one), against the baseline a wrapper of the
  `tesseract` program (pytesseract, ocrmypdf) pays: one `tesseract` run per
  page image, same images, same languages, in the same run;
- a 20-page scan through the whole pipeline (upload checks, extraction,
  recognition, chunking, embeddings, study content): seconds to ready;
- a 300-page scan processed as the worker does, in a fresh process: its peak
  RSS and the PDF child's.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.corpus import CORPUS, ROOT

ENGLISH = CORPUS / "books" / "R-data.pdf"
RUSSIAN = CORPUS / "books" / "mpman-ru.pdf"
PAGES_PER_LANGUAGE = 10
_CODE = set("=;(){}[]<>")
_SENTENCE_END = re.compile(r"[.!?]\s")
# mpman-ru's text layer spells the angle brackets of ⟨expression⟩ as "h…i".
_SPELLED_BRACKETS = re.compile(r"\bh[а-яё][а-яё -]*i\b")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one numpy row per character of `a`."""
    if not a or not b:
        return max(len(a), len(b))
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    index = np.arange(len(b) + 1)
    row = index.copy()
    for i, code in enumerate(np.frombuffer(a.encode("utf-32-le"), dtype=np.uint32), start=1):
        substitute = row[:-1] + (codes_b != code)
        candidate = np.empty_like(row)
        candidate[0] = i
        candidate[1:] = np.minimum(row[1:] + 1, substitute)
        # Insertions: cur[j] = min over k <= j of cur[k] + (j - k).
        row = np.minimum.accumulate(candidate - index) + index
    return int(row[-1])


def flat(text: str) -> str:
    return " ".join(text.split())


def is_prose(text: str) -> bool:
    """Running prose, judged from the text layer alone (see prose_pages)."""
    return (
        len(text) >= 1000
        and len(_SENTENCE_END.findall(text)) >= 8
        and sum(char.isdigit() for char in text) <= 0.05 * len(text)
        and sum(char in _CODE for char in text) <= 30
        and ". . ." not in text
        and text.count(" | ") < 3
        and not _SPELLED_BRACKETS.search(text)
    )


def prose_pages(path: Path, count: int = PAGES_PER_LANGUAGE) -> tuple[list[int], bytes, list[str]]:
    """The first `count` pages of running prose: (numbers, a PDF of them, their text layer).

    The reference must be what the page shows: pages of code, figures,
    indexes, contents and tables (which a text layer and a reading of the
    image spell differently) are left out by a rule fixed before any
    recognition was measured: at least 1,000 characters, at most 30 of
    "=;(){}[]<>", no dot leaders, no table rows ("cell | cell"), no "h…i"
    brackets; and, added after the first run admitted mpman-ru's index and a
    page-wide list of primitives (their text layer reads across columns),
    at least 8 sentence ends and at most 5 % digits. A page is judged twice,
    in the book and alone, because tables are only cut into rows while the
    extractor's table budget lasts.
    """
    candidates = [
        number
        for number, text in enumerate(reference_pages(path.read_bytes()), start=1)
        if is_prose(text)
    ][: 4 * count]
    pdf = pick_pages(path, candidates)
    kept = [
        (number, text)
        for number, text in zip(candidates, reference_pages(pdf), strict=True)
        if is_prose(text)
    ][:count]
    numbers = [number for number, _ in kept]
    final = pick_pages(path, numbers)
    return numbers, final, reference_pages(final)


def pick_pages(path: Path, numbers: list[int]) -> bytes:
    """A PDF of just these pages of `path`, for scanning."""
    import pypdfium2 as pdfium

    source = pdfium.PdfDocument(path)
    target = pdfium.PdfDocument.new()
    target.import_pages(source, [n - 1 for n in numbers])
    out = io.BytesIO()
    target.save(out)
    return out.getvalue()


def reference_pages(pdf: bytes) -> list[str]:
    from materials.pipeline.pdf import OcrOptions, clean_pages, extract_pages

    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        pages = list(extract_pages(Path(handle.name), ocr=OcrOptions(enabled=False)))
    return [page.text for page in clean_pages(pages)]


def ours(scan: bytes, threads: int) -> tuple[float, list[str]]:
    """(seconds per page, cleaned page texts) through the PDF child."""
    from materials.pipeline.pdf import OcrOptions, clean_pages, extract_pages

    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(scan)
        handle.flush()
        started = time.perf_counter()
        pages = list(extract_pages(Path(handle.name), timeout=600, ocr=OcrOptions(threads=threads)))
        seconds = time.perf_counter() - started
    assert all(page.method in ("ocr", "none") for page in pages), "the scan has a text layer"
    pages.sort(key=lambda page: page.number)
    return seconds / len(pages), [page.text for page in clean_pages(pages)]


def baseline(scan: bytes, languages: str) -> tuple[float, list[str]] | None:
    """(seconds per page, cleaned texts) with one `tesseract` run per page image."""
    import pypdfium2 as pdfium

    from materials.pipeline.ocr import render
    from materials.pipeline.pdf import PageText, clean_pages

    program = shutil.which("tesseract")
    if program is None:
        return None
    document = pdfium.PdfDocument(scan)
    texts = []
    seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(len(document)):
            image = Path(tmp) / f"{index}.png"
            render(document[index]).save(image)
            started = time.perf_counter()
            result = subprocess.run(
                [program, str(image), "-", "-l", languages, "--psm", "1"],
                capture_output=True,
                text=True,
                check=True,
                # One thread, as Tesseract's authors advise for page-parallel
                # work: its OpenMP threads only slowed it on two busy cores.
                env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            )
            seconds += time.perf_counter() - started
            texts.append(PageText(number=index + 1, text=result.stdout))
    return seconds / len(texts), [page.text for page in clean_pages(texts)]


def error_rate(reference: list[str], read: list[str]) -> float:
    errors = sum(edit_distance(flat(a), flat(b)) for a, b in zip(reference, read, strict=True))
    return errors / max(1, sum(len(flat(a)) for a in reference))


def measure_language(name: str, path: Path, languages: str) -> dict:
    from tests.support.pdfs import scan_pdf

    numbers, pdf, reference = prose_pages(path)
    scan = scan_pdf(pdf, dpi=200, seed=1)
    threads = int(os.environ.get("OCR_THREADS") or min(os.cpu_count() or 1, 4))
    per_page, read = ours(scan, threads)
    per_page_one, _ = ours(scan, 1)
    result = {
        "pages": len(numbers),
        "source_pages": numbers,
        "threads": threads,
        "seconds_per_page": per_page,
        "seconds_per_page_one_thread": per_page_one,
        "cer": error_rate(reference, read),
    }
    measured = baseline(scan, languages)
    if measured is not None:
        result["baseline_seconds_per_page"], base_read = measured
        result["baseline_cer"] = error_rate(reference, base_read)
        result["speedup"] = result["baseline_seconds_per_page"] / per_page
    print(
        f"{name}: {per_page:.2f} s/page with {threads} threads ({per_page_one:.2f} with one),"
        f" CER {result['cer']:.2%}"
        + (
            f"; tesseract program per page {result['baseline_seconds_per_page']:.2f} s/page,"
            f" CER {result['baseline_cer']:.2%}"
            if measured
            else "; tesseract program not installed, no baseline"
        )
    )
    return result


def scan_of(path: Path, pages: int) -> bytes:
    """A `pages`-page scan cycling through the pages of `path` (images made once)."""
    import pypdfium2 as pdfium
    from PIL import Image

    from tests.support.pdfs import scan_pdf

    one = scan_pdf(path.read_bytes(), dpi=200, seed=2)
    document = pdfium.PdfDocument(one)
    images: list[Image.Image] = []
    for index in range(len(document)):
        page = document[index]
        [picture] = list(page.get_objects())[:1]
        bitmap = picture.get_bitmap()
        images.append(bitmap.to_pil().copy())
        bitmap.close()
        page.close()
    document.close()
    cycle = [images[index % len(images)] for index in range(pages)]
    out = io.BytesIO()
    cycle[0].save(out, "PDF", save_all=True, append_images=cycle[1:], resolution=200)
    return out.getvalue()


def russian_prose() -> tuple[Path, str]:
    """Russian running prose: the Debian New Maintainers' Guide (bench/eval_docs.py)
    when it can be fetched; else the corpus's mpman-ru, mostly MetaPost code and
    figures, where only 5 pages pass the prose rule."""
    import django
    from django.conf import settings

    from bench.eval_docs import DOCUMENTS, document_path

    django.setup()
    path, _ = document_path(DOCUMENTS["maint-guide.ru"], Path(settings.DATA_DIR) / "eval-docs")
    return (path, "maint-guide.ru") if path else (RUSSIAN, "mpman-ru")


def rss_child(path: str) -> None:
    """Process a scan as the worker does; print this process's and the PDF child's peak RSS."""
    from bench.pipeline import run_ours, setup_django

    setup_django()
    from eduplatform.embeddings import get_embedder

    get_embedder()  # the worker preloads its model too
    result = run_ours(Path(path))
    print(
        json.dumps(
            {
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "child_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                **result,
            }
        )
    )


def in_fresh_process(scan: bytes) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(scan)
        handle.flush()
        child = subprocess.run(
            [sys.executable, "-m", "bench.ocr", "--rss-child", handle.name],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
            # A noisy 300-page scan is bigger than a student's upload limit;
            # memory, not the limit, is measured here.
            env={**os.environ, "MAX_UPLOAD_MB": "2000"},
        )
    if child.returncode:
        raise SystemExit(f"processing the scan failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big-pages", type=int, default=300)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--rss-child")
    parser.add_argument("--json", type=Path, help="also write the results here (python -m bench)")
    args = parser.parse_args(argv)
    # Here, not at import: the tests import this module, and its servers run without DEBUG.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.rss_child:
        rss_child(args.rss_child)
        return 0
    if not ENGLISH.exists() or not RUSSIAN.exists():
        print("SKIP: the corpus books are absent (../shared/corpus)")
        return 0
    russian, name = russian_prose()
    results: dict = {
        "en": measure_language("English scan (R-data)", ENGLISH, "eng"),
        "ru": measure_language(f"Russian scan ({name})", russian, "rus+eng"),
    }
    twenty = in_fresh_process(scan_of(ENGLISH, 20))
    results["twenty_pages"] = twenty
    print(f"20-page scan, upload to ready: {twenty['total']:.1f} s ({twenty})")
    if not args.skip_big:
        big = in_fresh_process(scan_of(ENGLISH, args.big_pages))
        results["big"] = {"pages": args.big_pages, **big}
        print(
            f"{args.big_pages}-page scan: worker peak RSS {big['peak_rss_mb']:.0f} MiB,"
            f" PDF child {big['child_peak_rss_mb']:.0f} MiB, {big['total']:.0f} s to ready"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
