"""The study-content stage: pick a generator, check its items, replace the stored ones.

A failure here never fails the material: search and the tutor work without
study content, so the material ends `ready` and its study set says what went
wrong, with a retry that runs this stage alone.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduplatform import quota
from materials.errors import ProcessingError
from materials.models import Chunk, Flashcard, Material, NoteSection, QuizQuestion, StudySet
from materials.search.evidence import sentence_for_text
from materials.study.checks import drop_near_duplicates, is_grounded, is_self_contained
from materials.study.text import normalize
from materials.study.types import Generator, MaterialText, Source, StudyContent

logger = logging.getLogger(__name__)

GENERATION_ERRORS = {
    "ai_unavailable": _("The AI service did not answer, so study content could not be made."),
    "no_text": _("There is no text to make study content from."),
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


@transaction.atomic
def study_content_store(*, material: Material, content: StudyContent) -> StudySet:
    """Replace the material's generated content in one transaction.

    The student's own cards stay. A generated card that comes out again with
    the same front and back keeps its row, and so its schedule and reviews.
    """
    study_set, _ = StudySet.objects.select_for_update().get_or_create(material=material)
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

    old_cards = {
        _card_key(card.front, card.back): card
        for card in material.flashcards.filter(origin=Flashcard.Origin.GENERATED)
    }
    now = timezone.now()
    new_cards = []
    for position, card in enumerate(content.cards):
        kept = old_cards.pop(_card_key(card.front, card.back), None)
        if kept is not None:
            kept.position = position
            kept.save(update_fields=["position", "updated_at"])
            continue
        page, seconds = _place(card.source, f"{card.front} {card.back}")
        new_cards.append(
            Flashcard(
                owner_id=material.owner_id,
                material=material,
                front=card.front,
                back=card.back,
                kind=card.kind,
                origin=Flashcard.Origin.GENERATED,
                generator=content.generator,
                position=position,
                page=page,
                page_end=card.source.page_end,
                start_seconds=seconds,
                passage=card.source.text,
                due=now,
            )
        )
    Flashcard.objects.filter(pk__in=[card.pk for card in old_cards.values()]).delete()
    Flashcard.objects.bulk_create(new_cards, batch_size=500)

    material.quiz_questions.all().delete()
    places = [_place(q.source, f"{q.question} {q.answer}") for q in content.questions]
    QuizQuestion.objects.bulk_create(
        QuizQuestion(
            owner_id=material.owner_id,
            material=material,
            position=position,
            question=question.question,
            choices=question.choices,
            answer_index=question.answer_index,
            explanation=question.explanation,
            page=page,
            page_end=question.source.page_end,
            start_seconds=seconds,
            passage=question.source.text,
            generator=content.generator,
        )
        for position, (question, (page, seconds)) in enumerate(
            zip(content.questions, places, strict=True)
        )
    )

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


def _mark(material: Material, status: str, code: str = "", detail: str = "") -> None:
    StudySet.objects.update_or_create(
        material=material,
        defaults={"status": status, "error_code": code, "error_detail": detail[:4000]},
    )


def study_generate(*, material: Material, generator: Generator | None = None) -> StudySet:
    """Make and store the material's summary, notes, flashcards and quiz.

    Never raises for a generation failure: the study set records it instead.
    """
    _mark(material, StudySet.Status.GENERATING)
    started = time.perf_counter()
    try:
        text = material_text(material)
        if not text.sources:
            raise ProcessingError("no_text")
        content = (generator or get_generator()).generate(text)
        content = check_content(content)
        content.stats["seconds"] = round(time.perf_counter() - started, 2)
        study_set = study_content_store(material=material, content=content)
    except ProcessingError as exc:
        logger.warning("study content for material %s failed: %s", material.pk, exc.code)
        _mark(material, StudySet.Status.FAILED, exc.code, exc.detail)
        return StudySet.objects.get(material=material)
    except Exception as exc:
        logger.exception("study content for material %s failed", material.pk)
        _mark(material, StudySet.Status.FAILED, "internal", f"{type(exc).__name__}: {exc}")
        return StudySet.objects.get(material=material)
    logger.info("study content for material %s: %s", material.pk, study_set.stats)
    return study_set


def study_regenerate(*, material: Material) -> StudySet:
    """Queue generation alone (the material's chunks stay as they are).

    It is one of the student's AI calls of the day: over the budget it raises
    quota.QuotaExceeded before anything changes.
    """
    quota.reserve(material.owner, quota.AI)
    study_set, _ = StudySet.objects.update_or_create(
        material=material,
        defaults={"status": StudySet.Status.PENDING, "error_code": "", "error_detail": ""},
    )

    def enqueue() -> None:
        from materials.study.jobs import generate_study

        django_rq.get_queue("default").enqueue(
            generate_study,
            material.pk,
            job_timeout=settings.PROCESS_JOB_TIMEOUT,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )

    transaction.on_commit(enqueue)
    return study_set
