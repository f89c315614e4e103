"""The real `rqworker` process over the corpus (SIGKILL mid-job: tests/test_faults.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from eduplatform.queue import QUEUES
from materials.services import material_enqueue
from tests.conftest import CORPUS
from tests.factories import MaterialFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


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


def wait_for(predicate, timeout: float, *, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def test_every_corpus_pdf_ends_ready_or_failed_with_a_message(user, media_root):
    folder = CORPUS / "pdf"
    if not folder.is_dir():
        pytest.skip("../shared/corpus/pdf is absent")
    files = sorted(folder.rglob("*.pdf"))
    if not os.environ.get("EDUPLATFORM_FULL_CORPUS"):
        # make test keeps to a fixed third of the corpus (every third file by
        # size, so small and large ones alike); `make corpus` runs them all.
        files = sorted(files, key=lambda path: (path.stat().st_size, path.name))[::3]
    materials = []
    for path in files:
        material = MaterialFactory(owner=user, title=path.name)
        material.file.save(path.name, ContentFile(path.read_bytes()))
        material_enqueue(material=material)
        materials.append(material)
    worker = start_worker(media_root, burst=True)
    try:
        assert worker.wait(timeout=900) == 0  # the worker survives every file
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    outcomes = Counter()
    rows = []
    for material in materials:
        material.refresh_from_db()
        assert material.status in ("ready", "failed"), (material.title, material.status)
        if material.status == "failed":
            assert material.error, material.title
        # Tesseract's language data is installed wherever the tests run (make, .ci/run).
        assert material.error_code != "ocr_unavailable", material.title
        outcome = material.status if material.status == "ready" else material.error_code
        outcomes[outcome] += 1
        reading = material.reading or {}
        rows.append(
            f"| {material.title} | {material.page_count or ''} | {outcome}"
            f" | {reading.get('ocr', '')} | {reading.get('repaired', '')}"
            f" | {reading.get('unreadable', '')} |"
        )
    print(f"\ncorpus outcomes over {len(files)} PDFs: {dict(outcomes)}")
    print("| file | pages | outcome | pages recognised | pages repaired | pages without text |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    assert outcomes["ready"] >= len(files) * 0.7
