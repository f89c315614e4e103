"""Slides and handouts that cost a reader time or memory: read in a limited child
process, by streaming, with caps; refused from the ZIP's directory before it is read."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from django.utils import translation

from materials.errors import ProcessingError, error_message
from materials.models import Material
from materials.pipeline.office import DOCX, extract_office, office_inspect
from tests.support.office_files import (
    DOCX_TYPE,
    make_docx,
    many_runs_docx,
    merged_table_docx,
    upload,
    zip_listing,
)

ROOT = Path(__file__).resolve().parents[2]


def _stored(tmp_path: Path, content: bytes, name: str = "handout.docx") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _refusal(call) -> tuple[str, int]:
    """The error code a call ends with, and the most Python memory it held meanwhile."""
    tracemalloc.start()
    try:
        call()
    except ProcessingError as exc:
        return exc.code, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    raise AssertionError("not refused")


# --- reading, in the worker ------------------------------------------------------------


def test_table_merged_down_its_rows_is_read_once_and_in_time(tmp_path, settings):
    settings.OFFICE_PARSE_TIMEOUT = 10.0
    path = _stored(tmp_path, merged_table_docx(rows=80))
    started = time.monotonic()
    read = extract_office(path, DOCX)
    assert time.monotonic() - started < settings.OFFICE_PARSE_TIMEOUT
    text = "".join(segment.text for segment in read.segments)
    assert text.strip().split("\n\n") == [" | ".join(["Top"] * 10), "End of the handout."]


MEMORY_SCRIPT = """
import resource, sys
from pathlib import Path
import django
django.setup()
from materials.pipeline.office import extract_office
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) for line in status if line.startswith("VmSize:")) * 1024
room = size + int(sys.argv[2]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (room, room))
print(extract_office(Path(sys.argv[1]), "docx").segments[0].text.strip())
"""


def test_handout_of_many_runs_leaves_the_workers_memory_flat(tmp_path):
    """The worker's own address space may grow by 60 MB at most while it reads
    600,000 runs (python-docx's tree of them alone took twice that)."""
    path = _stored(tmp_path, many_runs_docx(600_000))
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(path), "60"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "eduplatform.settings"},
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().strip() == "Runs."


def test_reading_past_the_deadline_fails_as_too_slow(tmp_path, settings):
    settings.OFFICE_PARSE_TIMEOUT = 0.3
    path = _stored(tmp_path, many_runs_docx(400_000))
    with pytest.raises(ProcessingError) as failed:
        extract_office(path, DOCX)
    assert failed.value.code == "office_timeout"


def test_a_reader_past_its_cpu_seconds_is_ended_as_too_slow(tmp_path):
    """The CPU limit ends the child even when nothing waits on its deadline."""
    from materials.pipeline.pdf import Child, ChildErrors

    path = _stored(tmp_path, many_runs_docx(2_000_000))
    extra = ["docx", "word/document.xml", "--max-elements", "9999999"]
    extra += ["--max-text-bytes", "9999999", "--max-length", "9999999"]
    errors = ChildErrors(timeout="office_timeout", memory="office_too_complex")
    module = "materials.pipeline.office_child"
    with Child(path, extra, 512, module=module, cpu_seconds=1, errors=errors) as child:
        with pytest.raises(ProcessingError) as failed:
            for message in child.messages(120.0):
                assert "done" not in message
            raise child.crash()
    assert failed.value.code == "office_timeout"
    assert failed.value.detail.startswith("exit -24")  # SIGXCPU


def test_too_much_text_is_refused_with_what_was_too_big(tmp_path, settings):
    settings.MAX_OFFICE_TEXT_MB = 0.0005  # about 500 bytes
    with pytest.raises(ProcessingError) as failed:
        extract_office(_stored(tmp_path, make_docx()), DOCX)
    assert failed.value.code == "office_too_much_text"
    with translation.override("en"):
        assert error_message("office_too_much_text") == (
            "This file holds more text than we can process."
        )
    with translation.override("ru"):
        assert error_message("office_too_much_text") == (
            "В этом файле больше текста, чем мы можем обработать."
        )


@pytest.fixture
def process_handout(api, run_jobs, django_capture_on_commit_callbacks):
    """Upload a handout through the API, run the real worker on it, and return its row."""

    def process(content: bytes, *, before_the_worker=lambda: None) -> Material:
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                "/api/materials/",
                {"file": upload("handout.docx", content, DOCX_TYPE)},
                format="multipart",
            )
        assert response.status_code == 201, response.content
        before_the_worker()
        run_jobs()
        return Material.objects.get(pk=response.json()["id"])

    return process


@pytest.mark.django_db
def test_handout_over_the_memory_limit_fails_with_its_message_in_russian(
    api, settings, process_handout
):
    def starve_the_reader() -> None:
        settings.OFFICE_PARSE_MEMORY_MB = 16  # less than the reader needs to start

    material = process_handout(make_docx(), before_the_worker=starve_the_reader)
    with translation.override("en"):  # a request leaves its language active after it
        body = api.get(f"/api/materials/{material.pk}/", HTTP_ACCEPT_LANGUAGE="ru").json()
    assert (body["status"], material.error_code) == ("failed", "office_too_complex")
    assert body["error"].startswith("Для чтения этого файла потребовалось слишком много памяти")


@pytest.mark.django_db
def test_handout_past_the_element_cap_fails_in_the_worker_with_its_message(
    api, settings, process_handout
):
    def lower_the_cap() -> None:
        settings.MAX_OFFICE_XML_ELEMENTS = 100

    material = process_handout(make_docx(), before_the_worker=lower_the_cap)
    body = api.get(f"/api/materials/{material.pk}/").json()
    assert (body["status"], material.error_code) == ("failed", "office_too_many_elements")
    assert "too many formatting elements" in body["error"]
    with translation.override("ru"):
        assert "слишком много элементов форматирования" in error_message(material.error_code)


# --- the upload, in the web process ------------------------------------------------------


@pytest.mark.django_db
def test_upload_is_counted_in_the_readers_limited_child(api, settings):
    """The web process reads the ZIP's directory and content types; the XML, only the child."""
    settings.OFFICE_PARSE_MEMORY_MB = 16
    response = api.post(
        "/api/materials/",
        {"file": upload("handout.docx", make_docx(), DOCX_TYPE)},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["file"] == [error_message("office_too_complex")]
    assert not Material.objects.exists()


# --- the ZIP's directory, in the web process ---------------------------------------------


def test_zip_listing_many_parts_is_refused_from_its_end_record(settings):
    """zipfile makes an object per listed entry; 100,000 of them took tens of megabytes."""
    listing = io.BytesIO(zip_listing(100_000))
    code, peak = _refusal(lambda: office_inspect(listing))
    assert peak < 1024 * 1024
    assert code == "office_too_many_parts"


def test_zip_understating_its_entries_is_counted_by_its_directory(settings):
    """The end record says 3 entries; zipfile would read all 6,000 the directory holds."""
    listing = io.BytesIO(zip_listing(6000, declared=3))
    code, peak = _refusal(lambda: office_inspect(listing))
    assert peak < 1024 * 1024
    assert code == "office_too_many_parts"
