"""Links to the place in the source a passage comes from: page, slide, section or second.

The same rules for search results, the tutor's citations, study items and
exports: a PDF opens in the reader at the page, slides and handouts in the
text view at the slide or section, a video at the second.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from materials.models import Material
from materials.text.words import clip


def canonical_url(video_id: str) -> str:
    """The one form of a video's link we store, so duplicates compare equal."""
    return f"https://www.youtube.com/watch?v={video_id}"


def watch_url(video_id: str, seconds: float | None = None) -> str:
    """A link that opens the video at a moment, for citing a transcript passage.

    Seconds are floored, so the link never starts after the quoted words.
    """
    if seconds is None or not math.isfinite(seconds):
        return canonical_url(video_id)
    return f"{canonical_url(video_id)}&t={max(0, math.floor(seconds))}s"


# A quote travels in the link; longer ones are cut (the reader matches on words).
MAX_QUOTE_CHARS = 300


def source_url(
    material: Material, *, page: int | None, start_seconds: float | None, quote: str = ""
) -> str:
    """The in-app reader at the page, with the quoted sentence highlighted, or the video.

    A PDF opens in the reader (`/materials/<id>/read/?page=N&q=…`), a YouTube
    lecture in its embedded player at the second (`…/read/?t=S`). A browser
    cannot show slides or a handout, so theirs open the material's text view
    at the slide or section (`/materials/<id>/text/#p-N`).
    """
    if material.is_office:
        url = reverse("materials:text", args=[material.pk])
        return f"{url}#p-{page}" if page else url
    params: dict[str, str | int] = {}
    if material.kind == Material.Kind.YOUTUBE:
        if start_seconds is not None and math.isfinite(start_seconds):
            params["t"] = max(0, math.floor(start_seconds))
    elif page:
        params["page"] = page
    quote = " ".join((quote or "").split())
    if quote:
        params["q"] = clip(quote, MAX_QUOTE_CHARS).removesuffix("…")
    url = reverse("materials:read", args=[material.pk])
    return f"{url}?{urlencode(params)}" if params else url


def file_url(material: Material, *, page: int | None, start_seconds: float | None) -> str:
    """The stored file at the page (`/materials/<id>/file/#page=N`), or YouTube at the second.

    For links that leave the app (exports): a PDF viewer or YouTube opens them
    without our reader.
    """
    if material.kind == Material.Kind.YOUTUBE:
        return watch_url(material.video_id, start_seconds)
    if material.is_office:
        return source_url(material, page=page, start_seconds=start_seconds)
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
