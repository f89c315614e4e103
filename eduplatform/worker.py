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

# glibc's malloc arenas a process may have (M_ARENA_MAX). By default each
# thread that allocates gets its own, up to eight per core; the embedder's
# sessions and the multilingual encoder each allocate per batch on their own
# thread, and a 1,000-page PDF then left the worker's peak memory anywhere
# between 0.7 and 1.5 GB from run to run. Two keep it at the low end.
MALLOC_ARENAS = 2


def limit_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas before threads start; False where there is no glibc."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        return bool(libc.mallopt(-8, count))  # M_ARENA_MAX
    except (OSError, AttributeError):
        return False


class EduWorker(SimpleWorker):
    def work(self, *args, **kwargs):
        """Load the models before the first job, so that no student waits for them."""
        from django.conf import settings
        from django.utils.module_loading import import_string

        limit_malloc_arenas()
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
