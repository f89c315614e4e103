"""`make run`: embedded services, migrations, the web server and a worker, as one.

The runner owns the embedded servers; its children get their addresses in the
environment, so they never start servers of their own. Ctrl-C (or SIGTERM)
stops the children first, then the servers, within STOP_SECONDS: each child
leads a process group of its own, which holds its own children too (gunicorn's
workers, the worker's PDF reader), so the runner signals whole groups and
kills what is left of them, even a gunicorn worker whose master has gone. If
the runner itself is killed, the children are told by the kernel
(PR_SET_PDEATHSIG) and stop too.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# How long Ctrl-C waits for the children to stop by themselves before killing them.
STOP_SECONDS = float(os.environ.get("RUN_STOP_SECONDS", "5"))
# eduplatform.queue.QUEUES, in the order the worker serves them; named here
# because the runner imports nothing of Django before the servers are up.
WORKER_QUEUES = ("default", "low")
# The worker's niceness: its jobs (text recognition, embedding, generation)
# yield the CPU to the web server, so pages and searches stay quick on a small
# machine while a student's upload is processed. 0 keeps the worker equal.
WORKER_NICE = int(os.environ.get("WORKER_NICE", "10"))


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _local_secret(data_dir: Path) -> str:
    """A per-installation key so sessions survive restarts without a shared default."""
    path = data_dir / "secret_key"
    try:
        # Created owner-only: writing first and narrowing after leaves a moment
        # in which anyone on the machine may read the key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def main() -> int:
    from eduplatform.embedded import configure_environment, data_folder

    # Before the secret key is written into it: the owner's alone.
    data_dir = data_folder(Path(os.environ.get("DATA_DIR") or BASE_DIR / "var").resolve())
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SECRET_KEY", _local_secret(data_dir))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    port = os.environ.get("PORT", "8000")
    configure_environment(data_dir)
    python = sys.executable
    manage = [python, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], check=True, cwd=BASE_DIR)  # noqa: S603

    children = [
        _start(
            [
                python,
                "-m",
                "gunicorn",
                "--config",
                "python:eduplatform.gunicorn_conf",
                "eduplatform.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                # Ctrl-C should not wait for open tutor streams to finish.
                "--graceful-timeout",
                str(max(1, int(STOP_SECONDS) - 2)),
            ]
        ),
        _start([*manage, "rqworker", *WORKER_QUEUES, "--with-scheduler"], nice=WORKER_NICE),
        _start([*manage, "rqcron", "materials.cron", "--logging-level", "WARNING"]),
    ]
    print(f"eduplatform is running on http://127.0.0.1:{port}/  (Ctrl-C stops it)", flush=True)

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.5)
    stop_all(children, grace=STOP_SECONDS)
    print("eduplatform stopped.", flush=True)
    return 0 if stopping else 1


def _start(args: list[str], *, nice: int = 0) -> subprocess.Popen:
    """A child leading a process group of its own: a terminal's Ctrl-C reaches the runner only."""

    def prepare() -> None:
        _die_with_parent()
        if nice:
            os.nice(nice)

    return subprocess.Popen(  # noqa: S603
        args,
        cwd=BASE_DIR,
        start_new_session=True,
        preexec_fn=prepare,
    )


def _group_alive(child: subprocess.Popen) -> bool:
    child.poll()  # reap the leader, so that a dead one does not count as alive
    try:
        os.killpg(child.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all(children: list[subprocess.Popen], *, grace: float) -> None:
    """SIGTERM to every child's group, then SIGKILL to whatever is left after `grace` seconds.

    A worker busy in a request or a job may take longer than anyone waits at
    Ctrl-C; the job it leaves is picked up again by the sweep (its worker's
    process is gone), and a request in flight is lost either way.
    """
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(child) for child in children):
        time.sleep(0.1)
    for child in children:
        if _group_alive(child):
            _signal_group(child, signal.SIGKILL)
    for child in children:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


if __name__ == "__main__":
    sys.exit(main())
