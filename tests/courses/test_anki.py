"""A course's cards as one Anki package, a sub-deck per unit, for its members only.

The package is opened as Anki would: a zip holding a SQLite collection
(Python's sqlite3 reads the exported file; our database stays PostgreSQL).
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from django.test import Client

from courses.models import CourseMaterial
from courses.services import (
    course_create,
    course_join,
    invite_create,
    member_remove,
    member_set_role,
    unit_create,
)
from materials.study.services import flashcard_update
from tests.support.factories import UserFactory
from tests.support.reviews import many_cards

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    owner = UserFactory()
    course = course_create(owner=owner, title="Biology")
    cells = unit_create(course=course, title="Cells")
    genetics = unit_create(course=course, title="Genetics::DNA")
    membranes = many_cards(owner, 4, title="Membranes")
    flashcard_update(card=membranes.flashcards.order_by("position").last(), is_suspended=True)
    CourseMaterial.objects.create(unit=cells, material=membranes)
    CourseMaterial.objects.create(unit=genetics, material=many_cards(owner, 2, title="Genes"))
    # The same material in a second unit: its cards are in the package once.
    CourseMaterial.objects.create(unit=genetics, material=membranes)
    hidden = many_cards(owner, 5, title="Draft")
    hidden.is_hidden = True
    hidden.save(update_fields=["is_hidden"])
    CourseMaterial.objects.create(unit=genetics, material=hidden)
    members = {"owner": owner, "teacher": UserFactory(), "student": UserFactory()}
    for role in ("teacher", "student"):
        course_join(user=members[role], code=invite_create(course=course, by=owner).code)
    member_set_role(
        membership=course.memberships.get(user=members["teacher"]), role="teacher", by=owner
    )
    return course, members


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _collection(body: bytes, folder: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(io.BytesIO(body)) as package:
        assert "collection.anki2" in package.namelist()
        package.extract("collection.anki2", folder)
    return sqlite3.connect(folder / "collection.anki2")


def _cards_per_deck(body: bytes, folder: Path) -> dict[str, list[str]]:
    """Each deck's name and the fronts of its cards, as Anki's collection holds them."""
    db = _collection(body, folder)
    try:
        decks = json.loads(db.execute("select decks from col").fetchone()[0])
        names = {int(deck_id): deck["name"] for deck_id, deck in decks.items()}
        rows = db.execute(
            "select cards.did, notes.flds from cards join notes on notes.id = cards.nid "
            "order by cards.did, notes.id"
        ).fetchall()
    finally:
        db.close()
    found: dict[str, list[str]] = {names[did]: [] for did in names if names[did] != "Default"}
    for did, fields in rows:
        found[names[did]].append(fields.split("\x1f")[0])
    return found


@pytest.mark.parametrize("role", ["owner", "teacher", "student"])
def test_every_member_downloads_the_course_as_a_deck_per_unit(course, role, tmp_path):
    course_row, members = course

    response = _client(members[role]).get(f"/courses/{course_row.pk}/anki/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/apkg"
    assert f'filename="course-{course_row.pk}.apkg"' in response["Content-Disposition"]
    decks = _cards_per_deck(response.content, tmp_path)
    assert decks == {
        # The suspended card is left out, as in the members' review queue.
        "Biology::Cells": ["Question 0", "Question 1", "Question 2"],
        # "::" inside a unit title would nest a third deck; the hidden material is left out.
        "Biology::Genetics:DNA": ["Question 0", "Question 1"],
    }


def test_the_course_page_offers_the_anki_package_to_a_student(course):
    course_row, members = course

    page = _client(members["student"]).get(f"/courses/{course_row.pk}/").content.decode()
    russian = (
        _client(members["student"])
        .get(f"/courses/{course_row.pk}/", headers={"accept-language": "ru"})
        .content.decode()
    )

    assert f'href="/courses/{course_row.pk}/anki/"' in page and "Study in Anki" in page
    assert "Учить в Anki" in russian


def test_an_outsider_or_a_removed_student_gets_404(course):
    course_row, members = course
    member_remove(
        membership=course_row.memberships.get(user=members["student"]), by=members["owner"]
    )

    assert _client(UserFactory()).get(f"/courses/{course_row.pk}/anki/").status_code == 404
    assert _client(members["student"]).get(f"/courses/{course_row.pk}/anki/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(course):
    course_row, _members = course

    response = Client().get(f"/courses/{course_row.pk}/anki/")

    assert response.status_code == 302 and "login" in response["Location"]


def test_the_course_deck_reads_a_fixed_number_of_queries_however_many_materials(course):
    """One query per material made a big course's export slow (N+1)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from courses.exports import course_decks

    course_row, members = course
    with CaptureQueriesContext(connection) as before:
        course_decks(course=course_row)
    unit = course_row.units.first()
    for n in range(3):
        CourseMaterial.objects.create(
            unit=unit, material=many_cards(members["owner"], 2, title=f"More {n}")
        )
    with CaptureQueriesContext(connection) as after:
        decks = course_decks(course=course_row)

    assert len(after) == len(before)
    assert sum(len(deck.cards) for deck in decks) == 3 + 2 + 3 + 3 * 2
