"""Storing generated study content without losing what the student did with the old.

A hosted model writes different cards and questions each run, so a plain
replace would delete reviewed, edited, suspended, reported and hidden items
with their history. Here each item the student or a moderator touched stays
(marked "source changed" when its passage is gone), an unchanged one keeps
its row, and only untouched items are replaced. Every write belongs to a run
(claim_run): a run that a newer one superseded writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from materials.errors import Superseded
from materials.models import (
    Chunk,
    ContentReport,
    Flashcard,
    Material,
    NoteSection,
    PrivateEdit,
    QuizQuestion,
    ReviewLog,
    StudySet,
)
from materials.study.types import Source, StudyContent
from materials.text.sentences import sentence_for_text
from materials.text.words import normalize


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


def _summary_sections(content: StudyContent) -> list[dict]:
    """Each summary sentence with the page (or second) of the sentence it rests on."""
    out = []
    for section in content.summary_sections:
        sentences = []
        for point in section.points:
            quote = point.quote or point.text
            page, seconds = _place(point.source, quote)
            sentences.append(
                {"text": point.text, "page": page, "start_seconds": seconds, "quote": quote}
            )
        out.append({"heading": section.heading, "sentences": sentences})
    return out


def _card_key(front: str, back: str) -> str:
    return f"{normalize(front)}\x00{normalize(back)}"


def _question_key(question: str, answer: str) -> str:
    return f"{normalize(question)}\x00{normalize(answer)}"


# Shifted out of the way first, so that reordering kept questions never meets
# the (material, position) unique constraint halfway through an UPDATE.
_POSITION_SHIFT = 1_000_000


def claim_run(material: Material, job_id: str) -> StudySet:
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


def _store_cards(material: Material, content: StudyContent, generator: str, now: datetime) -> None:
    """New generated cards in, untouched stale ones out; anything the student used stays.

    A generated card that comes out again (same normalised front and back)
    keeps its row, schedule and reviews. One that does not come out again is
    kept when it has reviews, a report, a course student's private edit, a
    suspension or a moderator's flag (an edited card is already the
    student's own); it is marked "source changed" when its passage is no
    longer in the material.
    """
    old_cards = {
        _card_key(card.front, card.back): card
        for card in material.flashcards.filter(origin=Flashcard.Origin.GENERATED).annotate(
            has_reviews=Exists(ReviewLog.objects.filter(card=OuterRef("pk"))),
            has_reports=Exists(ContentReport.objects.filter(flashcard=OuterRef("pk"))),
            has_private_edits=Exists(PrivateEdit.objects.filter(card=OuterRef("pk"))),
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
        if card.has_reviews
        or card.has_reports
        or card.has_private_edits
        or card.is_suspended
        or card.is_hidden
    ]
    Flashcard.objects.filter(pk__in=[c.pk for c in old_cards.values() if c not in used]).delete()
    # The student's own cards and the kept ones: is their passage still there?
    others = list(
        material.flashcards.exclude(origin=Flashcard.Origin.GENERATED).exclude(passage="")
    )
    present = _present_passages(material, {c.passage for c in [*used, *others] if c.passage})
    for offset, flashcard in enumerate(sorted(used, key=lambda c: (c.position, c.pk))):
        flashcard.position = len(content.cards) + offset
        flashcard.source_changed = bool(flashcard.passage) and flashcard.passage not in present
    for other in others:
        other.source_changed = other.passage not in present
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
    report still points at what the student saw. One the owner edited is
    theirs: it stays in the quiz as they left it, after the new ones.
    """
    rows = material.quiz_questions.annotate(
        has_reports=Exists(ContentReport.objects.filter(question=OuterRef("pk")))
    )
    edited = sorted(
        (q for q in rows if q.edited_at is not None and not q.is_retired),
        key=lambda q: q.position,
    )
    old = {
        _question_key(q.question, q.answer): q for q in rows if q.edited_at is None or q.is_retired
    }
    material.quiz_questions.update(position=F("position") + _POSITION_SHIFT)
    kept: list[QuizQuestion] = []
    new_questions: list[QuizQuestion] = []
    for position, question in enumerate(content.questions):
        page, seconds = _place(question.source, f"{question.question} {question.answer}")
        row: QuizQuestion | None = old.pop(_question_key(question.question, question.answer), None)
        if row is None:
            row = QuizQuestion(owner_id=material.owner_id, material=material, generator=generator)
            new_questions.append(row)
        else:
            kept.append(row)
        row.position, row.question, row.choices = position, question.question, question.choices
        row.answer_index, row.explanation = question.answer_index, question.explanation
        row.page, row.page_end, row.start_seconds = page, question.source.page_end, seconds
        row.passage, row.is_retired, row.source_changed = question.source.text, False, False
    retired = [q for q in old.values() if q.has_reports or q.is_hidden or q.is_suspended]
    QuizQuestion.objects.filter(pk__in=[q.pk for q in old.values() if q not in retired]).delete()
    present = _present_passages(material, {q.passage for q in [*edited, *retired] if q.passage})
    for offset, own in enumerate(edited):
        own.position = len(content.questions) + offset
        own.source_changed = bool(own.passage) and own.passage not in present
    for offset, stale in enumerate(sorted(retired, key=lambda q: q.position)):
        stale.position = len(content.questions) + len(edited) + offset
        stale.is_retired = True
        stale.source_changed = bool(stale.passage) and stale.passage not in present
    QuizQuestion.objects.bulk_update(
        [*kept, *edited, *retired],
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
    study_set = claim_run(material, job_id)
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
    study_set.summary_sections = _summary_sections(content)
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
def study_set_mark(
    material: Material, status: str, *, job_id: str, code: str = "", detail: str = ""
) -> None:
    """The study set's state, written by its run only (Superseded otherwise)."""
    study_set = claim_run(material, job_id)
    study_set.status, study_set.job_id = status, job_id
    study_set.error_code, study_set.error_detail = code, detail[:4000]
    study_set.save(update_fields=["status", "job_id", "error_code", "error_detail", "updated_at"])
