"""RQ entry points: load by id, call the pipeline, record the outcome."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.timeouts import JobTimeoutException

from eduplatform.ai import AIUnavailable
from materials import ingest
from materials.errors import ProcessingError, Superseded
from materials.models import Material
from materials.progress import material_fail, material_job_started, material_retry_scheduled
from materials.services import material_requeue_stalled
from materials.study.generation import study_sets_fail_stalled

logger = logging.getLogger(__name__)

# Worth RQ's next try: a service that is briefly away. Anything else (a bug, a
# file that times out) would fail the same way again, so it fails at once.
TRANSIENT = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)


def material_process(material_id: int, attempt: int) -> None:
    material = Material.objects.filter(pk=material_id).first()
    if material is None or material.attempts != attempt:
        # Deleted, or superseded by a newer "Reprocess": nothing to do.
        return
    material_job_started(material=material)
    try:
        ingest.material_process(material=material)
    except Superseded:
        logger.info("material %s attempt %s superseded; stopped", material_id, attempt)
    except (ProcessingError, AIUnavailable) as exc:
        if not exc.permanent:
            raise
        material_fail(material=material, code=exc.code, detail=exc.detail)
    except TRANSIENT:
        raise
    except JobTimeoutException as exc:
        material_fail(material=material, code="timeout", detail=str(exc))
    except Exception as exc:
        logger.exception("material %s failed", material_id)
        material_fail(material=material, code="internal", detail=f"{type(exc).__name__}: {exc}")


def on_process_failure(job: Job, connection: object, exc_type, exc_value, tb) -> None:
    """Called by RQ after every failed try (and for a job whose worker died).

    With tries left the student sees what failed and when the next try is;
    after the last one the material is failed with its message.
    """
    material_id, attempt = job.args
    material = Material.objects.filter(pk=material_id, attempts=attempt).first()
    if material is None:
        return
    if isinstance(exc_value, (ProcessingError, AIUnavailable)):
        code = exc_value.code
    else:
        code = "interrupted" if exc_type is AbandonedJobError else "internal"
    detail = f"{exc_type.__name__}: {exc_value}"
    if job.retries_left:
        number = len(job.retry_intervals or []) - job.retries_left + 1
        logger.warning("material %s try %s failed (%s); retrying", material_id, number, code)
        material_retry_scheduled(
            material=material,
            code=code,
            detail=detail,
            retry_in=job.get_retry_interval(),
            number=number,
        )
        return
    material_fail(material=material, code=code, detail=detail)


def sweep_stalled_materials() -> int:
    study_sets_fail_stalled()
    return material_requeue_stalled()
