"""The study-content stage: pick a generator, check its items, store them (store.py).

A failure here never fails the material: search and the tutor work without
study content, so the material ends `ready` and its study set says what went
wrong, with a retry that runs this stage alone.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eduplatform import quota
from eduplatform.ai import AIUnavailable
from eduplatform.queue import enqueue_run_on_commit, job_alive
from materials.errors import AlreadyRunning, ProcessingError, Superseded
from materials.models import Chunk, Material, StudySet
from materials.progress import material_heartbeat
from materials.study.checks import (
    drop_near_duplicates,
    first_of_each,
    is_grounded,
    is_self_contained,
    normalize,
)
from materials.study.store import study_content_store, study_set_mark
from materials.study.types import Generator, MaterialText, Source, StudyContent

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

GENERATION_ERRORS = {
    "ai_unavailable": _("The AI service did not answer, so study content could not be made."),
    "no_text": _("There is no text to make study content from."),
    "interrupted": _("Making study content was interrupted."),
    "queue_unavailable": _("The job queue could not be reached."),
    "internal": _("Something went wrong while making study content."),
}


def generation_error_message(code: str) -> str:
    if not code:
        return ""
    return str(GENERATION_ERRORS.get(code, GENERATION_ERRORS["internal"]))


def get_generator() -> Generator:
    """Hosted with a key while the site's AI calls of the day last, offline otherwise.

    A material's study content is one AI call of the whole site's budget
    (SITE_DAILY_AI_CALL_LIMIT), whoever's material it is: that budget is what
    bounds the hosted model's bill when accounts are many. Once it is spent,
    the content is made offline, and says so ("Made offline").
    """
    if settings.OPENAI_API_KEY:
        try:
            quota.site_reserve(quota.AI)
        except quota.SiteBudgetSpent:
            logger.warning("the site's AI calls of the day are spent: study content made offline")
        else:
            from materials.study.hosted import HostedGenerator

            return HostedGenerator()
    from materials.study.offline import OfflineGenerator

    return OfflineGenerator()


def material_text(material: Material) -> MaterialText:
    """The material's passages with the vectors the pipeline stored (never re-embedded)."""
    import numpy as np

    rows = list(
        Chunk.objects.filter(material=material)
        .order_by("position")
        .values_list(
            "position", "text", "page_start", "page_end", "start_seconds", "embedding", "anchors"
        )
    )
    sources = [
        Source(
            position=pos,
            text=text,
            page=page,
            page_end=page_end,
            start_seconds=start,
            anchors=tuple(tuple(anchor) for anchor in anchors or ()),
        )
        for pos, text, page, page_end, start, _, anchors in rows
    ]
    embeddings = None
    if rows and all(row[5] is not None for row in rows):
        embeddings = np.vstack([np.asarray(row[5], dtype=np.float32) for row in rows])
    elif rows:
        embeddings = _multilingual_embeddings(material, [row[0] for row in rows])
    outline: list[tuple[int, str, int]] = []
    if material.kind == Material.Kind.PDF and material.file:
        from materials.pipeline.outline import read_outline

        path = Path(material.file.path)
        if path.exists():
            outline = read_outline(path, memory_limit_mb=settings.PDF_PARSE_MEMORY_MB)
    elif material.kind == Material.Kind.DOCX and material.file:
        from materials.pipeline.office import docx_outline

        # A handout's headings name its note sections, as a PDF's bookmarks do.
        outline = docx_outline(Path(material.file.path))
    return MaterialText(
        material_id=material.pk,
        title=material.title,
        language=material.language or "simple",
        kind=material.kind,
        sources=sources,
        embeddings=embeddings,
        outline=outline,
    )


def _multilingual_embeddings(material: Material, positions: list[int]) -> np.ndarray | None:
    """Each chunk's mean multilingual vector, for chunks the embedder leaves out (Russian offline).

    The same place in meaning for what the study content reads vectors for
    (central passages, topic boundaries, term senses); None if any chunk has none.
    """
    import numpy as np

    from materials.models import ChunkCrossVector

    sums: dict[int, np.ndarray] = {}
    rows = ChunkCrossVector.objects.filter(chunk__material=material).values_list(
        "chunk__position", "embedding"
    )
    for position, vector in rows:
        vector = np.asarray(vector, dtype=np.float32)
        sums[position] = sums[position] + vector if position in sums else vector
    if any(position not in sums for position in positions):
        return None
    found = np.vstack([sums[position] for position in positions])
    return found / np.maximum(np.linalg.norm(found, axis=1, keepdims=True), 1e-12)


def check_content(content: StudyContent) -> StudyContent:
    """Drop items not supported by their passage, then near-duplicates."""
    cards = [c for c in content.cards if is_grounded(c.answer or c.back, c.source.text)]
    questions = [q for q in content.questions if is_grounded(q.answer, q.source.text)]
    rejected_cards = len(content.cards) - len(cards)
    rejected_questions = len(content.questions) - len(questions)
    # An item that opens on "this" or "это" cannot be answered alone.
    readable_cards = [c for c in cards if is_self_contained(c.front)]
    readable_questions = [q for q in questions if is_self_contained(q.question)]
    unreadable = {
        "unreadable_cards": len(cards) - len(readable_cards),
        "unreadable_questions": len(questions) - len(readable_questions),
    }
    cards, questions = readable_cards, readable_questions
    cards, card_duplicates = drop_near_duplicates(
        cards, key=lambda c: f"{c.front} {c.back}", answer=lambda c: c.back
    )
    questions, question_duplicates = drop_near_duplicates(
        questions, key=lambda q: f"{q.question} {q.answer}", answer=lambda q: q.answer
    )
    # Two cards that ask the same thing with different answers ("What is X?"
    # from two sentences) look to a student like one card shown twice.
    cards, same_fronts = first_of_each(cards, lambda c: normalize(c.front))
    questions, same_questions = first_of_each(questions, lambda q: normalize(q.question))
    card_duplicates += same_fronts
    question_duplicates += same_questions
    content.cards, content.questions = cards, questions
    content.stats = {
        **content.stats,
        "ungrounded_cards": rejected_cards,
        "ungrounded_questions": rejected_questions,
        "duplicate_cards": card_duplicates,
        "duplicate_questions": question_duplicates,
        **unreadable,
    }
    return content


def study_generate(
    *, material: Material, generator: Generator | None = None, job_id: str = ""
) -> StudySet:
    """Make and store the material's summary, notes, flashcards and quiz.

    Never raises for a generation failure: the study set records it instead.
    It does raise Superseded when a newer run took the material over (a
    Reprocess, or another "Try again"): the caller's job then stops quietly.
    `job_id` is the job of a generation run alone; the material's own
    processing job passes none and takes the study set over.
    """
    study_set_mark(material, StudySet.Status.GENERATING, job_id=job_id)
    started = time.perf_counter()

    def beat() -> None:
        # The sweep's sign of life, and the run's check that it still owns the material.
        material_heartbeat(material=material)

    try:
        text = material_text(material)
        if not text.sources:
            raise ProcessingError("no_text")
        content = (generator or get_generator()).generate(text, beat=beat)
        content = check_content(content)
        content.stats["seconds"] = round(time.perf_counter() - started, 2)
        study_set = study_content_store(material=material, content=content, job_id=job_id)
    except Superseded:
        raise
    except (ProcessingError, AIUnavailable) as exc:
        logger.warning("study content for material %s failed: %s", material.pk, exc.code)
        failed, code, detail = StudySet.Status.FAILED, exc.code, exc.detail
        study_set_mark(material, failed, job_id=job_id, code=code, detail=detail)
        return StudySet.objects.get(material=material)
    except Exception as exc:
        logger.exception("study content for material %s failed", material.pk)
        detail = f"{type(exc).__name__}: {exc}"
        failed = StudySet.Status.FAILED
        study_set_mark(material, failed, job_id=job_id, code="internal", detail=detail)
        return StudySet.objects.get(material=material)
    logger.info("study content for material %s: %s", material.pk, study_set.stats)
    return study_set


def study_regenerate(*, material: Material) -> StudySet:
    """Queue generation alone (the material's chunks stay as they are).

    One run at a time: AlreadyRunning (HTTP 409) while the material is
    processed or its study content is being made. It is one of the student's
    AI calls of the day: over the budget it raises quota.QuotaExceeded before
    anything changes. The job retries a worker's death and, failing for good,
    says so on the study set (materials.study.jobs.on_generate_failure).
    """
    with transaction.atomic():
        material = Material.objects.select_for_update().get(pk=material.pk)
        study_set, created = StudySet.objects.select_for_update().get_or_create(material=material)
        if material.is_in_flight:
            raise AlreadyRunning(
                gettext("This material is being processed; its study content is made at the end.")
            )
        if not created and study_set.status in (
            StudySet.Status.PENDING,
            StudySet.Status.GENERATING,
        ):
            raise AlreadyRunning(gettext("Study content is already being made for this material."))
        quota.reserve(material.owner, quota.AI)
        job_id = f"study-{material.pk}-{uuid.uuid4().hex[:12]}"
        study_set.status, study_set.job_id = StudySet.Status.PENDING, job_id
        study_set.error_code, study_set.error_detail = "", ""
        study_set.save(
            update_fields=["status", "job_id", "error_code", "error_detail", "updated_at"]
        )

        def unreachable() -> None:
            StudySet.objects.filter(material=material, job_id=job_id).update(
                status=StudySet.Status.FAILED, error_code="queue_unavailable"
            )

        enqueue_run_on_commit(
            "materials.study.jobs.study_generate",
            material.pk,
            material.attempts,
            job_id,
            job_id=job_id,
            on_unreachable=unreachable,
            on_failure="materials.study.jobs.on_generate_failure",
        )
    return study_set


def study_set_fail(*, material_id: int, job_id: str, code: str, detail: str = "") -> None:
    """Fail a generation run visibly (with "Try again"), unless another run owns the set."""
    StudySet.objects.filter(
        material_id=material_id,
        job_id=job_id,
        status__in=[StudySet.Status.PENDING, StudySet.Status.GENERATING],
    ).update(status=StudySet.Status.FAILED, error_code=code, error_detail=detail[:4000])


def study_sets_fail_stalled(*, stale_after: timedelta = timedelta(minutes=10)) -> int:
    """Fail the study sets left "being made" with no job behind them.

    A generation run alone whose job RQ no longer has (or whose worker is
    gone), or the processing job's generation of a material that is no longer
    processed, would otherwise show "being made" forever.
    """
    cutoff = timezone.now() - stale_after
    stalled = StudySet.objects.filter(
        status__in=[StudySet.Status.PENDING, StudySet.Status.GENERATING],
        updated_at__lt=cutoff,
    ).exclude(material__status__in=Material.IN_FLIGHT)
    count = 0
    for material_id, job_id in stalled.values_list("material_id", "job_id"):
        if job_id and job_alive(job_id, overdue_after=stale_after):
            continue
        study_set_fail(material_id=material_id, job_id=job_id, code="interrupted")
        count += 1
    if count:
        logger.warning("failed %d stalled study content runs", count)
    return count
