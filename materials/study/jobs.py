"""RQ entry points: generating study content alone (the "retry" of that stage), fitting FSRS.

Each job bears the name of the service it calls.
"""

from __future__ import annotations

import logging

from rq.job import Job

from accounts.models import User
from materials.errors import Superseded
from materials.models import Material
from materials.study import generation, services

logger = logging.getLogger(__name__)


def study_generate(material_id: int, attempt: int, job_id: str) -> None:
    material = Material.objects.filter(pk=material_id, attempts=attempt).first()
    if material is None or material.status != Material.Status.READY:
        # Deleted, or being processed again (which generates at its end anyway).
        return
    try:
        generation.study_generate(material=material, job_id=job_id)
    except Superseded:
        logger.info("study content of material %s: job %s superseded", material_id, job_id)


def on_generate_failure(job: Job, connection: object, exc_type, exc_value, tb) -> None:
    """After the last try (a worker died, the database stayed away): fail visibly."""
    if job.retries_left:
        return
    material_id, _attempt, job_id = job.args
    generation.study_set_fail(
        material_id=material_id,
        job_id=job_id,
        code="interrupted",
        detail=f"{exc_type.__name__}: {exc_value}",
    )


def fsrs_optimize(user_id: int) -> None:
    """Fit the student's FSRS parameters to their reviews (queued by a review)."""
    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        services.fsrs_optimize(user=user)
