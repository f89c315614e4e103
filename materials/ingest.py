"""The worker's path for one material: extract → chunk → store text → vectors → generate.

Every stage reports its progress on the row. The text is stored first, in
one transaction that replaces the material's chunks (so a retry or a re-run
never duplicates): from then on the material is searchable by full text,
and its vectors fill in behind, batch by batch.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from eduplatform.embeddings import current_model_name
from materials.errors import ProcessingError
from materials.index.vectors import INSERT_BATCH, index_meaning
from materials.models import Chunk, Material
from materials.pipeline.chunking import PassageDraft, Segment, split_passages
from materials.progress import material_lock_attempt, material_set_progress
from materials.study.generation import study_generate
from materials.text.language import detect_language
from materials.text.sentences import sentence_index

if TYPE_CHECKING:
    from materials.pipeline.pdf import OcrOptions

logger = logging.getLogger(__name__)

Stage = Material.Stage


@dataclass
class Timings:
    """Seconds spent per stage, kept for benchmarks and logs."""

    stages: dict[str, float] = field(default_factory=dict)
    began: float = field(default_factory=time.perf_counter)
    searchable: float = 0.0  # seconds from the start until full-text search finds it

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def add(self, name: str, started: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - started


@dataclass
class Extracted:
    segments: list[Segment]
    page_count: int | None = None
    duration_seconds: int | None = None
    title: str = ""


def ocr_options() -> OcrOptions:
    from materials.pipeline.pdf import OcrOptions

    return OcrOptions(
        enabled=settings.OCR_ENABLED,
        threads=settings.OCR_THREADS,
        tessdata=settings.OCR_TESSDATA,
        seconds_per_page=settings.OCR_SECONDS_PER_PAGE,
    )


def _pages_read(pages: list) -> Extracted:
    """The segments of the pages read so far, in page order, running heads removed."""
    from materials.pipeline.pdf import clean_pages

    pages = clean_pages(sorted(pages, key=lambda page: page.number))
    return Extracted(
        segments=[Segment(text=p.text, page=p.number) for p in pages if p.text.strip()],
        page_count=len(pages),
    )


def extract_pdf(
    material: Material,
    *,
    on_partial: Callable[[Extracted], None] | None = None,
    partial_every: int = 10,
) -> Extracted:
    """Every page's text: the text layer, repaired where it can be, recognised where not.

    Recognition takes about a second a page, so while it runs `on_partial`
    gets the pages read so far after every `partial_every` recognised pages
    (never after the last): a scan becomes searchable as it is read.
    """
    from materials.pipeline.pdf import extract_pages

    if not material.file or not Path(material.file.path).exists():
        raise ProcessingError("pdf_missing")
    pages = []
    total = material.page_count or 0
    reading = {"ocr_total": 0, "ocr_done": 0}

    def recognising(count: int) -> None:
        reading["ocr_total"] = count
        material_set_progress(
            material=material, stage=Stage.RECOGNISING, progress=10, reading=reading
        )

    for page in extract_pages(
        Path(material.file.path),
        timeout=settings.PDF_PARSE_TIMEOUT,
        memory_limit_mb=settings.PDF_PARSE_MEMORY_MB,
        ocr=ocr_options(),
        on_recognising=recognising,
    ):
        pages.append(page)
        if page.method in ("ocr", "none"):
            reading["ocr_done"] += 1
            share = reading["ocr_done"] / max(1, reading["ocr_total"])
            material_set_progress(
                material=material,
                stage=Stage.RECOGNISING,
                progress=10 + int(20 * share),
                reading=reading,
            )
            done, remaining = reading["ocr_done"], reading["ocr_total"] - reading["ocr_done"]
            if on_partial is not None and remaining > 0 and done % partial_every == 0:
                on_partial(_pages_read(pages))
        elif total and len(pages) % 25 == 0:
            material_set_progress(
                material=material, stage=Stage.EXTRACTING, progress=2 + 8 * len(pages) // total
            )
    if not pages:
        raise ProcessingError("pdf_empty")
    pages.sort(key=lambda page: page.number)
    methods = Counter(page.method for page in pages)
    report = {"ocr": methods["ocr"], "repaired": methods["repaired"], "unreadable": methods["none"]}
    Material.objects.filter(pk=material.pk, attempts=material.attempts).update(reading=report)
    if not any(page.text.strip() for page in pages):
        raise ProcessingError("ocr_unavailable" if methods["unavailable"] else "pdf_no_text")
    return _pages_read(pages)


def extract_youtube(material: Material) -> Extracted:
    from materials.pipeline.youtube import fetch_transcript, parse_subtitles

    if material.subtitle_file:
        with material.subtitle_file.open("rb") as handle:
            rows = parse_subtitles(handle.read(), material.subtitle_file.name or "")
        title = ""
        duration = int(rows[-1][1]) if rows else None
    else:
        transcript = fetch_transcript(material.video_id)
        rows, title, duration = (
            transcript.segments,
            transcript.title,
            transcript.duration_seconds,
        )
    return Extracted(
        segments=[Segment(text=text, start=start, end=end) for start, end, text in rows],
        duration_seconds=duration,
        title=title,
    )


def extract_material(
    material: Material, *, on_partial: Callable[[Extracted], None] | None = None
) -> Extracted:
    """The extractor for the material's kind; every kind shares the pipeline after it.

    `on_partial` gets the text read so far while a scan is being recognised.
    """
    if material.kind == Material.Kind.YOUTUBE:
        return extract_youtube(material)
    if material.kind in (Material.Kind.PPTX, Material.Kind.DOCX):
        from materials.pipeline.office import extract_office

        if not material.file:
            raise ProcessingError("pdf_missing")
        office = extract_office(Path(material.file.path), material.kind)
        return Extracted(segments=office.segments, page_count=office.page_count)
    return extract_pdf(material, on_partial=on_partial, partial_every=settings.OCR_SEARCHABLE_EVERY)


def chunk_rows(material: Material, passages: list[PassageDraft]) -> list[Chunk]:
    """Unsaved chunks of the passages, in the material's language, without vectors."""
    language = material.language or "simple"
    return [
        Chunk(
            material=material,
            owner_id=material.owner_id,
            position=p.position,
            text=p.text,
            page_start=p.page_start,
            page_end=p.page_end,
            start_seconds=p.start_seconds,
            end_seconds=p.end_seconds,
            language=language,
            anchors=[list(anchor) for anchor in p.anchors],
        )
        for p in passages
    ]


def store_text(
    material: Material, passages: list[PassageDraft], extracted: Extracted
) -> list[Chunk]:
    """Replace the material's chunks with its passages, vectors to come: searchable at once.

    Full text needs nothing but the stored text (the tsvector is a generated
    column), so search and the tutor answer from here on; the ranking uses
    whatever vectors exist, and chunks without one are left to full text.
    Each passage's sentences and their lexemes are stored with it, so no
    search cuts and stems them again (stored in the same insert: a later
    update would write every row, and all its indexes, once more).
    """
    rows = chunk_rows(material, passages)
    updates = {
        "language": material.language,
        "embedding_model": current_model_name(),
        "page_count": extracted.page_count or material.page_count,
        "duration_seconds": extracted.duration_seconds or material.duration_seconds,
        "searchable_at": timezone.now(),
    }
    if extracted.title and material.title == f"YouTube {material.video_id}":
        updates["title"] = extracted.title[:300]
    for start in range(0, len(rows), INSERT_BATCH):
        batch = rows[start : start + INSERT_BATCH]
        for chunk, found in zip(batch, sentence_index(batch), strict=True):
            chunk.sentences = found
    with transaction.atomic():
        material_lock_attempt(material=material)
        material.chunks.all().delete()
        Chunk.objects.bulk_create(rows, batch_size=INSERT_BATCH)
        Material.objects.filter(pk=material.pk).update(**updates)
    return rows


def _passages(material: Material, extracted: Extracted) -> list[PassageDraft]:
    """The passages of the text, in its language (which it sets on the material)."""
    sample = " ".join(s.text for s in extracted.segments[:40])[:20000]
    material.language = detect_language(sample)
    return split_passages(extracted.segments, language=material.language)


def material_process(*, material: Material) -> Timings:
    """Turn a material into searchable chunks (and study content), reporting progress.

    Text first, so the material is searchable within seconds; then its
    vectors, with the study content (which reads them) written on this thread
    while the multilingual ones are encoded.
    """
    timings = Timings()
    material_set_progress(material=material, stage=Stage.EXTRACTING, progress=2)

    def searchable_so_far(partial: Extracted) -> None:
        # Replaced by the whole text at the end; only searched meanwhile.
        if passages := _passages(material, partial):
            store_text(material, passages, partial)
            timings.searchable = timings.searchable or timings.elapsed()

    started = time.perf_counter()
    extracted = extract_material(material, on_partial=searchable_so_far)
    timings.add("extract", started)

    started = time.perf_counter()
    passages = _passages(material, extracted)
    if not passages:
        raise ProcessingError("no_text")
    timings.add("chunk", started)

    started = time.perf_counter()
    chunks = store_text(material, passages, extracted)
    timings.add("store_text", started)
    timings.searchable = timings.searchable or timings.elapsed()
    material_set_progress(material=material, stage=Stage.EMBEDDING, progress=32)

    started = time.perf_counter()
    generated = False

    def study_meanwhile() -> None:
        # While the multilingual parts are encoded on the other threads: the
        # study content reads the embedder's vectors only, so it need not wait.
        nonlocal generated
        if all(chunk.embedding is not None for chunk in chunks):
            material_set_progress(material=material, stage=Stage.GENERATING, progress=90)
            study_generate(material=material)
            generated = True

    index_meaning(
        material,
        chunks,
        on_progress=lambda share: material_set_progress(
            material=material, stage=Stage.EMBEDDING, progress=32 + int(56 * share)
        ),
        meanwhile=study_meanwhile,
    )
    timings.add("vectors_and_study", started)
    if not generated:
        # Russian offline: the study content reads the multilingual vectors.
        material_set_progress(material=material, stage=Stage.GENERATING, progress=90)
        started = time.perf_counter()
        study_generate(material=material)
        timings.add("generate", started)

    Material.objects.filter(pk=material.pk, attempts=material.attempts).exclude(
        status=Material.Status.FAILED
    ).update(
        status=Material.Status.READY,
        stage=Stage.READY,
        progress=100,
        processed_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    logger.info(
        "material %s ready: %d chunks, searchable after %.2f s, %s",
        material.pk,
        len(chunks),
        timings.searchable,
        timings.stages,
    )
    return timings
