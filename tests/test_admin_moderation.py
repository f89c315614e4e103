"""Moderation in the admin, as a staff member would use it (real client, real views)."""

from __future__ import annotations

import django_rq
import pytest
from django.test import Client
from django.utils import timezone

from materials.models import ContentReport, Flashcard, Material
from tests.support.factories import MaterialFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/materials/{}/"


@pytest.fixture
def staff(db) -> Client:
    """A moderator's own browser (the student's `logged_in` client stays theirs)."""
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _card(owner, material) -> Flashcard:
    return Flashcard.objects.create(
        owner=owner, material=material, front="Wrong front", back="b", due=timezone.now()
    )


def test_failed_materials_filter_shows_the_translated_error(staff, user):
    MaterialFactory(owner=user, title="Locked notes", status="failed", error_code="pdf_encrypted")
    MaterialFactory(owner=user, title="Fine notes", status="ready")
    page = staff.get(CHANGELIST.format("material") + "?status__exact=failed").content.decode()
    assert "Locked notes" in page and "Fine notes" not in page
    assert "This PDF is password-protected." in page
    ru = staff.get(
        CHANGELIST.format("material") + "?status__exact=failed", HTTP_ACCEPT_LANGUAGE="ru"
    ).content.decode()
    assert "защищён паролем" in ru


def test_students_report_and_moderators_filter_by_reported(staff, user, logged_in, api):
    reported = MaterialFactory(owner=user, title="Garbled scan", status="ready")
    MaterialFactory(owner=user, title="Clean lecture", status="ready")
    response = logged_in.post(f"/materials/{reported.pk}/report/", {"reason": "text is garbled"})
    assert response.status_code == 302
    card, other_card = _card(user, reported), _card(user, reported)
    other_card.front = "Right front"
    other_card.save()
    assert api.post(f"/api/flashcards/{card.pk}/report/", {"reason": "x"}).status_code == 201
    assert api.post(f"/api/materials/{reported.pk}/report/", {}).status_code == 201

    materials = staff.get(CHANGELIST.format("material") + "?reported=open").content.decode()
    assert "Garbled scan" in materials and "Clean lecture" not in materials
    cards = staff.get(CHANGELIST.format("flashcard") + "?reported=any").content.decode()
    assert "Wrong front" in cards and "Right front" not in cards
    assert ContentReport.objects.filter(material=reported, reporter=user).count() == 2


def test_hide_and_unhide_a_material_and_a_card(staff, user, logged_in):
    material = MaterialFactory(owner=user, status="ready")
    card = _card(user, material)
    url = CHANGELIST.format("material")
    staff.post(url, {"action": "hide", "_selected_action": [material.pk]})
    assert logged_in.get(f"/materials/{material.pk}/").status_code == 404
    staff.post(url, {"action": "unhide", "_selected_action": [material.pk]})
    assert logged_in.get(f"/materials/{material.pk}/").status_code == 200

    staff.post(CHANGELIST.format("flashcard"), {"action": "hide", "_selected_action": [card.pk]})
    assert logged_in.get(f"/materials/flashcards/{card.pk}/edit/").status_code == 404
    staff.post(CHANGELIST.format("flashcard"), {"action": "unhide", "_selected_action": [card.pk]})
    assert logged_in.get(f"/materials/flashcards/{card.pk}/edit/").status_code == 200


def test_reprocess_action_queues_the_job(staff, user, django_capture_on_commit_callbacks):
    material = MaterialFactory(owner=user, status="failed", error_code="pdf_broken")
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            CHANGELIST.format("material"),
            {"action": "reprocess", "_selected_action": [material.pk]},
        )
    material.refresh_from_db()
    assert material.status == Material.Status.PENDING and material.error_code == ""
    assert material.job_id in django_rq.get_queue("default").job_ids


def test_hiding_the_target_of_a_material_report_resolves_it(staff, user, logged_in):
    material = MaterialFactory(owner=user, status="ready")
    logged_in.post(f"/materials/{material.pk}/report/", {"reason": "wrong"})
    report = ContentReport.objects.get()
    staff.post(
        CHANGELIST.format("contentreport"),
        {"action": "hide_target", "_selected_action": [report.pk]},
    )
    material.refresh_from_db()
    report.refresh_from_db()
    assert material.is_hidden and report.status == ContentReport.Status.RESOLVED


def test_moderators_see_which_questions_their_owner_hid_or_edited(staff, user):
    from materials.models import QuizQuestion

    material = MaterialFactory(owner=user, title="Cells", status="ready")
    kept, hidden = (
        QuizQuestion.objects.create(
            owner=user,
            material=material,
            question=text,
            choices=["a", "b"],
            answer_index=0,
            position=position,
        )
        for position, text in enumerate(["Kept question", "Hidden question"])
    )
    hidden.is_suspended, hidden.edited_at = True, timezone.now()
    hidden.save()
    page = staff.get(CHANGELIST.format("quizquestion") + "?is_suspended__exact=1").content.decode()
    assert "Hidden question" in page and "Kept question" not in page
    assert "By hidden from the quiz" in page  # offered as a filter, not only by URL
    change = staff.get(CHANGELIST.format("quizquestion") + f"{hidden.pk}/change/").content.decode()
    assert 'name="edited_at' not in change and "field-edited_at" in change
