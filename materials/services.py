"""Writes on materials: create, enqueue, reprocess, delete, requeue the stalled.

A run's own writes on its row (progress, failure) are in materials.progress.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from eduplatform import quota
from eduplatform.queue import enqueue_run_on_commit, job_alive
from materials.errors import AlreadyRunning, ProcessingError, error_message
from materials.links import canonical_url
from materials.models import Material
from materials.pipeline import office
from materials.pipeline.youtube import parse_video_id
from materials.progress import material_fail

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
# Refusals whose checking was the expense: a zip bomb, a file past its length.
_COSTLY_REFUSALS = {
    "office_bomb",
    "office_too_many_parts",
    "office_too_many_elements",
    "office_timeout",
    "office_too_complex",
    "pdf_timeout",
    "pdf_too_complex",
}


class CountedRefusal(ValidationError):
    """A refused upload that still counts against the daily budget.

    Finding out cost the server real work (unpacking, parsing, a reader
    process), so sending the same file again must not be free.
    """


def _refusal(code: str) -> ValidationError:
    refusal = CountedRefusal if code in _COSTLY_REFUSALS else ValidationError
    return refusal({"file": error_message(code)})


def _check_size(upload: UploadedFile, *, field: str, limit_mb: int) -> None:
    if not upload.size:
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
    before the file is read) and its rate a minute (RateExceeded); a refused
    file gives its daily use back, unless it was refused for what checking it
    cost (CountedRefusal: too many pages, too slow or too big to count them).
    Nothing is kept when a check fails: the row is rolled back and the stored
    file removed.
    """
    with quota.spend(owner, quota.UPLOAD, keep=(CountedRefusal,)):
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
        raise _refusal(exc.code) from exc
    if pages > settings.MAX_PDF_PAGES:
        material.file.delete(save=False)
        raise CountedRefusal(
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
    are. Counts against the daily upload budget and its rate like a PDF; a
    zip bomb or a file past its length keeps its use (CountedRefusal).
    """
    with quota.spend(owner, quota.UPLOAD, keep=(CountedRefusal,)):
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
        raise _refusal(exc.code) from exc
    if too_long := office.office_check_length(info):
        message = (
            _("The presentation has too many slides (%(count)d; limit: %(limit)d).")
            if info.kind == office.PPTX
            else _("The document has too many paragraphs (%(count)d; limit: %(limit)d).")
        )
        raise CountedRefusal({"file": message % {"count": too_long[0], "limit": too_long[1]}})
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


def material_enqueue(*, material: Material, requeue: bool = False) -> None:
    """Queue processing once the row is committed, so the worker can see it.

    Every call starts a new attempt; a run of an older one stops at its next
    write (Superseded). `requeue` marks the sweep's calls, which are counted
    (a student's or moderator's request starts the count again). If the queue
    cannot be reached the row stays, "waiting for the worker", for the sweep.
    """
    attempt = material.attempts + 1
    job_id = f"material-{material.pk}-{attempt}"
    Material.objects.filter(pk=material.pk).update(
        attempts=attempt,
        status=Material.Status.PENDING,
        stage=Material.Stage.QUEUED,
        progress=0,
        error_code="",
        error_detail="",
        job_id=job_id,
        heartbeat_at=timezone.now(),
        retry_at=None,
        retry_number=0,
        requeues=F("requeues") + 1 if requeue else 0,
    )
    material.refresh_from_db()

    def unreachable() -> None:
        Material.objects.filter(
            pk=material.pk, attempts=attempt, stage=Material.Stage.QUEUED
        ).update(stage=Material.Stage.WAITING)

    enqueue_run_on_commit(
        "materials.jobs.material_process",
        material.pk,
        attempt,
        job_id=job_id,
        on_unreachable=unreachable,
        on_failure="materials.jobs.on_process_failure",
    )


@contextmanager
def _student_run(owner: User) -> Iterator[None]:
    """A run a student asked for is a full pipeline: one upload and one AI call of today's budgets.

    Both are reserved before anything changes, and both given back if the
    request then fails (QuotaExceeded for the second refunds the first).
    """
    try:
        with quota.spend(owner, quota.UPLOAD), quota.spend(owner, quota.AI):
            yield
    except quota.QuotaExceeded as exc:
        if exc.kind == quota.UPLOAD and not isinstance(exc, quota.RateExceeded):
            # "new materials" would puzzle a student who asked to process one again.
            exc.message = _(
                "You have reached today's limit of %(limit)d materials processed (new or "
                "processed again). You can continue after midnight UTC."
            ) % {"limit": exc.limit}
            # DRF renders plain strings as it does ErrorDetail; its stubs take only the latter.
            exc.detail = {"detail": exc.message, "code": exc.default_code}  # type: ignore[dict-item]
        raise


def material_reprocess(*, material: Material, by_student: bool = False) -> Material:
    """Run the whole pipeline again; its output replaces the old, never adds to it.

    A student's request (`by_student`) is refused while a run is in flight
    (AlreadyRunning, HTTP 409) and counts against today's budgets
    (QuotaExceeded, HTTP 429): a loop of requests is neither parallel runs nor
    unbounded spend. A moderator's request supersedes a run in flight and
    costs the student nothing.
    """
    with transaction.atomic():
        material = Material.objects.select_for_update().get(pk=material.pk)
        if not by_student:
            material_enqueue(material=material)
            return material
        if material.is_in_flight:
            raise AlreadyRunning(
                _("This material is already being processed. Wait until it is ready or has failed.")
            )
        with _student_run(material.owner):
            material_enqueue(material=material)
    return material


def material_attach_subtitles(*, material: Material, subtitles: UploadedFile) -> Material:
    """Read a YouTube lecture from the student's subtitle file instead of YouTube.

    Offered at once when YouTube cannot be reached (no need to sit through the
    retries): the run in flight is superseded by one that reads the file. It
    is a full run, so it counts like a student's Reprocess.
    """
    if material.kind != Material.Kind.YOUTUBE:
        raise ValidationError({"subtitles": _("Only a YouTube lecture takes a subtitle file.")})
    _check_size(subtitles, field="subtitles", limit_mb=settings.MAX_SUBTITLE_MB)
    with transaction.atomic():
        material = Material.objects.select_for_update().get(pk=material.pk)
        with _student_run(material.owner):
            old = material.subtitle_file.name if material.subtitle_file else ""
            material.subtitle_file.save(
                Path(subtitles.name or "subtitles.srt").name, subtitles, save=False
            )
            material.save(update_fields=["subtitle_file", "updated_at"])
            if old:
                transaction.on_commit(lambda: material.subtitle_file.storage.delete(old))
            material_enqueue(material=material)
    return material


def material_delete(*, material: Material) -> None:
    """Delete the material and everything made from it; its files go once committed.

    The files are removed by the post_delete receiver (materials.signals), so
    admin deletes and cascades from a deleted account remove them too.
    """
    material.delete()


def material_files_delete_on_commit(*, material: Material) -> None:
    """Remove the stored files of a deleted material once the deletion is committed."""
    for stored in (material.file, material.subtitle_file):
        if stored and stored.name:
            name, storage = stored.name, stored.storage
            transaction.on_commit(partial(storage.delete, name))


def material_orphan_files(*, older_than: timedelta = timedelta(hours=1)) -> list[Path]:
    """Stored upload files no material refers to, last changed before `older_than` ago.

    Left by deletions before files went with their materials, or by a crash
    between storing a file and committing its row. The age keeps a file being
    uploaded right now (stored, its row not yet committed) out of the list.
    """
    folder = Path(settings.MEDIA_ROOT) / "uploads"
    if not folder.is_dir():
        return []
    used: set[str] = set()
    for file, subtitles in Material.objects.values_list("file", "subtitle_file").iterator():
        used.update(name for name in (file, subtitles) if name)
    cutoff = (timezone.now() - older_than).timestamp()
    media = Path(settings.MEDIA_ROOT)
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.relative_to(media).as_posix() not in used
        and path.stat().st_mtime < cutoff
    )


def _looks_stalled(cutoff: datetime) -> Q:
    # Silent for long, or never queued (the queue was down when it was saved).
    return Q(status__in=Material.IN_FLIGHT) & (
        Q(heartbeat_at__lt=cutoff) | Q(stage=Material.Stage.WAITING)
    )


def _requeue_if_dead(pk: int, *, cutoff: datetime, stale_after: timedelta) -> bool:
    with transaction.atomic():
        # Locked and checked again: a second sweep (another worker's cron)
        # skips the row, or finds it requeued and fresh.
        material = (
            Material.objects.select_for_update(skip_locked=True)
            .filter(_looks_stalled(cutoff), pk=pk)
            .first()
        )
        if material is None or job_alive(material.job_id, overdue_after=stale_after):
            return False
        if material.requeues >= settings.SWEEP_MAX_REQUEUES:
            material_fail(
                material=material,
                code="interrupted",
                detail=f"the job died {material.requeues + 1} times (job {material.job_id})",
            )
            return False
        material_enqueue(material=material, requeue=True)
        return True


def material_requeue_stalled(*, stale_after: timedelta = timedelta(minutes=10)) -> int:
    """Queue again the materials whose job is gone (a killed worker, a lost queue).

    A quiet row is only a candidate: RQ is asked whether its job waits in the
    queue, waits for a retry or runs on a live worker (eduplatform.queue.job_alive),
    and such rows are left alone, however long the queue. Re-running is safe:
    processing replaces, never adds, and an old run still going stops at its
    next write. A material whose job keeps dying ends failed with a message.
    """
    cutoff = timezone.now() - stale_after
    candidates = list(Material.objects.filter(_looks_stalled(cutoff)).values_list("pk", flat=True))
    count = sum(_requeue_if_dead(pk, cutoff=cutoff, stale_after=stale_after) for pk in candidates)
    if count:
        logger.warning("requeued %d stalled materials", count)
    return count
