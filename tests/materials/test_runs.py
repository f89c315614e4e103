"""Reprocess and regenerate: one run in flight per material, and each counted.

A loop on `POST /api/materials/{id}/reprocess/` used to start a full pipeline
(and up to STUDY_TOKEN_BUDGET hosted tokens) per request. A student's request
is now refused with 409 while a run is in flight and counts one upload and one
AI call of the day (429 when spent); a moderator's or the sweep's costs the
student nothing.
"""

from __future__ import annotations

import pytest

from eduplatform import quota
from materials.models import Material
from tests.support.factories import MaterialFactory, UserFactory

pytestmark = pytest.mark.django_db


def _ready(user) -> Material:
    return MaterialFactory(owner=user, status="ready", stage="ready", progress=100)


def test_student_reprocess_counts_against_both_daily_limits(
    api, user, settings, run_jobs, django_capture_on_commit_callbacks
):
    settings.DAILY_UPLOAD_LIMIT = 1
    material = _ready(user)
    url = f"/api/materials/{material.pk}/reprocess/"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url).status_code == 202
    assert quota.used(user, quota.UPLOAD) == 1 and quota.used(user, quota.AI) == 1
    run_jobs()  # the run ends (failed: the factory's material has no file)

    refused = api.post(url)
    assert refused.status_code == 429
    assert refused.json()["code"] == "daily_limit"
    assert "1 materials processed" in refused.json()["detail"]
    russian = api.post(url, HTTP_ACCEPT_LANGUAGE="ru").json()["detail"]
    assert "лимит" in russian and "1" in russian
    assert quota.used(user, quota.AI) == 1  # the refused request gave its AI call back
    material.refresh_from_db()
    assert material.attempts == 1 and material.status == "failed"


def test_reprocess_over_the_ai_limit_gives_the_upload_back(api, user, settings):
    settings.DAILY_AI_CALL_LIMIT = 1
    quota.reserve(user, quota.AI)
    response = api.post(f"/api/materials/{_ready(user).pk}/reprocess/")
    assert response.status_code == 429
    assert "tutor questions and generations" in response.json()["detail"]
    assert quota.used(user, quota.UPLOAD) == 0


def test_reprocess_while_a_run_is_in_flight_is_409(api, user):
    material = MaterialFactory(owner=user, status="processing", stage="embedding", attempts=1)
    response = api.post(f"/api/materials/{material.pk}/reprocess/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "This material is already being processed. Wait until it is ready or has failed.",
        "code": "in_flight",
    }
    russian = api.post(f"/api/materials/{material.pk}/reprocess/", HTTP_ACCEPT_LANGUAGE="ru")
    assert russian.status_code == 409 and "уже обрабатывается" in russian.json()["detail"]
    material.refresh_from_db()
    assert material.attempts == 1  # nothing started
    assert quota.used(user, quota.UPLOAD) == 0 and quota.used(user, quota.AI) == 0


def test_page_reprocess_in_flight_says_why(logged_in, user):
    material = MaterialFactory(owner=user, status="pending", stage="queued")
    response = logged_in.post(f"/materials/{material.pk}/reprocess/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"]
    page = logged_in.get(f"/materials/{material.pk}/").content.decode()
    assert "already being processed" in page


def test_regenerate_while_a_run_is_in_flight_is_409(api, user, django_capture_on_commit_callbacks):
    material = _ready(user)
    url = f"/api/materials/{material.pk}/study/regenerate/"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url).status_code == 202
    again = api.post(url)
    assert again.status_code == 409 and again.json()["code"] == "in_flight"
    assert quota.used(user, quota.AI) == 1

    processing = MaterialFactory(owner=user, status="processing")
    response = api.post(f"/api/materials/{processing.pk}/study/regenerate/")
    assert response.status_code == 409


def test_moderators_reprocess_costs_the_student_nothing(
    client, user, django_capture_on_commit_callbacks
):
    material = MaterialFactory(owner=user, status="processing", attempts=1)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/materials/material/",
            {"action": "reprocess", "_selected_action": [material.pk]},
        )
    material.refresh_from_db()
    assert material.attempts == 2  # a moderator may supersede a run in flight
    assert quota.used(user, quota.UPLOAD) == 0 and quota.used(user, quota.AI) == 0
