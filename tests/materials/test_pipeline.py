"""The real worker turns materials into anchored, searchable chunks."""

import django_rq
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from rq.job import Job

from materials.jobs import material_process, on_process_failure
from materials.models import Chunk, Material
from materials.search.selectors import search
from materials.services import material_enqueue, material_reprocess
from tests.support.corpus import corpus_file
from tests.support.factories import MaterialFactory
from tests.support.lectures import LECTURE, pdf_material
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db


def enqueue(material: Material, capture) -> None:
    with capture(execute=True):
        material_enqueue(material=material)


def test_pdf_becomes_chunks_with_pages_and_is_searchable(
    user, run_jobs, django_capture_on_commit_callbacks
):
    material = pdf_material(user, make_pdf(LECTURE))
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    material.refresh_from_db()
    assert (material.status, material.stage, material.progress) == ("ready", "ready", 100)
    assert material.page_count == 3 and material.language == "en"
    chunks = list(material.chunks.order_by("position"))
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.embedding_model == "all-MiniLM-L6-v2-int8" for c in chunks)
    hits = search(owner=user, query="force equals mass times acceleration", k=1).hits
    assert hits[0].chunk.page_start <= 3 <= hits[0].chunk.page_end


def test_real_book_pages_are_physical_page_numbers(
    user, run_jobs, django_capture_on_commit_callbacks
):
    book = corpus_file("pdf", "books", "R-data.pdf")
    material = pdf_material(user, book.read_bytes(), "R-data.pdf")
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    material.refresh_from_db()
    assert material.status == "ready", material.error_detail
    assert material.page_count == 41
    pages = sorted({c.page_start for c in material.chunks.all()})
    assert pages[0] >= 1 and pages[-1] <= 41 and len(pages) > 20


def test_russian_pdf_is_detected_and_full_text_indexed(
    user, run_jobs, django_capture_on_commit_callbacks
):
    book = corpus_file("pdf", "books", "mpman-ru.pdf")
    material = pdf_material(user, book.read_bytes(), "mpman-ru.pdf")
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    material.refresh_from_db()
    assert material.status == "ready", material.error_detail
    assert material.language == "ru"
    from django.contrib.postgres.search import SearchQuery

    found = Chunk.objects.filter(
        material=material, search_vector=SearchQuery("рисунки", config="russian")
    )
    assert found.exists()


def test_youtube_lecture_becomes_chunks_anchored_to_seconds(
    user, youtube, run_jobs, django_capture_on_commit_callbacks
):
    material = Material.objects.create(
        owner=user, kind="youtube", video_id="GJLlxj_dtq8", title="YouTube GJLlxj_dtq8"
    )
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    material.refresh_from_db()
    assert material.status == "ready", material.error_detail
    assert material.title == "Surface Go Review - It’s Awesome"
    assert material.duration_seconds == 316
    chunk = material.chunks.get()
    assert chunk.start_seconds == 0.0 and chunk.end_seconds > 5.7
    assert chunk.page_start is None


def test_subtitle_file_is_used_instead_of_youtube(
    user, run_jobs, django_capture_on_commit_callbacks
):
    srt = (
        "1\n00:00:01,000 --> 00:00:04,000\nToday we study entropy.\n\n"
        "2\n00:01:05,500 --> 00:01:09,000\nEntropy never decreases in isolation.\n"
    )
    material = Material.objects.create(owner=user, kind="youtube", video_id="GJLlxj_dtq8")
    material.subtitle_file.save("lecture.srt", ContentFile(srt.encode()))
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    material.refresh_from_db()
    assert material.status == "ready", material.error_detail
    chunk = material.chunks.get()
    assert chunk.start_seconds == 1.0 and chunk.end_seconds == 69.0


def test_video_without_captions_fails_with_a_message_and_is_not_retried(
    user, youtube, corpus, run_jobs, django_capture_on_commit_callbacks
):
    youtube.replace(
        "POST",
        "https://www.youtube.com/youtubei/v1/player",
        body=(corpus / "youtube_transcripts_disabled.innertube.json.static").read_bytes(),
        content_type="application/json",
    )
    material = Material.objects.create(owner=user, kind="youtube", video_id="GJLlxj_dtq8")
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    material.refresh_from_db()
    assert material.status == "failed" and material.error_code == "yt_transcripts_disabled"
    assert "subtitle file" in material.error


def test_blocked_youtube_is_retried_not_failed(
    user, youtube, corpus, run_jobs, django_capture_on_commit_callbacks
):
    youtube.replace(
        "POST",
        "https://www.youtube.com/youtubei/v1/player",
        body=(corpus / "youtube_request_blocked.innertube.json.static").read_bytes(),
        content_type="application/json",
    )
    material = Material.objects.create(owner=user, kind="youtube", video_id="GJLlxj_dtq8")
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    material.refresh_from_db()
    # Waiting for its scheduled retry, and saying so.
    assert (material.status, material.stage) == ("pending", "retrying")
    assert material.error_code == "yt_blocked" and material.retry_number == 1
    import django_rq

    assert len(django_rq.get_queue("default").scheduled_job_registry) == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"%PDF-1.4\n%%EOF", "pdf_broken"),
        (b"not a pdf at all", "pdf_broken"),
    ],
)
def test_broken_pdf_fails_with_a_message(
    user, content, code, run_jobs, django_capture_on_commit_callbacks
):
    material = pdf_material(user, content)
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    material.refresh_from_db()
    assert material.status == "failed" and material.error_code == code
    assert material.error


def test_encrypted_pdf_fails_with_a_message(user, run_jobs, django_capture_on_commit_callbacks):
    locked = corpus_file("pdf", "pdfplumber", "password-example.pdf")
    material = pdf_material(user, locked.read_bytes())
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    material.refresh_from_db()
    assert material.error_code == "pdf_encrypted"
    assert "password" in material.error


def test_reprocess_replaces_chunks_instead_of_adding(
    user, run_jobs, django_capture_on_commit_callbacks
):
    material = pdf_material(user, make_pdf(LECTURE))
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    first = material.chunks.count()
    with django_capture_on_commit_callbacks(execute=True):
        material_reprocess(material=material)
    run_jobs()
    material.refresh_from_db()
    assert material.status == "ready" and material.attempts == 2
    assert material.chunks.count() == first


def test_superseded_job_does_nothing(user, django_capture_on_commit_callbacks):
    material = pdf_material(user, make_pdf(LECTURE))
    enqueue(material, django_capture_on_commit_callbacks)
    enqueue(material, django_capture_on_commit_callbacks)
    material_process(material.pk, 1)  # the first attempt, replaced by the second
    material.refresh_from_db()
    assert material.status == "pending" and not material.chunks.exists()


def finished_job(material: Material) -> Job:
    """A real RQ job for the material's attempt, with no retries left."""
    job = Job.create(
        material_process, args=(material.pk, 1), connection=django_rq.get_connection("default")
    )
    job.retries_left = 0
    return job


def test_late_failure_never_moves_a_ready_material_back(user):
    material = MaterialFactory(owner=user, status="ready", stage="ready", progress=100, attempts=1)

    on_process_failure(finished_job(material), None, RuntimeError, RuntimeError("late"), None)
    material.refresh_from_db()
    assert material.status == "ready"


def test_last_failed_retry_marks_the_material_failed(user):
    material = MaterialFactory(owner=user, status="processing", attempts=1)

    on_process_failure(finished_job(material), None, RuntimeError, RuntimeError("boom"), None)
    material.refresh_from_db()
    assert material.status == "failed" and material.error_code == "internal"


def test_upload_page_flow_shows_the_material_page(logged_in, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("bio.pdf", make_pdf(LECTURE), content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post("/materials/upload/", {"file": upload, "title": "Biology"})
    material = Material.objects.get()
    assert response.status_code == 302 and response.url == f"/materials/{material.pk}/"
    page = logged_in.get(response.url).content.decode()
    assert "Biology" in page and "Queued" in page


def test_sweep_requeues_a_material_whose_job_went_silent(
    user, run_jobs, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from materials.jobs import sweep_stalled_materials

    material = pdf_material(user, make_pdf(LECTURE))
    Material.objects.filter(pk=material.pk).update(
        status="processing", stage="embedding", heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stalled_materials() == 1
    run_jobs()
    material.refresh_from_db()
    assert material.status == "ready" and material.attempts == 1


def test_sweep_command_leaves_fresh_materials_alone(user):
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    MaterialFactory(owner=user, status="processing", heartbeat_at=timezone.now())
    out = StringIO()
    call_command("sweep_materials", stdout=out)
    assert "requeued 0" in out.getvalue()


def test_periodic_sweep_is_registered_for_rqcron():
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=django_rq.get_connection("default"))
    scheduler.load_config_from_file("materials.cron")
    jobs = scheduler.get_jobs()
    assert [job.func.__name__ for job in jobs] == ["sweep_stalled_materials"]
    assert jobs[0].interval == 300


def test_a_sentence_inside_a_chunk_is_anchored_to_its_own_page(
    user, run_jobs, django_capture_on_commit_callbacks
):
    material = pdf_material(user, make_pdf(LECTURE))
    enqueue(material, django_capture_on_commit_callbacks)
    run_jobs()
    spanning = [c for c in material.chunks.all() if c.page_end > c.page_start]
    assert spanning, "the lecture's passages span pages"
    for chunk in spanning:
        for phrase, page in (("Photosynthesis", 1), ("Krebs", 2), ("Newton", 3)):
            offset = chunk.text.find(phrase)
            if offset >= 0:
                assert _page_at(chunk, offset) == page, (phrase, chunk.anchors)


def _page_at(chunk: Chunk, offset: int) -> float | None:
    """The page search gives the text at a character offset (evidence.sentences' pieces)."""
    from materials.text.sentences import sentences

    for sentence in sentences(chunk):
        for piece in sentence.pieces:
            if piece.start <= offset < piece.end:
                return piece.anchor
    return None
