"""The RQ worker class: one process that keeps the embedding model between jobs.

RQ's default worker forks a fresh child for every job, so a model loaded in a
job would be loaded again for the next one (seconds each time, and ML runtimes'
thread pools are not fork-safe). This worker runs jobs in its own process,
loading the model once. Isolation from hostile files comes from the PDF parser
running in a child process with its own time and memory limits, and job
timeouts still apply (SIGALRM). What to load is named in settings
(WORKER_WARM_UP), so this module knows no app.
"""

from __future__ import annotations

import os
from typing import Any

from rq import SimpleWorker


def backend_as_nice(sender: Any = None, connection: Any = None, **kwargs: Any) -> None:
    """Give the database process serving this connection the worker's own niceness.

    The worker yields the CPU to the web server (eduplatform.runner), but much
    of a job's work runs in PostgreSQL: stemming passages into tsvectors,
    inserting into the vector index. Its backend process would otherwise
    compete with the students' searches at full priority. Done only over a
    Unix socket, where the backend is a local process of the same user
    (the embedded server); a remote server's process ids mean nothing here.
    """
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    if niceness <= 0 or connection is None or connection.vendor != "postgresql":
        return
    if not str(connection.connection.info.host).startswith("/"):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        if os.getpriority(os.PRIO_PROCESS, backend) < niceness:
            os.setpriority(os.PRIO_PROCESS, backend, niceness)
    except OSError:
        pass  # not ours to change after all: it runs at its own priority


class EduWorker(SimpleWorker):
    def work(self, *args, **kwargs):
        """Load the models before the first job, so that no student waits for them.

        And from the first connection on, its database backends are as nice as the worker.
        """
        from django.conf import settings
        from django.db.backends.signals import connection_created
        from django.utils.module_loading import import_string

        connection_created.connect(backend_as_nice, dispatch_uid="eduplatform.worker.nice")

        for path in settings.WORKER_WARM_UP:
            import_string(path)()
        return super().work(*args, **kwargs)

    def execute_job(self, job, queue):
        """Run a job on a live database connection.

        Outside requests Django never drops a broken connection by itself, so
        after a database restart (or a failover) every later job in this
        long-lived process would fail on the dead one. Closing unusable (and,
        with CONN_MAX_AGE=0, all) connections around each job lets the next
        query reconnect.
        """
        from django.db import close_old_connections

        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()
