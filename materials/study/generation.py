"""The study-content stage: pick a generator, check its items, replace the stored ones.

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

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rq import Callback

from eduplatform import quota
from eduplatform.queue import enqueue_on_commit, job_alive
from materials.errors import AlreadyRunning, ProcessingError, Superseded
from materials.models import (
    Chunk,
    ContentReport,
    Flashcard,
    Material,
    NoteSection,
    QuizQuestion,
    ReviewLog,
    StudySet,
)
from materials.search.evidence import sentence_for_text
from materials.services import material_heartbeat, process_retry
from materials.study.checks import drop_near_duplicates, is_grounded
from materials.study.text import normalize
from materials.study.types import Generator, MaterialText, Source, StudyContent

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
    """Hosted with a key, offline without one."""
    if settings.OPENAI_API_KEY:
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
    outline: list[tuple[int, str, int]] = []
    if material.kind == Material.Kind.PDF and material.file:
        from materials.study.outline import read_outline

        path = Path(material.file.path)
        if path.exists():
            outline = read_outline(path, memory_limit_mb=settings.PDF_PARSE_MEMORY_MB)
    return MaterialText(
        material_id=material.pk,
        title=material.title,
        language=material.language or "simple",
        kind=material.kind,
        sources=sources,
        embeddings=embeddings,
        outline=outline,
    )


def check_content(content: StudyContent) -> StudyContent:
    """Drop items not supported by their passage, then near-duplicates."""
    cards = [c for c in content.cards if is_grounded(c.answer or c.back, c.source.text)]
    questions = [q for q in content.questions if is_grounded(q.answer, q.source.text)]
    rejected_cards = len(content.cards) - len(cards)
    rejected_questions = len(content.questions) - len(questions)
    cards, card_duplicates = drop_near_duplicates(
        cards, key=lambda c: f"{c.front} {c.back}", answer=lambda c: c.back
    )
    questions, question_duplicates = drop_near_duplicates(
        questions, key=lambda q: f"{q.question} {q.answer}", answer=lambda q: q.answer
    )
    content.cards, content.questions = cards, questions
    content.stats = {
        **content.stats,
        "ungrounded_cards": rejected_cards,
        "ungrounded_questions": rejected_questions,
        "duplicate_cards": card_duplicates,
        "duplicate_questions": question_duplicates,
    }
    return content


def _place(source: Source, text: str) -> tuple[int | None, float | None]:
    """The page (or second) of the source's sentence that an item was drawn from.

    A passage runs over page breaks; a card, a question or a note point shows
    and links the page of its own sentence, not the passage's first page.
    """
    chunk = Chunk(
        text=source.text,
        anchors=[list(anchor) for anchor in source.anchors],
        page_start=source.page,
        start_seconds=source.start_seconds,
    )
    sentence = sentence_for_text(chunk, text)
    if sentence is None:
        return source.page, source.start_seconds
    return sentence.page, sentence.start_seconds


def _card_key(front: str, back: str) -> str:
    return f"{normalize(front)}\x00{normalize(back)}"


def _question_key(question: str, answer: str) -> str:
    return f"{normalize(question)}\x00{normalize(answer)}"


# Shifted out of the way first, so that reordering kept questions never meets
# the (material, position) unique constraint halfway through an UPDATE.
_POSITION_SHIFT = 1_000_000


def _claim(material: Material, job_id: str) -> StudySet:
    """Lock the material and its study set, or raise Superseded for a stale run.

    A run belongs to the material's attempt it started with (a Reprocess makes
    a new one) and, for a generation run alone, to the study set's job.
    """
    attempts = (
        Material.objects.select_for_update()
        .filter(pk=material.pk)
        .values_list("attempts", flat=True)
        .first()
    )
    if attempts is None or attempts != material.attempts:
        raise Superseded(f"material {material.pk} attempt {material.attempts} superseded")
    study_set, _ = StudySet.objects.select_for_update().get_or_create(material=material)
    if job_id and study_set.job_id != job_id:
        raise Superseded(f"study set of material {material.pk}: job {job_id} superseded")
    return study_set


def _present_passages(material: Material, passages: set[str]) -> set[str]:
    """The passages among these that are still one of the material's chunks."""
    if not passages:
        return set()
    return set(
        Chunk.objects.filter(material=material, text__in=passages).values_list("text", flat=True)
    )


def _store_cards(material: Material, content: StudyContent, generator: str, now) -> None:  # noqa: ANN001
    """New generated cards in, untouched stale ones out; anything the student used stays.

    A generated card that comes out again (same normalised front and back)
    keeps its row, schedule and reviews. One that does not come out again is
    kept when it has reviews, a report, a suspension or a moderator's flag
    (an edited card is already the student's own); it is marked "source
    changed" when its passage is no longer in the material.
    """
    old_cards = {
        _card_key(card.front, card.back): card
        for card in material.flashcards.filter(origin=Flashcard.Origin.GENERATED).annotate(
            has_reviews=Exists(ReviewLog.objects.filter(card=OuterRef("pk"))),
            has_reports=Exists(ContentReport.objects.filter(flashcard=OuterRef("pk"))),
        )
    }
    matched, new_cards = [], []
    for position, card in enumerate(content.cards):
        page, seconds = _place(card.source, f"{card.front} {card.back}")
        kept = old_cards.pop(_card_key(card.front, card.back), None)
        if kept is not None:
            kept.position, kept.page, kept.start_seconds = position, page, seconds
            kept.page_end, kept.passage = card.source.page_end, card.source.text
            kept.source_changed = False
            matched.append(kept)
            continue
        new_cards.append(
            Flashcard(
                owner_id=material.owner_id,
                material=material,
                front=card.front,
                back=card.back,
                kind=card.kind,
                origin=Flashcard.Origin.GENERATED,
                generator=generator,
                position=position,
                page=page,
                page_end=card.source.page_end,
                start_seconds=seconds,
                passage=card.source.text,
                due=now,
            )
        )
    used = [
        card
        for card in old_cards.values()
        if card.has_reviews or card.has_reports or card.is_suspended or card.is_hidden
    ]
    Flashcard.objects.filter(pk__in=[c.pk for c in old_cards.values() if c not in used]).delete()
    # The student's own cards and the kept ones: is their passage still there?
    others = list(
        material.flashcards.exclude(origin=Flashcard.Origin.GENERATED).exclude(passage="")
    )
    present = _present_passages(material, {c.passage for c in [*used, *others] if c.passage})
    for offset, card in enumerate(sorted(used, key=lambda c: (c.position, c.pk))):
        card.position = len(content.cards) + offset
        card.source_changed = bool(card.passage) and card.passage not in present
    for card in others:
        card.source_changed = card.passage not in present
    Flashcard.objects.bulk_update(
        matched + used,
        ["position", "page", "page_end", "start_seconds", "passage", "source_changed"],
        batch_size=500,
    )
    Flashcard.objects.bulk_update(others, ["source_changed"], batch_size=500)
    Flashcard.objects.bulk_create(new_cards, batch_size=500)


def _store_questions(material: Material, content: StudyContent, generator: str) -> None:
    """The new quiz; an unchanged question keeps its row, and so its reports and flag.

    A question that does not come out again is deleted, unless it was reported
    or hidden: then it stays, out of the quiz (retired), so the moderators'
    report still points at what the student saw.
    """
    old = {
        _question_key(q.question, q.answer): q
        for q in material.quiz_questions.annotate(
            has_reports=Exists(ContentReport.objects.filter(question=OuterRef("pk")))
        )
    }
    material.quiz_questions.update(position=F("position") + _POSITION_SHIFT)
    kept, new_questions = [], []
    for position, question in enumerate(content.questions):
        page, seconds = _place(question.source, f"{question.question} {question.answer}")
        row = old.pop(_question_key(question.question, question.answer), None)
        if row is None:
            row = QuizQuestion(owner_id=material.owner_id, material=material, generator=generator)
            new_questions.append(row)
        else:
            kept.append(row)
        row.position, row.question, row.choices = position, question.question, question.choices
        row.answer_index, row.explanation = question.answer_index, question.explanation
        row.page, row.page_end, row.start_seconds = page, question.source.page_end, seconds
        row.passage, row.is_retired, row.source_changed = question.source.text, False, False
    retired = [q for q in old.values() if q.has_reports or q.is_hidden]
    QuizQuestion.objects.filter(pk__in=[q.pk for q in old.values() if q not in retired]).delete()
    present = _present_passages(material, {q.passage for q in retired if q.passage})
    for offset, question in enumerate(sorted(retired, key=lambda q: q.position)):
        question.position = len(content.questions) + offset
        question.is_retired = True
        question.source_changed = bool(question.passage) and question.passage not in present
    QuizQuestion.objects.bulk_update(
        kept + retired,
        [
            "position", "question", "choices", "answer_index", "explanation", "page",
            "page_end", "start_seconds", "passage", "is_retired", "source_changed",
        ],
        batch_size=500,
    )  # fmt: skip
    QuizQuestion.objects.bulk_create(new_questions, batch_size=500)


@transaction.atomic
def study_content_store(*, material: Material, content: StudyContent, job_id: str = "") -> StudySet:
    """Replace the material's generated content in one transaction.

    Nothing the student did is lost: their own cards stay, and generated cards
    and questions they or a moderator touched stay with their history (see
    _store_cards, _store_questions). Raises Superseded, writing nothing, when
    a newer run owns the material.
    """
    study_set = _claim(material, job_id)
    material.note_sections.all().delete()
    sections = []
    for position, section in enumerate(content.sections):
        points = []
        for point in section.points:
            page, seconds = _place(point.source, point.text)
            points.append({"text": point.text, "page": page, "start_seconds": seconds})
        sections.append((position, section, points))
    NoteSection.objects.bulk_create(
        NoteSection(
            material=material,
            position=position,
            heading=section.heading,
            points=points,
            pages=sorted({p["page"] for p in points if p["page"] is not None}),
            page=section.source.page if section.source else None,
            page_end=section.source.page_end if section.source else None,
            start_seconds=section.source.start_seconds if section.source else None,
            generator=content.generator,
        )
        for position, section, points in sections
    )
    now = timezone.now()
    _store_cards(material, content, content.generator, now)
    _store_questions(material, content, content.generator)

    study_set.status = StudySet.Status.READY
    study_set.error_code = ""
    study_set.error_detail = ""
    study_set.generator = content.generator
    study_set.language = material.language
    study_set.summary = content.summary
    study_set.stats = {
        **content.stats,
        "cards": len(content.cards),
        "questions": len(content.questions),
        "sections": len(content.sections),
    }
    study_set.tokens_used = content.tokens_used
    study_set.generated_at = now
    study_set.save()
    return study_set


@transaction.atomic
def _mark(
    material: Material, status: str, *, job_id: str, code: str = "", detail: str = ""
) -> None:
    study_set = _claim(material, job_id)
    study_set.status, study_set.job_id = status, job_id
    study_set.error_code, study_set.error_detail = code, detail[:4000]
    study_set.save(update_fields=["status", "job_id", "error_code", "error_detail", "updated_at"])


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
    _mark(material, StudySet.Status.GENERATING, job_id=job_id)
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
    except ProcessingError as exc:
        logger.warning("study content for material %s failed: %s", material.pk, exc.code)
        _mark(material, StudySet.Status.FAILED, job_id=job_id, code=exc.code, detail=exc.detail)
        return StudySet.objects.get(material=material)
    except Exception as exc:
        logger.exception("study content for material %s failed", material.pk)
        detail = f"{type(exc).__name__}: {exc}"
        _mark(material, StudySet.Status.FAILED, job_id=job_id, code="internal", detail=detail)
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
        if material.is_active:
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

        enqueue_on_commit(
            "materials.study.jobs.generate_study",
            material.pk,
            material.attempts,
            job_id,
            job_id=job_id,
            on_unreachable=unreachable,
            job_timeout=settings.PROCESS_JOB_TIMEOUT,
            retry=process_retry(),
            on_failure=Callback("materials.study.jobs.on_generate_failure"),
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
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
    ).exclude(material__status__in=[Material.Status.PENDING, Material.Status.PROCESSING])
    count = 0
    for material_id, job_id in stalled.values_list("material_id", "job_id"):
        if job_id and job_alive(job_id, overdue_after=stale_after):
            continue
        study_set_fail(material_id=material_id, job_id=job_id, code="interrupted")
        count += 1
    if count:
        logger.warning("failed %d stalled study content runs", count)
    return count
