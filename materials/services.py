"""Writes on materials: create, enqueue, reprocess, delete, progress."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import django_rq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rq import Retry

from accounts.models import User
from eduplatform import quota
from materials.errors import ProcessingError, error_message
from materials.models import Material
from materials.pipeline import office
from materials.pipeline.youtube import canonical_url, parse_video_id

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
# Retries only ever happen for transient failures (network, rate limits).
JOB_RETRY = Retry(max=3, interval=[15, 60, 300])


def check_request_size(content_length: str | None, *, field: str = "file") -> None:
    """Refuse an oversized upload from its declared length, before reading the body."""
    try:
        declared = int(content_length or 0)
    except ValueError:
        declared = 0
    # Allow room for the multipart envelope and the other fields.
    limit = settings.MAX_UPLOAD_MB * 1024 * 1024 + 64 * 1024
    if declared > limit:
        raise ValidationError(
            {
                field: _("The file is too large (limit: %(limit)d MB).")
                % {"limit": settings.MAX_UPLOAD_MB}
            }
        )


def _check_size(upload: UploadedFile, *, field: str, limit_mb: int) -> None:
    if upload.size == 0:
        raise ValidationError({field: _("The file is empty.")})
    if upload.size > limit_mb * 1024 * 1024:
        raise ValidationError(
            {field: _("The file is too large (limit: %(limit)d MB).") % {"limit": limit_mb}}
        )


def _check_pdf_bytes(upload: UploadedFile) -> None:
    """A PDF starts with its header: one found further in may follow HTML that a
    browser would run (readers tolerate leading junk, and so would an attacker)."""
    upload.seek(0)
    head = upload.read(len(PDF_MAGIC))
    upload.seek(0)
    if head != PDF_MAGIC:
        raise ValidationError({"file": _("This file is not a PDF.")})


def _unsupported_file_message(filename: str) -> str:
    if Path(filename).suffix.lower() in (".pptx", ".docx", ".pptm", ".docm", ".ppt", ".doc"):
        return error_message("office_broken")
    return _(
        "This file is not a PDF. Upload a PDF, a PowerPoint presentation (.pptx) "
        "or a Word document (.docx)."
    )


def _default_title(filename: str) -> str:
    return Path(filename).stem.replace("_", " ").strip()[:300] or _("Untitled")


def material_create_pdf(*, owner: User, file: UploadedFile, title: str = "") -> Material:
    """Store an uploaded PDF after checking it by its bytes and page count.

    Counts against the owner's daily upload budget (QuotaExceeded when spent,
    before the file is read); a refused file gives its use back. Nothing is
    kept when a check fails: the row is rolled back and the stored file removed.
    """
    with quota.spend(owner, quota.UPLOAD):
        return _material_create_pdf(owner=owner, file=file, title=title)


@transaction.atomic
def _material_create_pdf(*, owner: User, file: UploadedFile, title: str) -> Material:
    from materials.pipeline.pdf import pdf_page_count

    _check_size(file, field="file", limit_mb=settings.MAX_UPLOAD_MB)
    _check_pdf_bytes(file)
    original_name = Path(file.name or "document.pdf").name[:255]
    material = Material(
        owner=owner,
        kind=Material.Kind.PDF,
        title=(title or "").strip()[:300] or _default_title(original_name),
        original_filename=original_name,
    )
    material.file.save(original_name, file, save=False)
    try:
        pages = pdf_page_count(Path(material.file.path))
    except ProcessingError as exc:
        material.file.delete(save=False)
        raise ValidationError({"file": error_message(exc.code)}) from exc
    if pages > settings.MAX_PDF_PAGES:
        material.file.delete(save=False)
        raise ValidationError(
            {
                "file": _("The PDF has too many pages (%(pages)d; limit: %(limit)d).")
                % {"pages": pages, "limit": settings.MAX_PDF_PAGES}
            }
        )
    material.page_count = pages
    material.save()
    material_enqueue(material=material)
    return material


def material_create_file(*, owner: User, file: UploadedFile, title: str = "") -> Material:
    """Store an uploaded PDF, slides (.pptx) or handout (.docx), told apart by their bytes.

    The name the student gave the file decides nothing: a PDF starts with
    `%PDF-`, slides and handouts are ZIPs whose content types say which they
    are. Counts against the daily upload budget like a PDF.
    """
    with quota.spend(owner, quota.UPLOAD):
        _check_size(file, field="file", limit_mb=settings.MAX_UPLOAD_MB)
        file.seek(0)
        head = file.read(1024)
        file.seek(0)
        if head.startswith((office.ZIP_MAGIC, office.OLE_MAGIC)):
            return _material_create_office(owner=owner, file=file, title=title)
        if PDF_MAGIC in head:
            return _material_create_pdf(owner=owner, file=file, title=title)
        raise ValidationError({"file": _unsupported_file_message(file.name or "")})


@transaction.atomic
def _material_create_office(*, owner: User, file: UploadedFile, title: str) -> Material:
    """Slides or a handout, checked before anything is written to disk."""
    try:
        info = office.office_inspect(file)
    except ProcessingError as exc:
        raise ValidationError({"file": error_message(exc.code)}) from exc
    if too_long := office.office_check_length(info):
        message = (
            _("The presentation has too many slides (%(count)d; limit: %(limit)d).")
            if info.kind == office.PPTX
            else _("The document has too many paragraphs (%(count)d; limit: %(limit)d).")
        )
        raise ValidationError({"file": message % {"count": too_long[0], "limit": too_long[1]}})
    original_name = Path(file.name or f"material.{info.kind}").name[:255]
    material = Material(
        owner=owner,
        kind=info.kind,
        title=(title or "").strip()[:300] or _default_title(original_name),
        original_filename=original_name,
        # A handout's sections are only known once it is read.
        page_count=info.count if info.kind == office.PPTX else None,
    )
    # Stored under its real kind's suffix, whatever the student named it.
    material.file.save(f"upload.{info.kind}", file, save=False)
    material.save()
    material_enqueue(material=material)
    return material


def material_create_youtube(
    *, owner: User, url: str, title: str = "", subtitles: UploadedFile | None = None
) -> Material:
    """Register a YouTube lecture; an optional subtitle file replaces fetching captions.

    Counts against the daily upload budget like a PDF; a refused link gives it back.
    """
    with quota.spend(owner, quota.UPLOAD):
        return _material_create_youtube(owner=owner, url=url, title=title, subtitles=subtitles)


@transaction.atomic
def _material_create_youtube(
    *, owner: User, url: str, title: str, subtitles: UploadedFile | None
) -> Material:
    try:
        video_id = parse_video_id(url)
    except ProcessingError as exc:
        raise ValidationError({"youtube_url": error_message(exc.code)}) from exc
    material = Material(
        owner=owner,
        kind=Material.Kind.YOUTUBE,
        youtube_url=canonical_url(video_id),
        video_id=video_id,
        title=(title or "").strip()[:300] or f"YouTube {video_id}",
    )
    if subtitles is not None:
        _check_size(subtitles, field="subtitles", limit_mb=settings.MAX_SUBTITLE_MB)
        material.subtitle_file.save(
            Path(subtitles.name or "subtitles.srt").name, subtitles, save=False
        )
    material.save()
    material_enqueue(material=material)
    return material


def material_enqueue(*, material: Material) -> None:
    """Queue processing once the row is committed, so the worker can see it."""
    attempt = material.attempts + 1
    Material.objects.filter(pk=material.pk).update(
        attempts=attempt,
        status=Material.Status.PENDING,
        stage=Material.Stage.QUEUED,
        progress=0,
        error_code="",
        error_detail="",
        job_id=f"material-{material.pk}-{attempt}",
        heartbeat_at=timezone.now(),
    )
    material.refresh_from_db()

    def enqueue() -> None:
        from materials.jobs import on_process_failure, process_material

        django_rq.get_queue("default").enqueue(
            process_material,
            material.pk,
            attempt,
            job_id=material.job_id,
            job_timeout=settings.PROCESS_JOB_TIMEOUT,
            retry=JOB_RETRY,
            on_failure=on_process_failure,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )

    transaction.on_commit(enqueue)


@transaction.atomic
def material_reprocess(*, material: Material) -> Material:
    """Run the whole pipeline again; its output replaces the old, never adds to it."""
    material = Material.objects.select_for_update().get(pk=material.pk)
    material_enqueue(material=material)
    return material


def material_delete(*, material: Material) -> None:
    files = [f for f in (material.file, material.subtitle_file) if f]
    material.delete()
    for stored in files:
        transaction.on_commit(lambda stored=stored: stored.storage.delete(stored.name))


def material_set_progress(
    *, material: Material, stage: str, progress: int, reading: dict[str, int] | None = None
) -> None:
    """Record how far the job is, visible at once (outside any open transaction).

    `reading` replaces the material's page-reading report (pages recognised so far).
    """
    progress = max(0, min(100, int(progress)))
    updates = {"reading": dict(reading)} if reading is not None else {}
    Material.objects.filter(pk=material.pk).update(
        status=Material.Status.PROCESSING,
        stage=stage,
        progress=progress,
        heartbeat_at=timezone.now(),
        **updates,
    )
    material.stage, material.progress = stage, progress


def material_fail(*, material: Material, code: str, detail: str = "") -> None:
    """Mark failed, unless it is already ready: a late failure never moves it back."""
    Material.objects.filter(pk=material.pk).exclude(status=Material.Status.READY).update(
        status=Material.Status.FAILED,
        stage=Material.Stage.FAILED,
        error_code=code,
        error_detail=detail[:4000],
        heartbeat_at=timezone.now(),
    )
    logger.info("material %s failed: %s", material.pk, code)


def material_requeue_stalled(*, stale_after: timedelta = timedelta(minutes=10)) -> int:
    """Queue again the materials whose job went silent (a killed worker, a lost queue).

    Every progress update touches `heartbeat_at`; a material still pending or
    processing with an old heartbeat has no live job behind it. Re-running is
    safe because processing replaces, never adds.
    """
    cutoff = timezone.now() - stale_after
    stalled = Material.objects.filter(
        status__in=[Material.Status.PENDING, Material.Status.PROCESSING],
        heartbeat_at__lt=cutoff,
    )
    count = 0
    for material in stalled:
        with transaction.atomic():
            material_reprocess(material=material)
        count += 1
    if count:
        logger.warning("requeued %d stalled materials", count)
    return count
