"""Strict search and tutor quality, scored as a student sees it: `make eval`.

A search hit or a citation counts only when the page its link opens holds
the answer: the question's evidence phrase must be in that page's extracted
text. No page ranges, no ±1. Everything goes through the front door: the
documents are processed by the real pipeline, searches are
`GET /api/search/`, tutor questions `POST /api/tutor/conversations/{id}/messages/`,
offline (no AI key).

Question sets (bench/eval_sets/*.json) are checked against the page texts
before anything is measured. Sets written before the strict evaluation
(R-data, mpman-ru) keep their old halves, "tuned" and "held-out". The new
documents' sets are cut in two by position: even questions form the "tune"
half, which ranking changes may be tried on; odd questions form the
"untouched" half, which is only ever reported. A question in another
language than its document is cross-lingual. The anchor row is a naive
baseline on the same questions in the same run: BM25 over 1,000-character
passages of each page's text, no stemming.

Runs in a throwaway database of the configured PostgreSQL (never the app's
data). Documents come from ../shared/corpus and from Debian packages
(bench/eval_docs.py); a missing one is skipped and named.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.eval_docs import DOCUMENTS, document_path
from bench.eval_questions import (
    PageBM25,
    Question,
    Scores,
    first_hit,
    holds,
    load_questions,
    normalise,
    off_topic,
)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The evaluation is the offline product: never a hosted model, and no
    # rate on its questions or searches (hundreds a minute, from one student).
    os.environ["OPENAI_API_KEY"] = ""
    os.environ["DAILY_AI_CALL_LIMIT"] = "0"
    os.environ["TUTOR_OFFLINE_PER_MINUTE"] = "0"
    os.environ["TUTOR_OFFLINE_PER_DAY"] = "0"
    os.environ["SEARCH_PER_MINUTE"] = "0"
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)


def in_throwaway_database(run, *, keep: bool = False):
    """Run `run()` in a database of its own, so the evaluation never touches the app's
    data nor a test database that a concurrent test run is using.

    With `keep` (EVAL_KEEP_DB=1), the database `eval_kept` outlives the run and
    the documents processed in it are reused by the next one: for trying
    ranking changes, which need no reprocessing. Drop it after a change to
    the pipeline (`EVAL_KEEP_DB=fresh`).
    """
    _setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    setup_test_environment()  # the test client's host is allowed
    name = "eval_kept" if keep else f"eval_{os.getpid()}"
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = name
    fresh = os.environ.get("EVAL_KEEP_DB") == "fresh"
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=keep and not fresh)
    try:
        return run()
    finally:
        connection.close()
        if not keep:
            teardown_databases(old_config, verbosity=0)


def keep_database() -> bool:
    return os.environ.get("EVAL_KEEP_DB", "") in ("1", "fresh")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", help="comma-separated keys (default: all)")
    parser.add_argument("--no-tutor", action="store_true", help="search only")
    parser.add_argument(
        "--scan",
        help="comma-separated keys: also process an image-only scan of these documents"
        " (tests/support/pdfs.py scan_pdf) and compare its search with the born-digital copy's",
    )
    parser.add_argument(
        "--legacy",
        help="comma-separated keys of Russian documents: also process a copy set in an old"
        " 8-bit Cyrillic font (tests/support/pdfs.py legacy_copy) and compare it with the original",
    )
    parser.add_argument(
        "--slides",
        help="comma-separated keys: also process a .pptx copy, one slide per page"
        " (tests/support/office_files.py slides_copy), and ask it every question",
    )
    parser.add_argument(
        "--handouts",
        help="comma-separated keys: also process a .docx copy, one section per page"
        " (tests/support/office_files.py handout_copy), and ask it every question",
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    return in_throwaway_database(lambda: _evaluate(args), keep=keep_database())


@dataclass
class Prepared:
    """The documents processed by the real pipeline, and the questions checked against them."""

    owner: object
    materials: dict  # document key -> Material
    page_texts: dict[str, dict[int, str]]  # document key -> page -> normalised text
    baselines: dict[str, PageBM25]
    questions: list[Question]
    copies: dict  # (document key, a COPIES kind) -> Material made from a copy of it


def process_copy(owner, key: str, name: str, content: bytes, kind: str = "pdf"):
    """A material from these bytes, processed by the real pipeline, with its figures printed."""
    from django.core.files.base import ContentFile

    from materials.ingest import material_process
    from materials.models import Material

    kept = Material.objects.filter(owner=owner, title=key, status=Material.Status.READY).first()
    if kept is not None:
        return kept
    Material.objects.filter(owner=owner, title=key).delete()
    material = Material.objects.create(owner=owner, title=key, kind=Material.Kind(kind))
    material.file.save(name, ContentFile(content))
    started = time.perf_counter()
    material_process(material=material)
    material.refresh_from_db()
    print(
        f"{key}: {material.page_count} pages, {material.chunks.count()} passages,"
        f" language {material.language}, processed in {time.perf_counter() - started:.1f}s"
        + (f", read {material.reading}" if any(material.reading.values()) else "")
    )
    return material


def office_copy(owner, key: str, kind: str, pages: list):
    """A .pptx (slide n = page n) or .docx (section n = page n) copy of the document's pages,
    processed by the real pipeline: its `page` numbers are the original's, so gold pages hold."""
    from tests.support.office_files import handout_copy, slides_copy

    by_number = {page.number: page.text for page in pages}
    texts = [by_number.get(number, "") for number in range(1, max(by_number, default=0) + 1)]
    make, suffix = (slides_copy, "pptx") if kind == "slides" else (handout_copy, "docx")
    return process_copy(owner, f"{key} ({kind})", f"{kind}.{suffix}", make(texts), suffix)


def prepare(
    documents: str | None,
    scan: str | None = None,
    legacy: str | None = None,
    office: dict[str, str | None] | None = None,
) -> Prepared | None:
    """Process each document and check every question's page; None when nothing can be read."""
    from django.conf import settings

    from accounts.models import User
    from materials.pipeline.pdf import OcrOptions, clean_pages, extract_pages

    media = Path(tempfile.mkdtemp(prefix="eval-media-"))
    cache = Path(settings.DATA_DIR) / "eval-docs"
    wanted = documents.split(",") if documents else list(DOCUMENTS)
    owner = User.objects.filter(email="eval@example.org").first()
    owner = owner or User.objects.create_user(email="eval@example.org", password="unused-pw-1")
    settings.MEDIA_ROOT = Path(settings.DATA_DIR) / "eval-media" if keep_database() else media
    scanned = set(scan.split(",")) if scan else set()
    legacies = set(legacy.split(",")) if legacy else set()
    offices = {kind: set(keys.split(",")) for kind, keys in (office or {}).items() if keys}
    copies: dict = {}
    materials: dict = {}
    page_texts: dict[str, dict[int, str]] = {}
    baselines: dict[str, PageBM25] = {}
    for key in wanted:
        path, why = document_path(DOCUMENTS[key], cache)
        if path is None:
            print(f"SKIP {key}: {why}")
            continue
        # The reference is the text layer alone: evidence is checked against what the page holds.
        pages = clean_pages(list(extract_pages(path, ocr=OcrOptions(enabled=False))))
        page_texts[key] = {p.number: normalise(p.text) for p in pages}
        baselines[key] = PageBM25({p.number: p.text for p in pages})
        materials[key] = process_copy(owner, key, path.name, path.read_bytes())
        if key in scanned:
            from tests.support.pdfs import scan_pdf

            copy = scan_pdf(path.read_bytes(), dpi=200, seed=3)
            copies[key, "scan"] = process_copy(owner, f"{key} (scan)", "scan.pdf", copy)
        if key in legacies:
            from tests.support.pdfs import legacy_copy

            copy = legacy_copy([p.text for p in pages])
            copies[key, "legacy"] = process_copy(owner, f"{key} (legacy)", "legacy.pdf", copy)
        for kind, keys in offices.items():
            if key in keys:
                copies[key, kind] = office_copy(owner, key, kind, pages)
    questions = [q for q in load_questions() if q.document in materials]
    if not questions:
        print("SKIP: no document of the evaluation could be read")
        return None
    problems = [
        f"{q.document} p.{q.page}: {q.evidence!r} not on the page"
        for q in questions
        if not holds(page_texts[q.document], q.page, q.evidence)
    ]
    if problems:
        print("The question sets do not match the documents:", *problems, sep="\n  ")
        raise SystemExit(1)
    print(f"{len(questions)} questions, each checked against its page's text\n")
    return Prepared(owner, materials, page_texts, baselines, questions, copies)


def _evaluate(args: argparse.Namespace) -> int:
    from rest_framework.test import APIClient

    from materials.models import Chunk

    prepared = prepare(
        args.documents,
        args.scan,
        args.legacy,
        {"slides": args.slides, "handouts": args.handouts},
    )
    if prepared is None:
        return 0
    materials, page_texts, baselines = (
        prepared.materials,
        prepared.page_texts,
        prepared.baselines,
    )
    questions = prepared.questions
    client = APIClient()
    client.force_authenticate(prepared.owner)

    # --- search, through the API ------------------------------------------
    ours: dict[tuple[str, str], Scores] = {}
    naive: dict[tuple[str, str], Scores] = {}
    latencies: list[float] = []
    top_pages: dict = {}
    for question in questions:
        started = time.perf_counter()
        response = client.get(
            "/api/search/",
            {"q": question.text, "material": materials[question.document].pk, "k": 10},
        )
        latencies.append((time.perf_counter() - started) * 1000)
        results = response.json()["results"]
        top_pages[question, materials[question.document].pk] = (
            results[0]["page"] if results else None
        )
        texts = page_texts[question.document]
        row = (question.half, question.group)
        scores = ours.setdefault(row, Scores([], []))
        scores.ranks.append(first_hit([r["page"] for r in results], texts, question.evidence))
        spans = Chunk.objects.filter(pk__in=[r["chunk"] for r in results[:5]])
        scores.lenient.append(
            any(
                holds(texts, page, question.evidence)
                for chunk in spans
                for page in range(chunk.page_start or 0, (chunk.page_end or 0) + 1)
            )
        )
        scores.empty += not results
        base = naive.setdefault(row, Scores([], []))
        base.ranks.append(
            first_hit(baselines[question.document].pages(question.text), texts, question.evidence)
        )
    figures: dict = {"search": [], "tutor": [], "latency_ms": {}}
    print(
        "Search, strict: a hit is a result whose link (its `page`) opens a page holding the"
        " answer.\nGET /api/search/?material=…&k=10; MRR over the top 10. 'range@5': hit@5"
        " if any page of the\npassage's range counted (the old, lenient measure)."
        " Baseline: BM25 over 1,000-character\npassages of each page, same questions."
    )
    print(
        "| half      | questions | n   | hit@1 | hit@5 |  MRR  | range@5 | empty |"
        " baseline hit@1 | hit@5 |  MRR  |"
    )
    print(
        "|-----------|-----------|-----|-------|-------|-------|---------|-------|"
        "----------------|-------|-------|"
    )
    order = ["tune", "untouched", "tuned", "held-out"]
    groups = ["en", "ru", "ru→en", "en→ru"]
    for half in order:
        for group in groups:
            scores = ours.get((half, group))
            if scores is None:
                continue
            base = naive[(half, group)]
            lenient = sum(scores.lenient) / scores.n
            print(
                f"| {half:<9} | {group:<9} | {scores.n:>3} | {scores.hit(1):.3f} |"
                f" {scores.hit(5):.3f} | {scores.mrr:.3f} | {lenient:.3f}   | {scores.empty:>5} |"
                f" {base.hit(1):.3f}          | {base.hit(5):.3f} | {base.mrr:.3f} |"
            )
            figures["search"].append(
                {
                    "half": half,
                    "questions": group,
                    "n": scores.n,
                    "hit1": round(scores.hit(1), 3),
                    "hit5": round(scores.hit(5), 3),
                    "mrr": round(scores.mrr, 3),
                    "range5": round(lenient, 3),
                    "empty": scores.empty,
                    "baseline": {
                        "hit1": round(base.hit(1), 3),
                        "hit5": round(base.hit(5), 3),
                        "mrr": round(base.mrr, 3),
                    },
                }
            )
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    figures["latency_ms"] = {"p50": round(p50, 1), "p95": round(p95, 1), "n": len(latencies)}
    print(f"\nSearch through the API, one material: p50 {p50:.1f} ms, p95 {p95:.1f} ms")

    if prepared.copies:
        _copies(client, prepared, figures)
    if not args.no_tutor:
        _tutor(client, prepared, top_pages, figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    return 0


COPIES = {
    "scan": "Image-only scans (200 dpi, skewed, noisy; read by text recognition)",
    "legacy": "Copies set in an old 8-bit Cyrillic font (text layer repaired from cp1251)",
    "slides": "Slides copies (.pptx, slide n holds page n's text)",
    "handouts": "Handout copies (.docx, section n holds page n's text under a heading)",
}


def russian_share(texts: list[str]) -> float:
    """Share of these texts whose letters are mostly Cyrillic."""

    def russian(text: str) -> bool:
        letters = [char for char in text if char.isalpha()]
        return sum("\u0400" <= char <= "\u04ff" for char in letters) >= 0.5 * max(1, len(letters))

    return sum(map(russian, texts)) / max(1, len(texts))


def _copies(client, prepared: Prepared, figures: dict) -> None:
    """Every question of a copied document, asked of the copy and of the born-digital PDF."""
    from materials.models import Flashcard

    figures["copies"] = []
    by_half: dict[tuple[str, str], Scores] = {}
    for kind, title in COPIES.items():
        keys = [key for key, copy_kind in prepared.copies if copy_kind == kind]
        if not keys:
            continue
        print(f"\n{title}; every question of the document (both halves), strict pages:")
        print(
            "| document | n | original hit@1 | hit@5 | MRR | copy hit@1 | hit@5 | MRR"
            " | hit@5 ratio | cards in Russian, original / copy |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for key in keys:
            copy = prepared.copies[key, kind]
            original = prepared.materials[key]
            texts = prepared.page_texts[key]
            born, read = Scores([], []), Scores([], [])
            for question in (q for q in prepared.questions if q.document == key):
                for material, scores in ((original, born), (copy, read)):
                    results = client.get(
                        "/api/search/", {"q": question.text, "material": material.pk, "k": 10}
                    ).json()["results"]
                    pages = [r["page"] for r in results]
                    scores.ranks.append(first_hit(pages, texts, question.evidence))
                by_half.setdefault((question.half, kind), Scores([], [])).ranks.append(
                    read.ranks[-1]
                )
            ratio = read.hit(5) / born.hit(5) if born.hit(5) else 0.0
            shares = [
                russian_share([f"{c.front} {c.back}" for c in Flashcard.objects.filter(material=m)])
                for m in (original, copy)
            ]
            print(
                f"| {key} | {born.n} | {born.hit(1):.3f} | {born.hit(5):.3f} | {born.mrr:.3f}"
                f" | {read.hit(1):.3f} | {read.hit(5):.3f} | {read.mrr:.3f} | {ratio:.2f}"
                f" | {shares[0]:.0%} / {shares[1]:.0%} |"
            )
            figures["copies"].append(
                {
                    "kind": kind,
                    "document": key,
                    "n": born.n,
                    "original": {"hit1": born.hit(1), "hit5": born.hit(5), "mrr": born.mrr},
                    "copy": {"hit1": read.hit(1), "hit5": read.hit(5), "mrr": read.mrr},
                    "hit5_ratio": ratio,
                    "cards_russian": {"original": shares[0], "copy": shares[1]},
                }
            )
    _copies_by_half(client, prepared, by_half, figures)


def _copies_by_half(client, prepared: Prepared, by_half: dict, figures: dict) -> None:
    """Search on the copies by half, with the documents whose own text layer is a legacy
    encoding counted as legacy too: the rows the tutor's 'scan' and 'legacy' rows match."""
    for key, material in prepared.materials.items():
        if not material.reading.get("repaired"):
            continue
        for question in (q for q in prepared.questions if q.document == key):
            results = client.get(
                "/api/search/", {"q": question.text, "material": material.pk, "k": 10}
            ).json()["results"]
            rank = first_hit(
                [r["page"] for r in results], prepared.page_texts[key], question.evidence
            )
            by_half.setdefault((question.half, "legacy"), Scores([], [])).ranks.append(rank)
    print("\nSearch on the copies by half (and legacy-encoded originals, counted as legacy):")
    print("| half | row | n | hit@1 | hit@5 | MRR |")
    print("|---|---|---|---|---|---|")
    figures["copies_by_half"] = []
    for (half, kind), scores in sorted(by_half.items()):
        print(
            f"| {half} | {kind} | {scores.n} | {scores.hit(1):.3f} | {scores.hit(5):.3f}"
            f" | {scores.mrr:.3f} |"
        )
        figures["copies_by_half"].append(
            {
                "half": half,
                "row": kind,
                "n": scores.n,
                "hit1": scores.hit(1),
                "hit5": scores.hit(5),
                "mrr": scores.mrr,
            }
        )


def _ask(client, material_id: int, text: str) -> dict:
    conversation = client.post(
        "/api/tutor/conversations/", {"material": material_id}, format="json"
    ).json()
    return client.post(
        f"/api/tutor/conversations/{conversation['id']}/messages/",
        {"content": text},
        format="json",
    ).json()


@dataclass
class TutorRow:
    n: int = 0
    cited: int = 0  # a citation's page holds the answer
    uncited: int = 0  # "not found" for an answerable question
    first: int = 0  # the first citation's page holds the answer
    same_page: int = 0  # the first citation opens the page of the search's top hit
    baseline: int = 0  # the naive baseline's first page holds the answer


def _tutor_rows(client, prepared: Prepared, top_pages: dict) -> tuple[dict, list[float]]:
    """Every question asked of its document, and of each copy made of it (COPIES)."""
    rows: dict[tuple[str, str], TutorRow] = {}
    latencies: list[float] = []
    repaired = {
        key for key, material in prepared.materials.items() if material.reading.get("repaired")
    }
    for question in prepared.questions:
        texts = prepared.page_texts[question.document]
        asked = [(prepared.materials[question.document], [question.group])]
        if question.document in repaired:
            asked[0][1].append("legacy")
        for kind in COPIES:
            copy = prepared.copies.get((question.document, kind))
            if copy is not None:
                asked.append((copy, [kind]))
        naive = prepared.baselines[question.document].pages(question.text, k=1)
        for material, groups in asked:
            started = time.perf_counter()
            message = _ask(client, material.pk, question.text)
            latencies.append((time.perf_counter() - started) * 1000)
            citations = message["citations"]
            first = citations[0]["page"] if citations else None
            top = top_pages.get((question, material.pk))
            if top is None:
                results = client.get(
                    "/api/search/", {"q": question.text, "material": material.pk, "k": 1}
                ).json()["results"]
                top = results[0]["page"] if results else None
            for group in groups:
                row = rows.setdefault((question.half, group), TutorRow())
                row.n += 1
                row.cited += any(holds(texts, c["page"], question.evidence) for c in citations)
                row.uncited += not citations
                row.first += holds(texts, first, question.evidence)
                row.same_page += bool(citations) and first == top
                row.baseline += bool(naive) and holds(texts, naive[0], question.evidence)
    return rows, latencies


def _tutor(client, prepared: Prepared, top_pages: dict, figures: dict) -> None:
    print(
        "\nTutor, offline (extractive), POST …/messages/, strict pages: 'cited' = a citation's"
        " page holds the answer;\n'first' = the first citation's does; 'not found' = an"
        " answerable question got no citation;\n'same page' = the first citation opens the"
        " page of the search's top hit; 'baseline' = the naive BM25's\nfirst page holds the"
        " answer. Rows 'scan', 'legacy', 'slides' and 'handouts' ask every question of the\n"
        "image-only scans, legacy-font copies, .pptx and .docx copies, and of documents whose\n"
        "own text layer is a legacy encoding."
    )
    print("| half      | questions | n   | cited  | first  | not found | same page | baseline |")
    print("|-----------|-----------|-----|--------|--------|-----------|-----------|----------|")
    rows, latencies = _tutor_rows(client, prepared, top_pages)
    order = ["en", "ru", "ru→en", "en→ru", *COPIES]
    for (half, group), row in sorted(
        rows.items(),
        key=lambda item: (
            item[0][0] not in ("tune", "untouched"),
            item[0][0],
            order.index(item[0][1]) if item[0][1] in order else 9,
        ),
    ):
        n = row.n
        print(
            f"| {half:<9} | {group:<9} | {n:>3} | {row.cited / n:6.1%} | {row.first / n:6.1%} |"
            f" {row.uncited / n:>9.1%} | {row.same_page / n:>9.1%} | {row.baseline / n:>8.1%} |"
        )
        figures["tutor"].append(
            {
                "half": half,
                "questions": group,
                "n": n,
                "cited": row.cited,
                "first": row.first,
                "uncited": row.uncited,
                "same_page": row.same_page,
                "baseline": row.baseline,
            }
        )
    declined: dict[tuple[str, str], list[int]] = {}
    for material in prepared.materials.values():
        for language, items in off_topic().items():
            for text, half in items:
                started = time.perf_counter()
                answer = _ask(client, material.pk, text)
                latencies.append((time.perf_counter() - started) * 1000)
                counts = declined.setdefault((half, language), [0, 0])
                counts[0] += 1
                counts[1] += not answer["citations"]
    figures["off_topic"] = []
    for (half, language), (asked, refused) in sorted(declined.items()):
        print(f"Off-topic questions declined, {half}, {language}: {refused}/{asked}")
        figures["off_topic"].append(
            {"half": half, "language": language, "asked": asked, "declined": refused}
        )
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    figures["tutor_latency_ms"] = {"p50": round(p50, 1), "p95": round(p95, 1)}
    print(f"Tutor answers through the API, one material: p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
