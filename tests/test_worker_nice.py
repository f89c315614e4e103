"""The worker's database backends yield the CPU as the worker does (eduplatform.worker)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.processes import ROOT, worker_env

# A process at `niceness` opens a connection the way the worker does, with the
# handler connected, and prints its backend's process id and niceness.
_SCRIPT = """
import os, sys
import django
os.nice(int(sys.argv[1]))
django.setup()
from django.db import connection
from django.db.backends.signals import connection_created
from eduplatform.worker import backend_as_nice
connection_created.connect(backend_as_nice)
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]
print(backend, os.getpriority(os.PRIO_PROCESS, backend))
"""


@pytest.mark.parametrize(("niceness", "expected"), [(7, 7), (0, 0)])
def test_a_nice_process_s_database_backend_is_as_nice_and_others_are_left_alone(
    db, tmp_path, niceness, expected
):
    media = tmp_path / "media"
    media.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(niceness)],
        env={**worker_env(media), "DJANGO_SETTINGS_MODULE": "eduplatform.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    _, found = done.stdout.split()
    assert int(found) == expected
