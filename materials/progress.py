"""A run's writes on its material row: progress, heartbeat, a try begun, a retry due, failure.

The pipeline, the jobs and the study generator all write here, and so do the
services (the sweep fails a material whose job keeps dying); keeping these
writes apart from `materials.services` lets the pipeline report progress
without importing the module that queues it.

Every write is fenced by the material's attempt: a run that a newer one has
superseded writes nothing (progress and heartbeat raise Superseded so it stops).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from materials.errors import Superseded
from materials.models import Material

logger = logging.getLogger(__name__)


def material_set_progress(
    *, material: Material, stage: str, progress: int, reading: dict[str, int] | None = None
) -> None:
    """Record how far the job is, visible at once (outside any open transaction).

    `reading` replaces the material's page-reading report (pages recognised so far).
    Raises Superseded when a newer attempt owns the material: an old run stops there.
    """
    progress = max(0, min(100, int(progress)))
    updates = {"reading": dict(reading)} if reading is not None else {}
    written = Material.objects.filter(pk=material.pk, attempts=material.attempts).update(
        status=Material.Status.PROCESSING,
        stage=stage,
        progress=progress,
        heartbeat_at=timezone.now(),
        **updates,
    )
    if not written:
        raise Superseded(f"material {material.pk} attempt {material.attempts} superseded")
    material.stage, material.progress = stage, progress


def material_heartbeat(*, material: Material) -> None:
    """Tell the sweep this run is alive; raise Superseded if a newer run took over.

    For stages that report no progress of their own (study content generation).
    """
    written = Material.objects.filter(pk=material.pk, attempts=material.attempts).update(
        heartbeat_at=timezone.now()
    )
    if not written:
        raise Superseded(f"material {material.pk} attempt {material.attempts} superseded")


def material_job_started(*, material: Material) -> None:
    """A try begins: the note of the last failed try (and its countdown) goes."""
    Material.objects.filter(pk=material.pk, attempts=material.attempts).update(
        error_code="", error_detail="", retry_at=None
    )


def material_retry_scheduled(
    *, material: Material, code: str, detail: str, retry_in: int, number: int
) -> None:
    """A transient failure, to be tried again by RQ: the student sees what and when.

    "YouTube could not be reached — trying again in 60 s, 2 of 3", with the
    subtitle upload offered at once for a video.
    """
    now = timezone.now()
    Material.objects.filter(pk=material.pk, attempts=material.attempts).exclude(
        status__in=[Material.Status.READY, Material.Status.FAILED]
    ).update(
        status=Material.Status.PENDING,
        stage=Material.Stage.RETRYING,
        error_code=code,
        error_detail=detail[:4000],
        retry_at=now + timedelta(seconds=retry_in),
        retry_number=number,
        heartbeat_at=now,
    )


def material_fail(*, material: Material, code: str, detail: str = "") -> None:
    """Mark failed, unless it is already ready or a newer attempt owns it.

    A late failure never moves a ready material back, nor fails a newer run.
    """
    Material.objects.filter(pk=material.pk, attempts=material.attempts).exclude(
        status=Material.Status.READY
    ).update(
        status=Material.Status.FAILED,
        stage=Material.Stage.FAILED,
        error_code=code,
        error_detail=detail[:4000],
        retry_at=None,
        heartbeat_at=timezone.now(),
    )
    logger.info("material %s failed: %s", material.pk, code)


def material_lock_attempt(*, material: Material) -> None:
    """Inside a transaction: hold the material's row, or stop if a newer attempt owns it."""
    if not Material.objects.select_for_update().filter(pk=material.pk, attempts=material.attempts):
        raise Superseded(f"material {material.pk} attempt {material.attempts} superseded")
