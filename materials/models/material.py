import math
import uuid
from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from pgvector.django import HnswIndex, VectorField

from eduplatform.embeddings import EMBEDDING_DIMENSIONS
from materials.errors import error_message, retry_reason


def upload_path(instance: "Material", filename: str) -> str:
    """A random stored name: the student's file name never reaches the disk."""
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"uploads/{uuid.uuid4().hex}{suffix}"


class Material(models.Model):
    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        YOUTUBE = "youtube", "YouTube"
        PPTX = "pptx", _("Slides (PPTX)")
        DOCX = "docx", _("Document (DOCX)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Queued")
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    # Queued or running: no second run starts, and its page keeps polling.
    IN_FLIGHT = (Status.PENDING, Status.PROCESSING)

    class Stage(models.TextChoices):
        QUEUED = "queued", _("Waiting in the queue")
        # The queue could not be reached when the job was to be queued: the
        # upload is kept and the sweep queues it once the queue answers.
        WAITING = "waiting", _("Waiting for the worker")
        # A transient failure (network, rate limit): RQ tries again at retry_at.
        RETRYING = "retrying", _("Waiting to try again")
        EXTRACTING = "extracting", _("Reading the text")
        RECOGNISING = "recognising", _("Recognising text in page images")
        EMBEDDING = "embedding", _("Understanding the passages")
        GENERATING = "generating", _("Writing study materials")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Stopped")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="materials"
    )
    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to=upload_path, blank=True)
    original_filename = models.CharField(max_length=255, blank=True)
    youtube_url = models.URLField(max_length=500, blank=True)
    video_id = models.CharField(max_length=11, blank=True)
    subtitle_file = models.FileField(upload_to=upload_path, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    error_detail = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    job_id = models.CharField(max_length=64, blank=True)
    # Touched by every progress update; a sweep requeues rows whose job went silent.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # While a transient failure waits for RQ's next try: when, and which try of how many.
    retry_at = models.DateTimeField(null=True, blank=True)
    retry_number = models.PositiveSmallIntegerField(default=0)
    # Times the sweep queued this attempt again (a dead worker); bounded, so a file
    # that kills every worker ends failed instead of looping.
    requeues = models.PositiveSmallIntegerField(default=0)

    page_count = models.PositiveIntegerField(null=True, blank=True)
    # How the pages were read, for the student: {"ocr": pages recognised from
    # images, "repaired": pages decoded from a legacy Cyrillic code page,
    # "unreadable": pages without text even after recognition}; while
    # recognising, {"ocr_total", "ocr_done"} drive "page 12 of 80".
    reading = models.JSONField(default=dict, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)
    is_hidden = models.BooleanField(
        _("hidden by a moderator"), default=False, help_text=_("Hidden materials are not shown.")
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When the material's text went in: full-text search and the tutor work
    # from then on, while the vectors and the study content are still coming.
    searchable_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        indexes = [models.Index(fields=["owner", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="material_progress_at_most_100"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="youtube") | ~models.Q(video_id=""),
                name="material_youtube_has_video_id",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def error(self) -> str:
        return error_message(self.error_code)

    @property
    def reading_notes(self) -> list[str]:
        """What the student should know about how the pages were read."""
        reading = self.reading or {}
        notes = []
        if self.is_in_flight and reading.get("ocr_total"):
            done, total = reading.get("ocr_done", 0), reading["ocr_total"]
            notes.append(
                _("Recognising page %(done)s of %(total)s")
                % {"done": min(done + 1, total), "total": total}
            )
            return notes
        if count := reading.get("ocr"):
            notes.append(
                ngettext(
                    "%(count)s page was read from its image (text recognition).",
                    "%(count)s pages were read from their images (text recognition).",
                    count,
                )
                % {"count": count}
            )
        if count := reading.get("repaired"):
            notes.append(
                ngettext(
                    "The text of %(count)s page was repaired from an old Cyrillic encoding.",
                    "The text of %(count)s pages was repaired from an old Cyrillic encoding.",
                    count,
                )
                % {"count": count}
            )
        if (count := reading.get("unreadable")) and self.status == self.Status.READY:
            notes.append(
                ngettext(
                    "%(count)s page had no readable text, even after recognition.",
                    "%(count)s pages had no readable text, even after recognition.",
                    count,
                )
                % {"count": count}
            )
        return notes

    @property
    def is_office(self) -> bool:
        """Slides or a handout: anchored to slides or sections, read through the text view."""
        return self.kind in (self.Kind.PPTX, self.Kind.DOCX)

    @property
    def retry_note(self) -> str:
        """What failed and when RQ tries again: "YouTube could not be reached — trying
        again in 60 s, 2 of 3"."""
        if self.stage != self.Stage.RETRYING or self.retry_at is None:
            return ""
        values = {
            "reason": retry_reason(self.error_code),
            "seconds": max(0, math.ceil((self.retry_at - timezone.now()).total_seconds())),
            "number": self.retry_number,
            "total": len(settings.PROCESS_RETRY_INTERVALS),
        }
        if values["seconds"]:
            return _("%(reason)s — trying again in %(seconds)d s, %(number)d of %(total)d") % values
        return _("%(reason)s — trying again now, %(number)d of %(total)d") % values

    @property
    def offers_subtitles(self) -> bool:
        """A video whose captions YouTube would not give: the student's own file, at once."""
        return (
            self.kind == self.Kind.YOUTUBE
            and self.error_code.startswith("yt_")
            and self.error_code != "yt_invalid_url"
        )

    @property
    def is_searchable(self) -> bool:
        """Its text is in: search and the tutor answer, whatever is still being prepared."""
        return self.searchable_at is not None and self.status != self.Status.FAILED

    @property
    def is_in_flight(self) -> bool:
        return self.status in self.IN_FLIGHT


# Constant configs keep the generated column immutable, as PostgreSQL requires.
_TSVECTOR_BY_LANGUAGE = (
    "CASE language"
    " WHEN 'ru' THEN to_tsvector('pg_catalog.russian'::regconfig, text)"
    " WHEN 'en' THEN to_tsvector('pg_catalog.english'::regconfig, text)"
    " ELSE to_tsvector('pg_catalog.simple'::regconfig, text) END"
)


class Chunk(models.Model):
    """A passage of a material, anchored to its pages or seconds."""

    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="chunks")
    # Denormalised so that every search filters by owner without a join.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    text = models.TextField()
    page_start = models.PositiveIntegerField(null=True, blank=True)
    page_end = models.PositiveIntegerField(null=True, blank=True)
    start_seconds = models.FloatField(null=True, blank=True)
    end_seconds = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=8, default="simple")
    # [[word index, page or start second], ...] where each source page or
    # caption begins inside the text, so a quoted sentence is cited exactly.
    anchors = models.JSONField(default=list, blank=True)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True)
    embedding_model = models.CharField(max_length=100)
    # The passage's sentences, each cut at page starts, with the lexemes of each
    # piece, made once at ingest (materials.text.sentences.sentence_index) so
    # that a search does not cut and stem its candidates again. Null for chunks
    # stored before it existed: search then does that work itself.
    sentences = models.JSONField(null=True, blank=True)
    search_vector = models.GeneratedField(
        expression=RawSQL(_TSVECTOR_BY_LANGUAGE, []),  # noqa: S611 (a constant)
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["material", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["material", "position"], name="chunk_unique_material_position"
            ),
        ]
        indexes = [
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["search_vector"], name="chunk_search_vector_gin"),
            models.Index(fields=["owner", "embedding_model"]),
            # Counting a student's chunks in scope (the full-text idf) from the index alone.
            models.Index(fields=["owner", "material"], name="chunk_owner_material"),
        ]

    def __str__(self) -> str:
        return f"{self.material_id}#{self.position}"


CROSSLINGUAL_DIMENSIONS = 512


class ChunkCrossVector(models.Model):
    """The multilingual vector of one page (or caption run) of a chunk.

    For questions in the other language: a chunk has one row per page it
    spans, so the page nearest the question is known without embedding
    anything at search time. In a table of its own: the chunk row stays
    within PostgreSQL's inline limit (migration 0005), so the first stage
    reads no more than before.
    """

    chunk = models.ForeignKey(Chunk, on_delete=models.CASCADE, related_name="cross_vectors")
    # Denormalised, as on Chunk, so that the search filters without a join.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="+")
    anchor = models.FloatField(null=True)  # the page (PDF) or start second (video) of the part
    model = models.CharField(max_length=100)
    embedding = VectorField(dimensions=CROSSLINGUAL_DIMENSIONS)

    class Meta:
        indexes = [models.Index(fields=["owner", "material"])]

    def __str__(self) -> str:
        return f"{self.chunk_id}@{self.anchor} ({self.model})"
