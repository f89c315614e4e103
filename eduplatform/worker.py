"""The RQ worker class: one process that keeps the embedding model between jobs.

RQ's default worker forks a fresh child for every job, so a model loaded in a
job would be loaded again for the next one (seconds each time, and ML runtimes'
thread pools are not fork-safe). This worker runs jobs in its own process,
loading the model once. Isolation from hostile files comes from the PDF parser
running in a child process with its own time and memory limits, and job
timeouts still apply (SIGALRM).
"""

from __future__ import annotations

from rq import SimpleWorker


class EduWorker(SimpleWorker):
    def work(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        from django.conf import settings

        if not settings.OPENAI_API_KEY:
            from eduplatform.embeddings import get_embedder

            get_embedder()
        return super().work(*args, **kwargs)
