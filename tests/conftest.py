"""Shared fixtures: real PostgreSQL, real Valkey, real RQ jobs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import django_rq
import pytest
import responses
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from rq import SimpleWorker

from accounts.services import api_token_create
from eduplatform.queue import QUEUES
from tests.factories import UserFactory

PLAYER_URL = "https://www.youtube.com/youtubei/v1/player"
WATCH_URL = "https://www.youtube.com/watch"
TIMEDTEXT_URL = "https://www.youtube.com/api/timedtext"
HTML = "text/html; charset=utf-8"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def corpus_file(*parts: str) -> Path:
    """A file of the shared corpus, or a clean skip when the corpus is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus file {'/'.join(parts)} not present (../shared/corpus is absent)")
    return path


def make_pdf(pages: list[str]) -> bytes:
    """A real text PDF, one string per page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def make_scanned_pdf(text_pages: list[str], scans: list[str]) -> bytes:
    """Text pages, then image-only pages: recognising those holds extraction open a while."""
    import io

    import pypdfium2 as pdfium

    from tests.pdfs import scan_pdf

    scanned = scan_pdf(make_pdf(scans))
    if not text_pages:
        return scanned
    document = pdfium.PdfDocument(make_pdf(text_pages))
    document.import_pages(pdfium.PdfDocument(scanned))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


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
def clean_queue() -> None:
    """Each test starts with an empty test queue (a separate Valkey database)."""
    django_rq.get_connection("default").flushdb()


def worker_queues() -> list:
    """The queues a worker serves, in its order (`default` before `low`), as production's do."""
    return [django_rq.get_queue(name) for name in QUEUES]


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
    from tests.stub_openai import StubOpenAI

    stub = StubOpenAI().start()
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = stub.base_url
    settings.AI_MAX_RETRIES = 3
    settings.AI_TIMEOUT = 5.0
    settings.AI_BACKOFF_SECONDS = 0.01
    yield stub
    stub.stop()


@dataclass
class Gunicorn:
    port: int
    access_log: Path


@pytest.fixture
def gunicorn(transactional_db, tmp_path) -> Iterator[Gunicorn]:
    """The app under gunicorn, with the config `make run` passes on the test database,
    with CSRF and every middleware as production runs them; one proxy trusted."""
    from django.db import connection

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = urlsplit(os.environ["DATABASE_URL"])._replace(
        path="/" + connection.settings_dict["NAME"]
    )
    env = {
        **os.environ,
        "DATABASE_URL": database.geturl(),
        "DATA_DIR": str(tmp_path),
        "TRUSTED_PROXIES": "1",
    }
    access_log = tmp_path / "access.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:eduplatform.gunicorn_conf",
         "eduplatform.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60",
         "--access-logfile", str(access_log)],
        cwd=Path(__file__).resolve().parents[1], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None, server.stderr.read().decode()
            time.sleep(0.3)
    yield Gunicorn(port=port, access_log=access_log)
    server.terminate()
    server.wait(timeout=30)
