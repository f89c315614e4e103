"""The one way to queue a job, and the one way to ask RQ whether a job still lives.

Jobs are queued after the transaction commits (a worker must see the row),
by dotted path (no import of the job module, so no import loops). The queue
being unreachable is not the request's failure: the caller says what to
record instead, and the sweep queues the work once the queue answers.

Whether a job lives is asked of RQ itself (the job's status, the queue, the
scheduled and started registries, the worker's registration and process)
rather than guessed from how long a row has been quiet: a job waiting in a
long queue or a retry waiting for its time is alive, however old its row.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import django_rq
import psutil
from django.conf import settings
from django.db import transaction
from redis.exceptions import RedisError
from rq import Retry, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

logger = logging.getLogger(__name__)

QUEUE = "default"


def enqueue_on_commit(
    func: str, *args: Any, job_id: str, on_unreachable: Callable[[], None], **options: Any
) -> None:
    """Queue `func` (a dotted path) once the transaction commits.

    When the queue cannot be reached, `on_unreachable` runs instead (in its own
    transaction) and the request goes on: what was saved stays saved.
    """

    def enqueue() -> None:
        try:
            # Already after the commit: django_rq must not defer it a second time
            # (its own on-commit mode would, inside a test's transaction).
            queue = django_rq.get_queue(QUEUE, commit_mode="auto")
            queue.enqueue(func, *args, job_id=job_id, **options)
        except RedisError:
            logger.warning("queue unreachable: job %s not queued", job_id, exc_info=True)
            on_unreachable()

    transaction.on_commit(enqueue)


def transient_retry() -> Retry:
    """RQ's further tries of a job (`PROCESS_RETRY_INTERVALS`).

    Only transient failures reach them (the job itself fails the rest at once),
    and a worker that died mid-job.
    """
    intervals = settings.PROCESS_RETRY_INTERVALS
    return Retry(max=len(intervals), interval=list(intervals))


def _worker_alive(name: str, connection: Any) -> bool:
    """The worker is registered and, when it runs on this machine, its process is there.

    A worker killed with SIGKILL stays registered until its key expires (a
    job's timeout later, for a worker that runs jobs in its own process); on
    this machine its missing process tells at once.
    """
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=connection)
    if worker is None:
        return False
    if worker.hostname == socket.gethostname() and worker.pid:
        try:
            return psutil.Process(worker.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    return True


def job_alive(job_id: str, *, overdue_after: timedelta) -> bool:
    """Whether RQ will still run (or is running) this job.

    Waiting in the queue, deferred, or scheduled (a retry) counts as alive,
    unless a scheduled job is `overdue_after` past its time (no scheduler
    runs). A started job is alive while its worker is. Finished, failed,
    stopped, cancelled and unknown jobs are not.
    """
    if not job_id:
        return False
    queue = django_rq.get_queue(QUEUE)
    connection = queue.connection
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        return any(
            connection.lpos(key, job_id) is not None
            for key in (queue.key, queue.intermediate_queue_key)
        )
    if status == JobStatus.DEFERRED:
        return True
    if status == JobStatus.SCHEDULED:
        at = queue.scheduled_job_registry.get_scheduled_time(job_id)
        return at is not None and at.astimezone(UTC) + overdue_after > datetime.now(UTC)
    if status == JobStatus.STARTED:
        return bool(job.worker_name and _worker_alive(job.worker_name, connection))
    return False
