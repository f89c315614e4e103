"""The real `rqworker` process over the corpus (SIGKILL mid-job: tests/test_faults.py)."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from materials.services import material_enqueue
from tests.support.corpus import CORPUS
from tests.support.factories import MaterialFactory
from tests.support.processes import start_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


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
