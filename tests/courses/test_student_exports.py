"""A course student downloads a shared material's cards as they study them: CSV and Anki.

Their private wording replaces the teacher's, the cards they hid and those
the teacher hid (suspended) or a moderator hid are left out, their own cards
on the material are in. Outsiders and removed students get 404; the notes'
Markdown stays the owner's.
"""

from __future__ import annotations

import csv
import html
import io
import sqlite3
import zipfile
from pathlib import Path

import pytest

from courses.models import CourseMaterial
from courses.services import course_create, course_join, invite_create, member_remove, unit_create
from materials.study.services import flashcard_create, flashcard_update, private_edit_save
from tests.support.clients import signed_in, token_client
from tests.support.factories import UserFactory
from tests.support.reviews import many_cards

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_export_rate(settings) -> None:
    settings.EXPORT_PER_MINUTE = 0


@pytest.fixture
def world():
    """Five teacher's cards: Anna rewords card 0 and hides card 1, the teacher
    suspends card 2, a moderator hides card 3; Anna has her own card too."""
    teacher = UserFactory()
    material = many_cards(teacher, 5, title="Cells")
    course = course_create(owner=teacher, title="Biology")
    CourseMaterial.objects.create(unit=unit_create(course=course, title="Cells"), material=material)
    users = {name: UserFactory() for name in ("anna", "boris", "removed", "outsider")}
    for name in ("anna", "boris", "removed"):
        course_join(user=users[name], code=invite_create(course=course, by=teacher).code)
    member_remove(membership=course.memberships.get(user=users["removed"]), by=teacher)
    cards = list(material.flashcards.order_by("position"))
    private_edit_save(user=users["anna"], card=cards[0], front="My own front")
    private_edit_save(user=users["anna"], card=cards[1], is_hidden=True)
    flashcard_update(card=cards[2], is_suspended=True)
    cards[3].is_hidden = True
    cards[3].save(update_fields=["is_hidden"])
    flashcard_create(owner=users["anna"], material=material, front="Anna's card", back="Hers")
    return {"teacher": teacher, "material": material, "cards": cards, **users}


def _csv_fronts(body: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return [row[0] for row in rows[1:]]


def _apkg_fronts(body: bytes, folder: Path) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(body)) as package:
        package.extract("collection.anki2", folder)
    db = sqlite3.connect(folder / "collection.anki2")
    try:
        rows = db.execute("select flds from notes order by id").fetchall()
    finally:
        db.close()
    # Anki's fields are HTML.
    return sorted(html.unescape(fields.split("\x1f")[0]) for (fields,) in rows)


ANNA_SEES = ["Anna's card", "My own front", "Question 4"]
BORIS_SEES = ["Question 0", "Question 1", "Question 4"]


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_student_downloads_the_cards_as_they_study_them(world, via, tmp_path):
    material = world["material"]
    for who, expected in (("anna", ANNA_SEES), ("boris", BORIS_SEES)):
        client = signed_in(world[who]) if via == "page" else token_client(world[who])
        prefix = "/materials" if via == "page" else "/api/materials"
        as_csv = client.get(f"{prefix}/{material.pk}/export/csv/")
        assert as_csv.status_code == 200, who
        assert as_csv["Content-Type"].startswith("text/csv")
        assert sorted(_csv_fronts(as_csv.content)) == expected, who
        as_anki = client.get(f"{prefix}/{material.pk}/export/anki/")
        assert as_anki.status_code == 200, who
        assert as_anki["Content-Type"] == "application/apkg"
        assert _apkg_fronts(as_anki.content, tmp_path / who / via) == expected, who


def test_the_owners_download_is_unchanged(world):
    body = signed_in(world["teacher"]).get(f"/materials/{world['material'].pk}/export/csv/").content
    # The owner's own cards as they are, suspended ones too; no student's wording.
    assert sorted(_csv_fronts(body)) == ["Question 0", "Question 1", "Question 2", "Question 4"]


@pytest.mark.parametrize("who", ["removed", "outsider"])
def test_outsiders_and_removed_students_get_404(world, who):
    pk = world["material"].pk
    for fmt in ("csv", "anki", "markdown"):
        assert signed_in(world[who]).get(f"/materials/{pk}/export/{fmt}/").status_code == 404
        assert token_client(world[who]).get(f"/api/materials/{pk}/export/{fmt}/").status_code == 404


def test_the_notes_markdown_stays_the_owners(world):
    pk = world["material"].pk
    assert signed_in(world["anna"]).get(f"/materials/{pk}/export/markdown/").status_code == 404
    assert (
        token_client(world["anna"]).get(f"/api/materials/{pk}/export/markdown/").status_code == 404
    )
    assert signed_in(world["teacher"]).get(f"/materials/{pk}/export/markdown/").status_code == 200


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Download the cards as you study them", "Anki deck (.apkg)"]),
        ("ru", ["Скачать карточки такими, какими вы их учите", "Колода Anki"]),
    ],
)
def test_the_flashcards_page_offers_the_download_in_both_languages(world, language, words):
    pk = world["material"].pk
    page = signed_in(world["anna"], language).get(f"/materials/{pk}/flashcards/").content.decode()
    assert all(word in page for word in words), [w for w in words if w not in page]
    assert f"/materials/{pk}/export/csv/" in page and f"/materials/{pk}/export/anki/" in page
