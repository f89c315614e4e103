"""Regeneration never throws away what the student or a moderator did.

A hosted model writes different cards and questions each run. The stand-in
(tests/support/stub_openai.py) answers the first generation with one set and the
second with another; every card the student reviewed, edited, suspended or
reported, every card or question a moderator hid, and every reported question
survives with its history. Untouched items are simply replaced.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from materials.models import ContentReport, Flashcard, Material, QuizQuestion, ReviewLog
from materials.study.services import flashcard_review
from tests.support.factories import UserFactory
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db

FIRST_CARDS = [
    ("What pigment absorbs red and blue light?", "Chlorophyll"),
    ("Where do the light reactions take place?", "In the thylakoid membrane"),
    ("What do stomata let into the leaf?", "Carbon dioxide"),
    ("Where does the Calvin cycle fix carbon dioxide into sugar?", "In the stroma"),
    ("What is the energy currency of the cell?", "ATP"),
    ("Where does the Krebs cycle take place?", "In the mitochondrial matrix"),
]
SECOND_CARDS = [
    ("Which stage of respiration splits glucose into pyruvate?", "Glycolysis"),
    ("What does anaerobic respiration produce in muscle cells?", "Lactic acid"),
    ("What are chromosomes made of?", "Long molecules of DNA wrapped around histone proteins"),
]
LIGHT = ("Where do the light reactions take place?", ["thylakoid membrane", "nucleus", "ribosome"])
GLYCOLYSIS = ("What is the first stage of respiration?", ["Glycolysis", "Mitosis", "Meiosis"])
MEIOSIS = ("Which division produces four gametes?", ["Meiosis", "Mitosis", "Glycolysis"])
SPINDLE = ("What pulls sister chromatids apart?", ["The spindle apparatus", "ATP", "Stomata"])


def _passage(material: Material, answer: str) -> int:
    """The position of the chunk that states the answer (the grounding check needs it)."""
    for position, text in material.chunks.values_list("position", "text"):
        if answer.lower() in text.lower():
            return position
    raise AssertionError(f"no chunk states {answer!r}")


def _answer(material: Material, cards: list, questions: list) -> dict:
    return {
        "summary": "Plants and cells turn energy from one form into another.",
        "sections": [],
        "flashcards": [
            {"front": front, "back": back, "passage": _passage(material, back.split(" ")[-1])}
            for front, back in cards
        ],
        "questions": [
            {
                "question": question,
                "choices": choices,
                "answer_index": 0,
                "explanation": f"The lecture says: {choices[0]}.",
                "passage": _passage(material, choices[0]),
            }
            for question, choices in questions
        ],
    }


def _regenerate(api, material, run_jobs, capture) -> None:
    with capture(execute=True):
        assert api.post(f"/api/materials/{material.pk}/study/regenerate/").status_code == 202
    run_jobs()


@pytest.fixture
def moderator(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def _card(material: Material, front: str) -> Flashcard:
    return Flashcard.objects.get(material=material, front=front)


def test_second_generation_keeps_every_touched_item_with_its_history(
    biology, stub_openai, settings, api, moderator, run_jobs, django_capture_on_commit_callbacks
):
    settings.STUDY_BATCH_CHARS = 100_000
    capture = django_capture_on_commit_callbacks
    stub_openai.reply(_answer(biology, FIRST_CARDS, [LIGHT, GLYCOLYSIS, MEIOSIS]))
    _regenerate(api, biology, run_jobs, capture)
    assert biology.flashcards.filter(generator__startswith="hosted").count() == len(FIRST_CARDS)

    reviewed, edited, suspended, reported, hidden, untouched = (
        _card(biology, front) for front, _ in FIRST_CARDS
    )
    api.post(f"/api/flashcards/{reviewed.pk}/review/", {"rating": 3}, format="json")
    # Again ten minutes later (a second rating within seconds would count once).
    flashcard_review(card=reviewed, rating=1, now=timezone.now() + timedelta(minutes=10))
    api.patch(f"/api/flashcards/{edited.pk}/", {"back": "Thylakoids"}, format="json")
    api.patch(f"/api/flashcards/{suspended.pk}/", {"suspended": True}, format="json")
    api.post(f"/api/flashcards/{reported.pk}/report/", {"reason": "Vague"}, format="json")
    light, glycolysis, meiosis = (
        QuizQuestion.objects.get(material=biology, question=q)
        for q, _ in (LIGHT, GLYCOLYSIS, MEIOSIS)
    )
    api.post(f"/api/quiz/questions/{light.pk}/report/", {"reason": "Two right answers"})
    for model, row in (("flashcard", hidden), ("quizquestion", glycolysis)):
        changelist = f"/admin/materials/{model}/"
        moderator.post(changelist, {"action": "hide", "_selected_action": [row.pk]})
    reports = set(ContentReport.objects.values_list("pk", "flashcard_id", "question_id"))
    assert len(reports) == 2

    # The model writes something else entirely; only the meiosis question comes back.
    stub_openai.reply(_answer(biology, SECOND_CARDS, [MEIOSIS, SPINDLE]))
    _regenerate(api, biology, run_jobs, capture)

    kept = {card.pk: card for card in Flashcard.objects.filter(material=biology)}
    assert {reviewed.pk, edited.pk, suspended.pk, reported.pk, hidden.pk} <= set(kept)
    assert untouched.pk not in kept  # nobody used it: replaced like any generated item
    assert ReviewLog.objects.filter(card=reviewed).count() == 2
    assert kept[reviewed.pk].last_review is not None
    assert kept[edited.pk].back == "Thylakoids"
    assert kept[suspended.pk].is_suspended
    assert kept[hidden.pk].is_hidden
    assert set(ContentReport.objects.values_list("pk", "flashcard_id", "question_id")) == reports
    fronts = {card.front for card in kept.values()}
    assert {front for front, _ in SECOND_CARDS} <= fronts
    assert not any(card.source_changed for card in kept.values())  # the passages are all there

    # What the student sees: their cards, the new quiz with the unchanged question as it was.
    listed = api.get(f"/api/materials/{biology.pk}/flashcards/?page_size=100").json()["results"]
    assert {reviewed.pk, edited.pk, suspended.pk, reported.pk} <= {c["id"] for c in listed}
    quiz = api.get(f"/api/materials/{biology.pk}/quiz/").json()["questions"]
    assert [q["question"] for q in quiz] == [MEIOSIS[0], SPINDLE[0]]
    assert quiz[0]["id"] == meiosis.pk
    # The reported and the hidden question stay for the moderators, out of the quiz.
    light.refresh_from_db()
    glycolysis.refresh_from_db()
    assert light.is_retired and light.reports.count() == 1
    assert glycolysis.is_hidden
    assert QuizQuestion.objects.filter(material=biology).count() == 4


def test_a_kept_card_whose_passage_is_gone_says_source_changed(
    biology, api, logged_in, run_jobs, django_capture_on_commit_callbacks
):
    card = biology.flashcards.filter(origin="generated").first()
    api.post(f"/api/flashcards/{card.pk}/review/", {"rating": 3}, format="json")
    # The document is read differently now (a new copy of the file): other passages.
    biology.file.delete(save=False)
    biology.file.save("lecture.pdf", ContentFile(make_pdf(["A different text about rivers."])))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/materials/{biology.pk}/reprocess/").status_code == 202
    run_jobs()
    biology.refresh_from_db()
    assert biology.status == "ready", biology.error_detail

    card.refresh_from_db()
    assert card.source_changed and card.reviews.count() == 1
    assert api.get(f"/api/flashcards/{card.pk}/").json()["source_changed"] is True
    page = logged_in.get(f"/materials/{biology.pk}/flashcards/").content.decode()
    assert "Source changed" in page
