"""Links to the place in the source an item comes from (the tutor's citation rules)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from materials.models import Material
from materials.pipeline.youtube import watch_url


def source_url(
    material: Material, *, page: int | None, start_seconds: float | None, quote: str = ""
) -> str:
    """`/materials/<id>/file/#page=N` for a PDF, the video at that second for YouTube.

    A browser cannot show slides or a handout, so theirs open the material's
    text view at the slide or section (`/materials/<id>/text/#p-N`).
    """
    if material.kind == Material.Kind.YOUTUBE:
        return watch_url(material.video_id, start_seconds)
    if material.is_office:
        url = reverse("materials:text", args=[material.pk])
        return f"{url}#p-{page}" if page else url
    url = reverse("materials:file", args=[material.pk])
    return f"{url}#page={page}" if page else url


def place_label(kind: str, page: int) -> str:
    """ "p. 3", "slide 3" or "section 3": what a page number counts in this kind."""
    if kind == Material.Kind.PPTX:
        return _("slide %(number)s") % {"number": page}
    if kind == Material.Kind.DOCX:
        return _("section %(number)s") % {"number": page}
    return _("p. %(page)s") % {"page": page}


def source_label(
    *,
    page: int | None,
    start_seconds: float | None,
    material: Material | None = None,
    kind: str | None = None,
) -> str:
    """ "p. 3", "slide 3" or "1:02:05"; with the material, its title first ("Algebra, p. 3").

    The kind comes from the material, or from `kind` where the title is not wanted.
    """
    kind = material.kind if material is not None else kind
    place = ""
    if start_seconds is not None:
        seconds = int(start_seconds)
        place = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}".removeprefix("0:")
    elif page:
        place = place_label(kind or Material.Kind.PDF, page)
    if material is None:
        return place
    return f"{material.title}, {place}" if place else material.title
