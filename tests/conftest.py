"""Shared fixtures: real PostgreSQL, real Valkey, real RQ jobs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import django_rq
import pytest
import responses
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from rq import SimpleWorker

from accounts.services import api_token_create
from materials.models import Material
from tests.support.corpus import CORPUS
from tests.support.factories import MaterialFactory, UserFactory
from tests.support.lectures import lecture_pages, pdf_material, process
from tests.support.pdfs import make_pdf
from tests.support.processes import Gunicorn, gunicorn_serving, worker_queues

PLAYER_URL = "https://www.youtube.com/youtubei/v1/player"
WATCH_URL = "https://www.youtube.com/watch"
TIMEDTEXT_URL = "https://www.youtube.com/api/timedtext"
HTML = "text/html; charset=utf-8"


@pytest.fixture
def pdf_upload() -> Callable[..., SimpleUploadedFile]:
    def build(pages: list[str] | None = None, name: str = "lecture.pdf") -> SimpleUploadedFile:
        content = make_pdf(pages or ["The mitochondria is the powerhouse of the cell."])
        return SimpleUploadedFile(name, content, content_type="application/pdf")

    return build


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def default_language() -> None:
    """Each test starts in the default language: a test that switched to Russian
    (as a request or a job does) must not leave it to the next test in its process."""
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def clean_queue() -> None:
    """Each test starts with an empty test queue (a separate Valkey database)."""
    django_rq.get_connection("default").flushdb()


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks) -> Callable[[], None]:
    """Run queued jobs for real, in this process, until every queue is empty."""

    def run() -> None:
        queues = worker_queues()
        SimpleWorker(queues, connection=queues[0].connection).work(burst=True)

    return run


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user).key}")
    return client


@pytest.fixture
def other_api(other_user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=other_user).key}")
    return client


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def corpus() -> Path:
    """The recorded YouTube responses, or a skip when shared/ is not here."""
    folder = CORPUS / "youtube"
    if not folder.is_dir():
        pytest.skip(f"recorded YouTube responses not found at {folder}")
    return folder


@pytest.fixture
def youtube(corpus: Path) -> Iterator[responses.RequestsMock]:
    """YouTube answering with the recorded watch page, player JSON and captions.

    Any request not registered here fails, so nothing reaches the real site.
    """
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(
            PLAYER_URL,
            body=(corpus / "youtube.innertube.json.static").read_bytes(),
            content_type="application/json",
        )
        rsps.get(
            WATCH_URL,
            body=(corpus / "youtube.html.static").read_bytes(),
            content_type=HTML,
        )
        rsps.get(
            TIMEDTEXT_URL,
            body=(corpus / "transcript.xml.static").read_bytes(),
            content_type="text/xml",
        )
        yield rsps


@pytest.fixture
def stub_openai(settings):
    """A local OpenAI-compatible server, and settings pointing the product at it."""
    from tests.support.stub_openai import StubOpenAI

    stub = StubOpenAI().start()
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = stub.base_url
    settings.AI_MAX_RETRIES = 3
    settings.AI_TIMEOUT = 5.0
    settings.AI_BACKOFF_SECONDS = 0.01
    yield stub
    stub.stop()


@pytest.fixture
def gunicorn(transactional_db, tmp_path) -> Iterator[Gunicorn]:
    """The app under gunicorn on the test database (tests.support.processes.gunicorn_serving)."""
    from django.db import connection

    database = urlsplit(os.environ["DATABASE_URL"])._replace(
        path="/" + connection.settings_dict["NAME"]
    )
    with gunicorn_serving(database_url=database.geturl(), data_dir=tmp_path) as server:
        yield server


@pytest.fixture
def indexed() -> Callable[..., Material]:
    """A ready material whose chunks (one per text) are embedded by the current embedder.

    Faster than the worker for tests about the tutor itself; the worker's own
    path is exercised by the upload in test_injection.
    """
    from eduplatform.embeddings import current_model_name, get_embedder
    from materials.index.crosslingual import crosslingual_fill
    from materials.models import Chunk

    def build(
        owner,
        texts: list[str],
        *,
        title: str = "Lecture",
        kind: str = "pdf",
        language: str = "en",
        pages: list[int] | None = None,
        seconds: list[float] | None = None,
        multilingual: bool = True,
    ) -> Material:
        material = MaterialFactory(
            owner=owner,
            title=title,
            kind=kind,
            status="ready",
            language=language,
            video_id="GJLlxj_dtq8" if kind == "youtube" else "",
        )
        vectors = get_embedder().embed(texts)
        model = current_model_name()
        for position, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            page = (pages or list(range(1, len(texts) + 1)))[position] if kind == "pdf" else None
            Chunk.objects.create(
                material=material,
                owner=owner,
                position=position,
                text=text,
                page_start=page,
                page_end=page,
                start_seconds=seconds[position] if seconds else None,
                end_seconds=seconds[position] + 30 if seconds else None,
                language=language,
                embedding=vector,
                embedding_model=model,
            )
        # The multilingual vectors, as the pipeline stores them for every chunk.
        if multilingual:
            crosslingual_fill(material_ids=[material.pk])
        return material

    return build


@pytest.fixture
def biology(user, run_jobs, django_capture_on_commit_callbacks) -> Material:
    """A small English lecture, processed (and its study content made offline)."""
    material = pdf_material(user, make_pdf(lecture_pages()))
    return process(material, django_capture_on_commit_callbacks, run_jobs)


# Fixtures that run a material through the real worker, serve the app in
# another process, or drive a browser: a test using one takes seconds, so it
# is slow and `make test-fast` leaves it out (make test runs everything).
# Other tests that recognise scans or read whole books say so themselves.
SLOW_FIXTURES = {"run_jobs", "biology", "gunicorn", "live_server", "transactional_db"}
# Whole files of the same kind: each test starts manage.py or a server in a
# process of its own, or loads the reference embedding model.
SLOW_FILES = {
    "test_email.py",
    "test_embedded.py",
    "test_fast_embedding.py",
    "test_ocr.py",
    "test_sentry.py",
    "test_settings.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        database = item.get_closest_marker("django_db")
        transaction = database is not None and database.kwargs.get("transaction", False)
        slow_file = item.path.name in SLOW_FILES
        if slow_file or transaction or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
