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

from rq import SimpleWorker


class EduWorker(SimpleWorker):
    def work(self, *args, **kwargs):
        """Load the models before the first job, so that no student waits for them."""
        from django.conf import settings
        from django.utils.module_loading import import_string

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
