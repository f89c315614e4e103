"""Links to the place in the source an item comes from (the tutor's citation rules)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from materials.models import Material
from materials.pipeline.youtube import watch_url


def source_url(material: Material, *, page: int | None, start_seconds: float | None) -> str:
    """`/materials/<id>/file/#page=N` for a PDF, the video at that second for YouTube."""
    if material.kind == Material.Kind.YOUTUBE:
        return watch_url(material.video_id, start_seconds)
    url = reverse("materials:file", args=[material.pk])
    return f"{url}#page={page}" if page else url


def source_label(*, page: int | None, start_seconds: float | None) -> str:
    if start_seconds is not None:
        seconds = int(start_seconds)
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}".removeprefix("0:")
    if page:
        return _("p. %(page)s") % {"page": page}
    return ""
