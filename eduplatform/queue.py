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
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import django_rq
import psutil
from django.conf import settings
from django.db import transaction
from redis.exceptions import RedisError
from rq import Callback, Retry, Worker
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

logger = logging.getLogger(__name__)

QUEUE = "default"
# Background work no student waits for (fitting FSRS parameters): a worker
# takes it only when `default` is empty, so it never delays an upload.
LOW_QUEUE = "low"
# The queues every worker serves, in the order it serves them (make run's
# runner, docker-compose.yml, the tests' workers).
QUEUES = (QUEUE, LOW_QUEUE)


def enqueue_on_commit(
    func: str,
    *args: Any,
    job_id: str,
    on_unreachable: Callable[[], None],
    queue: str = QUEUE,
    once: bool = False,
    **options: Any,
) -> None:
    """Queue `func` (a dotted path) on `queue` once the transaction commits.

    When the queue cannot be reached, `on_unreachable` runs instead (in its own
    transaction) and the request goes on: what was saved stays saved.

    `once`: not while a job of this id still waits or runs. RQ refuses a second
    job of one id atomically, so concurrent requests queue it once; a finished,
    failed or lost job of that id, which RQ may still keep, is replaced.
    """

    def enqueue() -> None:
        try:
            # Already after the commit: django_rq must not defer it a second time
            # (its own on-commit mode would, inside a test's transaction).
            rq_queue = django_rq.get_queue(queue, commit_mode="auto")
            if not once:
                rq_queue.enqueue(func, *args, job_id=job_id, **options)
                return
            try:
                rq_queue.enqueue(func, *args, job_id=job_id, unique=True, **options)
            except DuplicateJobError:
                if job_alive(job_id, overdue_after=timedelta(minutes=5), queue=queue):
                    return
                with suppress(NoSuchJobError):
                    Job.fetch(job_id, connection=rq_queue.connection).delete()
                rq_queue.enqueue(func, *args, job_id=job_id, unique=True, **options)
        except DuplicateJobError:
            pass  # a request beside this one queued it in between
        except RedisError:
            logger.warning("queue unreachable: job %s not queued", job_id, exc_info=True)
            on_unreachable()

    transaction.on_commit(enqueue)


def enqueue_run_on_commit(
    func: str, *args: Any, job_id: str, on_unreachable: Callable[[], None], on_failure: str
) -> None:
    """Queue a long run (a material's processing, its study content) once the transaction commits.

    Such runs share their options: the run's time limit (`PROCESS_JOB_TIMEOUT`),
    RQ's further tries of transient failures, `on_failure` (a dotted path)
    after every failed try, and a week to read a failure.
    """
    enqueue_on_commit(
        func,
        *args,
        job_id=job_id,
        on_unreachable=on_unreachable,
        job_timeout=settings.PROCESS_JOB_TIMEOUT,
        retry=transient_retry(),
        on_failure=Callback(on_failure),
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )


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


def job_alive(job_id: str, *, overdue_after: timedelta, queue: str = QUEUE) -> bool:
    """Whether RQ will still run (or is running) this job of `queue`.

    Waiting in the queue, deferred, or scheduled (a retry) counts as alive,
    unless a scheduled job is `overdue_after` past its time (no scheduler
    runs). A started job is alive while its worker is. Finished, failed,
    stopped, cancelled and unknown jobs are not.
    """
    if not job_id:
        return False
    rq_queue = django_rq.get_queue(queue)
    connection = rq_queue.connection
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        return any(
            connection.lpos(key, job_id) is not None
            for key in (rq_queue.key, rq_queue.intermediate_queue_key)
        )
    if status == JobStatus.DEFERRED:
        return True
    if status == JobStatus.SCHEDULED:
        at = rq_queue.scheduled_job_registry.get_scheduled_time(job_id)
        return at is not None and at.astimezone(UTC) + overdue_after > datetime.now(UTC)
    if status == JobStatus.STARTED:
        return bool(job.worker_name and _worker_alive(job.worker_name, connection))
    return False
