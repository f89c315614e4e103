"""`make run` stops every process it started within seconds, on Ctrl-C and on SIGTERM,
and its log keeps no search terms.

Once, after Ctrl-C, a gunicorn worker (1.3 GB) outlived its master: the runner
signalled the master only, waited, killed it, and the worker, busy in a
request, stayed. Here the real runner (eduplatform/runner.py, as `make run`
starts it, on the test database and queue) serves a request that is still
arriving (a client sending its body slowly) while its RQ worker is inside a
job held open by a slow model (the local stand-in); then it is stopped, and
every process of its tree must be gone within STOP_WITHIN seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
from django.core.files.base import ContentFile

from materials.models import Material
from materials.services import material_enqueue
from tests.support.factories import MaterialFactory
from tests.support.pdfs import make_pdf
from tests.support.processes import ROOT, wait_for, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
STOP_WITHIN = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET /accounts/login/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


def _search(port: int, terms: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET /api/search/?q={terms} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        sock.recv(12)


def _slow_request(port: int) -> socket.socket:
    """A POST whose body is still coming: a web worker's thread is busy reading it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 100000\r\n\r\nlogin="
    )
    return sock


def _backend_niceness() -> set[int]:
    """The niceness of the database processes serving other connections than this test's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {psutil.Process(row[0]).nice() for row in cursor.fetchall()}


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_make_run_stops_every_process_it_started_within_seconds(
    how, user, tmp_path, settings, stub_openai
):
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = media
    port = _free_port()
    env = {
        **worker_env(media),
        "DATA_DIR": str(tmp_path),
        "PORT": str(port),
        "WEB_WORKERS": "1",
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": stub_openai.base_url,
    }
    stub_openai.embedding_delay = 120.0  # the job sits in "embedding" until stopped
    material = MaterialFactory(owner=user)
    material.file.save("long.pdf", ContentFile(make_pdf(["Entropy spreads energy. " * 40])))
    material_enqueue(material=material)

    log = tmp_path / "run.log"
    runner = subprocess.Popen(
        [sys.executable, "-m", "eduplatform.runner"],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # as a terminal's foreground job: Ctrl-C signals its group
    )
    client = None
    try:
        assert wait_for(lambda: _answers(port), 180, every=0.5), "the web server never answered"
        _search(port, "my+embarrassing+diagnosis")
        # make run's own log: the search is there, its terms are not.
        assert wait_for(lambda: b"GET /api/search/ " in log.read_bytes(), 10), log.read_text()
        assert b"diagnosis" not in log.read_bytes()
        assert wait_for(
            lambda: Material.objects.filter(pk=material.pk, stage="embedding").exists(), 120
        ), "the worker never took the job"
        client = _slow_request(port)
        time.sleep(1.0)
        tree = [psutil.Process(runner.pid), *psutil.Process(runner.pid).children(recursive=True)]
        # The worker yields the CPU to the web server (WORKER_NICE); the server does not.
        niceness = {" ".join(p.cmdline()[1:4]): p.nice() for p in tree}
        assert {n for cmd, n in niceness.items() if "rqworker" in cmd} == {10}, niceness
        assert {n for cmd, n in niceness.items() if "gunicorn" in cmd} == {0}, niceness
        # So does the database process serving the worker's job (eduplatform.worker).
        assert 10 in _backend_niceness(), "the worker's job ran at the database's full priority"
        commands = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "gunicorn" in commands and "rqworker" in commands and "rqcron" in commands
        assert len(tree) >= 5  # runner, gunicorn master and worker, rqworker, rqcron

        started = time.monotonic()
        if how == "ctrl-c":
            os.killpg(runner.pid, signal.SIGINT)
        else:
            runner.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=STOP_WITHIN)
        stopped_in = time.monotonic() - started
        assert not alive, f"still there after {STOP_WITHIN} s: {[p.pid for p in alive]}"
        print(f"\n{how}: {len(tree)} processes stopped in {stopped_in:.1f} s")
        assert runner.wait(timeout=5) == 0
    finally:
        if client is not None:
            client.close()
        for process in psutil.Process().children(recursive=True):
            if process.pid == runner.pid or runner.pid in [p.pid for p in process.parents()]:
                process.kill()
        stub_openai.embedding_delay = 0.0
