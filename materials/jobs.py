"""RQ entry points: load by id, call the pipeline, record the outcome."""

from __future__ import annotations

import logging

from rq.job import Job

from materials.errors import ProcessingError
from materials.models import Material
from materials.pipeline.process import material_process
from materials.services import material_fail, material_requeue_stalled

logger = logging.getLogger(__name__)


def process_material(material_id: int, attempt: int) -> None:
    material = Material.objects.filter(pk=material_id).first()
    if material is None or material.attempts != attempt:
        # Deleted, or superseded by a newer "Reprocess": nothing to do.
        return
    try:
        material_process(material=material)
    except ProcessingError as exc:
        if exc.permanent:
            material_fail(material=material, code=exc.code, detail=exc.detail)
            return
        material.refresh_from_db(fields=["error_code"])
        raise


def on_process_failure(job: Job, connection: object, exc_type, exc_value, tb) -> None:  # noqa: ANN001
    """Called by RQ after every failed run; only the last one marks the row failed."""
    material_id, attempt = job.args
    if job.retries_left:
        logger.warning("material %s attempt failed, %s retries left", material_id, job.retries_left)
        return
    material = Material.objects.filter(pk=material_id, attempts=attempt).first()
    if material is None:
        return
    code = exc_value.code if isinstance(exc_value, ProcessingError) else "internal"
    material_fail(material=material, code=code, detail=f"{exc_type.__name__}: {exc_value}")


def sweep_stalled_materials() -> int:
    return material_requeue_stalled()
