"""Retries are visible: what failed, when the next try is, and the subtitle upload at once.

With YouTube unreachable a pasted lecture link used to sit at "Reading the
text · 2 %" for 6 min 15 s (three silent retries) before its message. Here
YouTube refuses every connection (responses raises ConnectionError, nothing
leaves the machine), the real job fails, RQ schedules its retry, and the page
says so; the student's subtitle file ends the wait at once.
"""

from __future__ import annotations

import re
import time

import django_rq
import pytest
import requests
import responses
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from rq import SimpleWorker

from materials.models import Material
from materials.services import material_create_youtube, material_enqueue
from tests.support.factories import MaterialFactory
from tests.support.pdfs import make_scanned_pdf

pytestmark = pytest.mark.django_db

SRT = b"""1
00:00:01,000 --> 00:00:06,000
Entropy measures how energy spreads out in a system.

2
00:00:06,000 --> 00:00:12,000
The second law says the entropy of an isolated system never decreases.

3
00:00:12,000 --> 00:00:18,000
Heat flows by itself only from a hotter body to a colder one.
"""


def _work(*, with_scheduler: bool = False) -> None:
    queue = django_rq.get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(
        burst=True, with_scheduler=with_scheduler
    )


@pytest.mark.slow
def test_unreachable_youtube_says_when_it_tries_again_and_takes_subtitles_at_once(
    user, logged_in, settings, django_capture_on_commit_callbacks
):
    settings.PROCESS_RETRY_INTERVALS = [1, 60, 300]
    unreachable = requests.ConnectionError("Failed to establish a new connection")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as youtube:
        youtube.add(responses.GET, re.compile(r"https://.*youtube\.com/.*"), body=unreachable)
        youtube.add(responses.POST, re.compile(r"https://.*youtube\.com/.*"), body=unreachable)
        with django_capture_on_commit_callbacks(execute=True):
            material = material_create_youtube(owner=user, url="https://youtu.be/GJLlxj_dtq8")
        _work()
        url = f"/materials/{material.pk}/"
        page = logged_in.get(url).content.decode()
        assert "YouTube could not be reached — trying again" in page and "1 of 3" in page
        assert 'name="subtitles"' in page  # offered at once, not after the last try

        time.sleep(1.1)
        _work(with_scheduler=True)  # the scheduler's second try fails too
        page = logged_in.get(url).content.decode()
        assert re.search(r"YouTube could not be reached — trying again in (59|60) s, 2 of 3", page)
        russian = logged_in.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
        assert "YouTube недоступен — повтор через" in russian and "2 из 3" in russian

        with django_capture_on_commit_callbacks(execute=True):
            response = logged_in.post(
                f"/materials/{material.pk}/subtitles/",
                {"subtitles": SimpleUploadedFile("lecture.srt", SRT)},
            )
        assert response.status_code == 302
        _work()
    material.refresh_from_db()
    assert material.status == "ready", material.error_detail
    assert material.chunks.filter(text__contains="entropy").exists()
    assert material.retry_at is None and material.error_code == ""
    # The old attempt's pending retry is a no-op when its time comes.
    assert Material.objects.get(pk=material.pk).attempts == 2


def test_a_failure_that_would_come_back_is_not_retried(
    user, settings, run_jobs, django_capture_on_commit_callbacks
):
    """A job that ran out of time would run out again: failed at once, with its message."""
    settings.PROCESS_JOB_TIMEOUT = 2  # recognising three scanned pages takes longer
    material = MaterialFactory(owner=user)
    material.file.save("scan.pdf", ContentFile(make_scanned_pdf([], ["Mitochondria. " * 40] * 3)))
    with django_capture_on_commit_callbacks(execute=True):
        material_enqueue(material=material)
    run_jobs()
    material.refresh_from_db()
    assert (material.status, material.error_code) == ("failed", "timeout")
    assert "took too long" in material.error
    queue = django_rq.get_queue("default")
    assert len(queue.scheduled_job_registry) == 0 and queue.count == 0  # no retry queued
