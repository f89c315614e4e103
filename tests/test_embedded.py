"""Embedded servers: shared between processes, stopped by the last one, crash-safe."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

HOLD = """
import sys, time
from pathlib import Path
from eduplatform.embedded import {func}
print({func}(Path(sys.argv[1])), flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold(func: str, data_dir: Path, seconds: float) -> subprocess.Popen:
    """A process that joins (or starts) the server, prints its URL and stays a while."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLD.format(func=func), str(data_dir), str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def ping(url: str) -> bool:
    import redis

    try:
        return redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.ConnectionError:
        return False


def valkey_pid(data_dir: Path) -> int:
    return json.loads((data_dir / "valkey" / "server.json").read_text())["pid"]


def test_valkey_is_shared_and_stopped_by_the_last_process(tmp_path):
    first = hold("redis_url", tmp_path, 1.5)
    url = first.stdout.readline().strip()
    second = hold("redis_url", tmp_path, 4)
    assert second.stdout.readline().strip() == url  # joined, not a second server
    first.wait(timeout=10)
    assert ping(url)  # the first one left; the second still uses it
    second.wait(timeout=10)
    time.sleep(0.5)
    assert not ping(url)


def test_valkey_left_by_a_crash_is_joined_and_a_dead_one_replaced(tmp_path):
    crashed = hold("redis_url", tmp_path, 60)
    url = crashed.stdout.readline().strip()
    crashed.send_signal(signal.SIGKILL)
    crashed.wait()
    assert ping(url)  # still up, with a handle of a dead process
    pid = valkey_pid(tmp_path)
    os.kill(pid, signal.SIGKILL)  # now the server dies too, leaving its state file
    psutil.Process(pid).wait(timeout=5) if psutil.pid_exists(pid) else None
    again = hold("redis_url", tmp_path, 0)
    new_url = again.stdout.readline().strip()
    again.wait(timeout=10)
    assert valkey_pid(tmp_path) != pid
    assert new_url.startswith("redis://:") and "@127.0.0.1:" in new_url


def test_valkey_refuses_clients_without_its_password(tmp_path):
    """RQ's jobs are pickled: a local process that could write to the queue could run code."""
    import redis

    holder = hold("redis_url", tmp_path, 8)
    url = holder.stdout.readline().strip()
    try:
        assert ping(url)
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        anonymous = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        try:
            anonymous.rpush("rq:queue:default", "a pickled job")
            raise AssertionError("an anonymous client wrote to the queue")
        except redis.AuthenticationError:
            pass
        password = tmp_path / "valkey" / "password"
        assert password.stat().st_mode & 0o077 == 0  # the owner's alone
        assert f":{password.read_text()}@" in url
    finally:
        holder.wait(timeout=30)  # its exit stops the server


def test_postgres_restarts_after_its_owner_was_killed(tmp_path):
    crashed = hold("database_url", tmp_path, 60)
    assert crashed.stdout.readline().startswith("postgresql://")
    crashed.send_signal(signal.SIGKILL)
    crashed.wait()
    after = hold("database_url", tmp_path, 0)
    url = after.stdout.readline().strip()
    assert after.wait(timeout=60) == 0
    assert url.startswith("postgresql://")
    # The last (live) owner left: the server is stopped, no stale handle remains.
    handles = json.loads((tmp_path / "pg" / ".handle_pids.json").read_text() or "[]")
    assert all(not psutil.pid_exists(pid) for pid in handles)


def test_postgres_tuning_is_included_once_and_follows_the_environment(tmp_path, monkeypatch):
    from eduplatform.embedded import TUNING_INCLUDE, shared_buffers, write_tuning

    monkeypatch.delenv("PG_SHARED_BUFFERS", raising=False)
    assert 128 <= int(shared_buffers().removesuffix("MB")) <= 2048
    monkeypatch.setenv("PG_SHARED_BUFFERS", "256MB")
    write_tuning(tmp_path)  # before initdb: nothing to include into
    assert not (tmp_path / "eduplatform.conf").exists()
    conf = tmp_path / "postgresql.conf"
    conf.write_text("# initdb's settings\n")
    write_tuning(tmp_path)
    write_tuning(tmp_path)
    assert conf.read_text().count(TUNING_INCLUDE) == 1
    assert (tmp_path / "eduplatform.conf").read_text() == "shared_buffers = '256MB'\n"
