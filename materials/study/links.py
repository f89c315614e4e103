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


def source_label(
    *, page: int | None, start_seconds: float | None, material: Material | None = None
) -> str:
    """ "p. 3" or "1:02:05"; with the material, its title first ("Algebra, p. 3")."""
    place = ""
    if start_seconds is not None:
        seconds = int(start_seconds)
        place = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}".removeprefix("0:")
    elif page:
        place = _("p. %(page)s") % {"page": page}
    if material is None:
        return place
    return f"{material.title}, {place}" if place else material.title
