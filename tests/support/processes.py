"""The app as separate processes: manage.py commands, an RQ worker, gunicorn."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from eduplatform.queue import QUEUES

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`manage.py` in a process of its own, with these settings in its environment."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "DEBUG")}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def worker_env(media_root: Path) -> dict[str, str]:
    """The worker talks to the test database and the test queue."""
    db = settings.DATABASES["default"]
    host = db.get("OPTIONS", {}).get("host") or db["HOST"]
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{db['USER']}@/{db['NAME']}?host={host}"
    if db.get("PORT"):
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env["REDIS_URL"] = settings.REDIS_URL
    env["DATA_DIR"] = str(media_root.parent)
    env["PDF_PARSE_TIMEOUT"] = "20"
    env["PDF_PARSE_MEMORY_MB"] = "1024"
    return env


def start_worker(
    media_root: Path, *, burst: bool, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """The real `rqworker` on the test queue, in its own session (so it can be killed whole)."""
    args = [sys.executable, str(ROOT / "manage.py"), "rqworker", *QUEUES]
    if burst:
        args.append("--burst")
    return subprocess.Popen(
        args,
        env={**worker_env(media_root), **(env or {})},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(predicate: Callable[[], object], timeout: float, *, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


@dataclass
class Gunicorn:
    port: int
    access_log: Path


@contextmanager
def gunicorn_serving(*, database_url: str, data_dir: Path) -> Iterator[Gunicorn]:
    """The app under gunicorn, with the config `make run` passes, on the given database;
    CSRF and every middleware as production runs them; one proxy trusted."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        # As production runs it, whatever a test (or an import) left in DEBUG.
        **{k: v for k, v in os.environ.items() if k != "DEBUG"},
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "TRUSTED_PROXIES": "1",
    }
    access_log = data_dir / "access.log"
    # Its log goes to a file: a pipe nobody reads fills up and blocks the server.
    errors = data_dir / "gunicorn.log"
    with errors.open("wb") as error_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "python:eduplatform.gunicorn_conf",
             "eduplatform.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60",
             "--access-logfile", str(access_log)],
            cwd=ROOT, env={**env, "PYTHONFAULTHANDLER": "1"},
            stdout=subprocess.DEVNULL, stderr=error_file,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, errors.read_text()
                time.sleep(0.3)
        yield Gunicorn(port=port, access_log=access_log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _dump_and_kill(server, errors)
            raise


def _dump_and_kill(server: subprocess.Popen, errors: Path) -> None:
    """A server that would not stop: its workers' Python stacks (faulthandler on
    SIGABRT) into the test's output, so a hang names its line."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    for pid in children.read_text().split() if children.exists() else []:
        os.kill(int(pid), signal.SIGABRT)
    time.sleep(1)
    server.kill()
    server.wait()
    print(errors.read_text()[-20000:], file=sys.stderr)


def raw_request(port: int, head: str, body_part: bytes = b"") -> tuple[int, str, float]:
    """Send the head and a little of the body, then read the answer; never the rest."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode() + body_part)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks).decode("utf-8", "replace")
    return int(answer.split(" ", 2)[1]), answer, time.monotonic() - started


def worker_queues() -> list:
    """The queues a worker serves, in its order (`default` before `low`), as production's do."""
    import django_rq

    return [django_rq.get_queue(name) for name in QUEUES]
