"""The stalled-job sweep asks RQ before it requeues; a superseded run writes nothing.

Real queue, real jobs: a job waiting in the queue or for its retry is left
alone however quiet its row; a lost job is queued again; an old run that a
newer attempt superseded stops at its first write; generation beats; a study
set left "being made" with no job behind it ends failed, with "Try again".
The worker-killed cases run real worker processes (tests/test_faults.py).
"""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from materials.errors import Superseded
from materials.ingest import material_process
from materials.models import Material, StudySet
from materials.services import material_enqueue, material_requeue_stalled
from materials.study.generation import study_generate, study_regenerate, study_sets_fail_stalled
from tests.support.factories import MaterialFactory
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db
PDF = make_pdf(["Osmosis moves water across a membrane. " * 30, "Diffusion spreads. " * 30])


def _queued(user, capture) -> Material:
    material = MaterialFactory(owner=user, title="Cells")
    material.file.save("cells.pdf", ContentFile(PDF))
    with capture(execute=True):
        material_enqueue(material=material)
    material.refresh_from_db()
    return material


def _quiet_for(material: Material, minutes: int) -> None:
    Material.objects.filter(pk=material.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_a_job_waiting_in_a_long_queue_is_left_alone(user, django_capture_on_commit_callbacks):
    material = _queued(user, django_capture_on_commit_callbacks)
    _quiet_for(material, 60)  # an hour in the queue behind other students' books
    assert material_requeue_stalled() == 0
    assert Material.objects.get(pk=material.pk).attempts == material.attempts
    assert django_rq.get_queue("default").job_ids == [material.job_id]


def test_a_lost_job_is_queued_again_and_runs(user, run_jobs, django_capture_on_commit_callbacks):
    material = _queued(user, django_capture_on_commit_callbacks)
    django_rq.get_connection("default").flushdb()  # the queue lost it
    _quiet_for(material, 60)
    with django_capture_on_commit_callbacks(execute=True):
        assert material_requeue_stalled() == 1
    run_jobs()
    material.refresh_from_db()
    assert material.status == "ready", material.error_detail
    assert material.attempts == 2


def test_a_job_that_keeps_dying_ends_failed_with_a_message(
    user, django_capture_on_commit_callbacks
):
    material = _queued(user, django_capture_on_commit_callbacks)
    Material.objects.filter(pk=material.pk).update(requeues=3)
    django_rq.get_connection("default").flushdb()
    assert material_requeue_stalled(stale_after=timedelta(0)) == 0
    material.refresh_from_db()
    assert material.status == "failed" and material.error_code == "interrupted"
    assert "interrupted several times" in material.error


def test_a_superseded_run_writes_nothing(user, django_capture_on_commit_callbacks):
    material = _queued(user, django_capture_on_commit_callbacks)
    old_run = Material.objects.get(pk=material.pk)
    with django_capture_on_commit_callbacks(execute=True):
        material_enqueue(material=Material.objects.get(pk=material.pk))  # "Reprocess"
    with pytest.raises(Superseded):
        material_process(material=old_run)
    material.refresh_from_db()
    assert (material.status, material.stage, material.attempts) == ("pending", "queued", 2)
    assert not material.chunks.exists()


def test_a_superseded_generation_writes_nothing(biology, django_capture_on_commit_callbacks):
    old_run = Material.objects.get(pk=biology.pk)
    cards = set(biology.flashcards.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        material_enqueue(material=Material.objects.get(pk=biology.pk))
    with pytest.raises(Superseded):
        study_generate(material=old_run)
    assert set(biology.flashcards.values_list("pk", flat=True)) == cards
    assert StudySet.objects.get(material=biology).status == "ready"


def test_generation_beats(biology, stub_openai, settings):
    settings.STUDY_BATCH_CHARS = 1  # one request per passage
    before = timezone.now() - timedelta(hours=1)
    Material.objects.filter(pk=biology.pk).update(heartbeat_at=before)
    biology.refresh_from_db()
    study_generate(material=biology)
    assert len(stub_openai.chat_requests()) >= 2
    biology.refresh_from_db()
    assert biology.heartbeat_at > before + timedelta(minutes=59)


def test_a_study_set_left_being_made_fails_visibly(
    biology,
    logged_in,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        study_regenerate(material=biology)
    django_rq.get_connection("default").flushdb()  # its job is gone
    StudySet.objects.filter(material=biology).update(
        updated_at=timezone.now() - timedelta(minutes=30)
    )
    assert study_sets_fail_stalled() == 1
    page = logged_in.get(f"/materials/{biology.pk}/notes/").content.decode()
    assert "Making study content was interrupted." in page and "Try again" in page


def test_a_waiting_study_set_is_left_alone(biology, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        study_regenerate(material=biology)
    assert study_sets_fail_stalled(stale_after=timedelta(0)) == 0
    assert StudySet.objects.get(material=biology).status == "pending"
