"""Offline generation on real materials: counts, grounding, language, sources."""

import re

import pytest

from materials.models import Flashcard, Material, QuizQuestion, StudySet
from materials.study.checks import is_grounded
from tests.support.corpus import corpus_file
from tests.support.lectures import pdf_material, process

pytestmark = pytest.mark.django_db

CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def assert_grounded_and_anchored(material: Material) -> None:
    for card in Flashcard.objects.filter(material=material):
        assert card.generator == "offline"
        assert is_grounded(card.back, card.passage), card
        assert 1 <= card.page <= material.page_count
    for question in QuizQuestion.objects.filter(material=material):
        assert question.generator == "offline"
        assert len(question.choices) == 4 and len(set(question.choices)) == 4
        assert is_grounded(question.answer, question.passage)
        assert 1 <= question.page <= material.page_count


def test_small_lecture_gets_everything_offline(biology):
    study_set = StudySet.objects.get(material=biology)
    assert biology.status == "ready"
    assert study_set.status == "ready" and study_set.generator == "offline"
    assert study_set.summary
    assert biology.note_sections.exists()
    assert biology.flashcards.count() >= 5
    assert biology.quiz_questions.count() >= 3
    terms = {c.front for c in biology.flashcards.filter(kind="term")}
    # Definitional cards ask for the term by name, so they read alone.
    assert {"What is photosynthesis?", "What is chlorophyll?"} & terms
    assert_grounded_and_anchored(biology)


def test_english_book_with_outline(user, run_jobs, django_capture_on_commit_callbacks):
    book = corpus_file("pdf", "books", "R-data.pdf")
    material = pdf_material(user, book.read_bytes(), "R-data.pdf")
    material = process(material, django_capture_on_commit_callbacks, run_jobs)
    study_set = material.study_set
    assert study_set.status == "ready", study_set.error_detail
    assert material.flashcards.count() >= 25
    assert material.quiz_questions.count() >= 10
    headings = list(material.note_sections.values_list("heading", flat=True))
    # Sections come from the PDF's bookmarks.
    assert "Imports" in headings and len(headings) >= 10
    assert_grounded_and_anchored(material)
    # The summary follows the book's chapters, each sentence at its page, in order.
    summary = study_set.summary_sections
    assert len(summary) >= 5 and summary[0]["heading"] in headings + ["Acknowledgements"]
    sentences = [s for section in summary for s in section["sentences"]]
    assert 4 <= len(sentences) <= 30
    pages = [s["page"] for s in sentences]
    assert all(pages) and pages == sorted(pages)
    assert study_set.stats["cards"] == material.flashcards.count()
    assert study_set.stats["seconds"] < 10


def test_russian_book_gives_russian_cards(user, run_jobs, django_capture_on_commit_callbacks):
    book = corpus_file("pdf", "books", "mpman-ru.pdf")
    material = pdf_material(user, book.read_bytes(), "mpman-ru.pdf")
    material = process(material, django_capture_on_commit_callbacks, run_jobs)
    assert material.language == "ru" and material.study_set.status == "ready"
    cards = list(material.flashcards.all())
    assert len(cards) >= 30
    assert all(CYRILLIC.search(card.front + card.back) for card in cards)
    questions = list(material.quiz_questions.all())
    assert questions and all(q.question.startswith("Вставьте пропущенное") for q in questions)
    assert CYRILLIC.search(material.study_set.summary)
    assert_grounded_and_anchored(material)


def test_youtube_transcript_items_keep_their_seconds(
    user, youtube, run_jobs, django_capture_on_commit_callbacks
):
    from materials.services import material_create_youtube

    with django_capture_on_commit_callbacks(execute=True):
        material = material_create_youtube(owner=user, url="https://youtu.be/GJLlxj_dtq8")
    run_jobs()
    material.refresh_from_db()
    assert material.status == "ready", material.error_detail
    assert material.study_set.status == "ready"
    # The recorded captions are one unpunctuated line: windows of words stand in for sentences.
    assert "original transcript" in material.study_set.summary
    sections = list(material.note_sections.all())
    assert sections
    # Each point opens the video at the caption its own words come from.
    caption_starts = {0.0, 1.54, 5.7}
    for section in sections:
        assert all(point["start_seconds"] in caption_starts for point in section.points)
    for card in material.flashcards.all():
        assert card.start_seconds is not None and card.page is None
