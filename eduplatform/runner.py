"""`make run`: embedded services, migrations, the web server and a worker, as one.

The runner owns the embedded servers; its children get their addresses in the
environment, so they never start servers of their own. Ctrl-C (or SIGTERM)
stops the children first, then the servers. If the runner itself is killed,
the children are told by the kernel (PR_SET_PDEATHSIG) and stop too.
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
    data_dir = Path(os.environ.get("DATA_DIR") or BASE_DIR / "var").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SECRET_KEY", _local_secret(data_dir))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    port = os.environ.get("PORT", "8000")

    from eduplatform.embedded import configure_environment

    configure_environment(data_dir)
    python = sys.executable
    manage = [python, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], check=True, cwd=BASE_DIR)  # noqa: S603

    children = [
        subprocess.Popen(  # noqa: S603
            [
                python,
                "-m",
                "gunicorn",
                "eduplatform.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                os.environ.get("WEB_WORKERS", "3"),
                "--threads",
                "4",
                "--timeout",
                "120",
                "--access-logfile",
                "-",
            ],
            cwd=BASE_DIR,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        ),
        subprocess.Popen(  # noqa: S603
            [*manage, "rqworker", "default", "--with-scheduler"],
            cwd=BASE_DIR,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        ),
        subprocess.Popen(  # noqa: S603
            [*manage, "rqcron", "materials.cron", "--logging-level", "WARNING"],
            cwd=BASE_DIR,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        ),
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
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    print("eduplatform stopped.", flush=True)
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
