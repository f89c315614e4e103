"""Exports (Anki, CSV, Markdown), the summary/notes API and the study pages."""

import csv
import io
import sqlite3
import zipfile

import pytest

pytestmark = pytest.mark.django_db


def test_anki_deck_is_a_zip_with_the_cards_and_their_source(api, biology, tmp_path):
    response = api.get(f"/api/materials/{biology.pk}/export/anki/")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.apkg"')
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert "collection.anki2" in archive.namelist()
    database = tmp_path / "collection.anki2"
    database.write_bytes(archive.read("collection.anki2"))
    with sqlite3.connect(database) as connection:
        rows = [row[0].split("\x1f") for row in connection.execute("SELECT flds FROM notes")]
    assert len(rows) == biology.flashcards.count()
    assert all(len(fields) == 3 for fields in rows)
    assert all(f"/materials/{biology.pk}/file/#page=" in fields[2] for fields in rows)


def test_csv_and_markdown_exports(api, biology):
    text = api.get(f"/api/materials/{biology.pk}/export/csv/").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == biology.flashcards.count() and rows[0]["page"] == "1"
    markdown = api.get(f"/api/materials/{biology.pk}/export/markdown/").content.decode()
    assert markdown.startswith("# Biology") and "## " in markdown and "#page=" in markdown
    assert api.get(f"/api/materials/{biology.pk}/export/pdf/").status_code == 404


def test_summary_and_notes_api(api, biology):
    summary = api.get(f"/api/materials/{biology.pk}/summary/").json()
    assert summary["text"] and summary["generator"] == "offline"
    notes = api.get(f"/api/materials/{biology.pk}/notes/").json()
    assert notes["generator"] == "offline"
    section = notes["sections"][0]
    assert section["heading"] and section["points"] and section["pages"]
    assert all(isinstance(point, str) for point in section["points"])


def test_study_pages_render_with_source_links(logged_in, biology):
    detail = logged_in.get(f"/materials/{biology.pk}/").content.decode()
    assert f"/materials/{biology.pk}/notes/" in detail and "Made offline" in detail
    notes = logged_in.get(f"/materials/{biology.pk}/notes/").content.decode()
    # Each note point opens the reader at its page, its sentence to be marked.
    assert f"/materials/{biology.pk}/read/?page=1&amp;q=" in notes
    cards = logged_in.get(f"/materials/{biology.pk}/flashcards/").content.decode()
    assert "Anki deck" in cards and "Add your own card" in cards
    review = logged_in.get("/materials/review/").content.decode()
    assert "js/review.js" in review and 'data-key="3"' in review
    quiz = logged_in.get(f"/materials/{biology.pk}/quiz/").content.decode()
    assert 'type="radio"' in quiz


def test_review_page_rates_and_moves_on(logged_in, biology):
    card = biology.flashcards.order_by("due", "id").first()
    response = logged_in.post(
        f"/materials/flashcards/{card.pk}/review/",
        {"rating": "3", "material": biology.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="review-card",
    )
    assert response.status_code == 200
    assert 'id="review-card"' in response.content.decode()
    card.refresh_from_db()
    assert card.reviews.count() == 1


def test_quiz_page_scores_and_brings_mistakes_back_as_cards(logged_in, biology):
    questions = list(biology.quiz_questions.all())
    wrong = (questions[0].answer_index + 1) % len(questions[0].choices)
    response = logged_in.post(f"/materials/{biology.pk}/quiz/", {f"q{questions[0].pk}": wrong})
    assert response.status_code == 302
    page = logged_in.get(response["Location"]).content.decode()
    assert f"0 of {len(questions)}" in page
    # The wrong answer's card is back in tomorrow's reviews; a skipped question is not.
    assert page.count("data-mistake") == 1
    assert biology.flashcards.filter(mistake_at__isnull=False).count() == 1
    # A question still becomes a card of its own on request (the API's route).
    logged_in.post(f"/materials/questions/{questions[1].pk}/flashcard/")
    assert biology.flashcards.filter(origin="quiz", front=questions[1].question).count() == 1


def test_card_pages_edit_suspend_delete_and_report(logged_in, biology):
    card = biology.flashcards.first()
    assert logged_in.get(f"/materials/flashcards/{card.pk}/edit/").status_code == 200
    logged_in.post(f"/materials/flashcards/{card.pk}/edit/", {"front": "Edited", "back": "Yes"})
    card.refresh_from_db()
    assert card.front == "Edited" and card.origin == "user"
    bad = logged_in.post(f"/materials/flashcards/{card.pk}/edit/", {"front": "", "back": "x"})
    assert bad.status_code == 400
    logged_in.post(f"/materials/flashcards/{card.pk}/suspend/")
    card.refresh_from_db()
    assert card.is_suspended
    logged_in.post(f"/materials/flashcards/{card.pk}/report/", {"reason": "typo"})
    assert card.reports.count() == 1
    logged_in.post(f"/materials/{biology.pk}/flashcards/add/", {"front": "Q", "back": "A"})
    assert biology.flashcards.filter(front="Q").exists()
    logged_in.post(f"/materials/flashcards/{card.pk}/delete/")
    assert not biology.flashcards.filter(pk=card.pk).exists()


def test_other_users_pages_are_404(client, other_user, biology):
    client.force_login(other_user)
    card = biology.flashcards.first()
    for url in (
        f"/materials/{biology.pk}/notes/",
        f"/materials/{biology.pk}/flashcards/",
        f"/materials/{biology.pk}/quiz/",
        f"/materials/{biology.pk}/export/anki/",
        f"/materials/flashcards/{card.pk}/edit/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/materials/flashcards/{card.pk}/delete/").status_code == 404
    assert client.get("/materials/review/").context["card"] is None


def test_the_empty_dashboard_and_the_added_card_badge_are_in_russian(client):
    """Both strings had no Russian: one entry's msgid had swallowed its translation."""
    from django.utils import translation

    from tests.support.factories import UserFactory

    client.force_login(UserFactory())
    page = client.get("/", headers={"accept-language": "ru"}).content.decode()

    assert "No materials yet" not in page and "Материалов пока нет" in page
    with translation.override("ru"):
        assert translation.gettext("Added to your cards") == "Добавлено в ваши карточки"
