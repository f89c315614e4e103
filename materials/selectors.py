"""Reads on materials. Every selector takes the owner; search lives in materials.search."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from materials.models import Chunk, Material

_WORD = re.compile(r"\S+")


def material_list(*, owner: User, include_hidden: bool = False) -> QuerySet[Material]:
    """The owner's materials; hidden ones (by a moderator) only where asked, to delete them."""
    materials = Material.objects.filter(owner=owner)
    return materials if include_hidden else materials.filter(is_hidden=False)


def material_list_visible(*, user: User) -> QuerySet[Material]:
    """What the user may read: their own materials and those of their current courses.

    The one scope of every read of a material (reader, text, file, search, the
    tutor); writes stay on `material_list`, since only the owner changes or
    reprocesses a material. Courses are reached by their reverse relations
    (courses.CourseMaterial, courses.Membership), so materials imports no
    courses module; a removed member (removed_at set) sees nothing of it.
    """
    return Material.objects.filter(Q(owner=user) | Q(pk__in=_shared_ids(user)), is_hidden=False)


def _shared_ids(user: User) -> QuerySet[Material, Any]:
    return Material.objects.filter(
        course_entries__unit__course__memberships__user=user,
        course_entries__unit__course__memberships__removed_at__isnull=True,
    ).values("pk")


@dataclass(frozen=True)
class Scope:
    """The visible materials' ids and their owners' (chunks are filtered by both)."""

    material_ids: list[int]
    owner_ids: list[int]


def material_scope(*, user: User) -> Scope:
    """The ids that raw search SQL limits itself to, read afresh on every call."""
    # A union, not the OR of material_list_visible: each half keeps its index
    # (the owner's materials; the user's memberships), which search runs on
    # every question.
    own = Material.objects.filter(owner=user, is_hidden=False).values_list("pk", "owner_id")
    shared = Material.objects.filter(pk__in=_shared_ids(user), is_hidden=False).values_list(
        "pk", "owner_id"
    )
    pairs = list(own.union(shared))
    return Scope(
        material_ids=[pk for pk, _ in pairs],
        owner_ids=sorted({owner for _, owner in pairs} | {user.pk}),
    )


@dataclass
class TextPart:
    """The text of one slide or section, as the pipeline stored it."""

    number: int
    text: str


def material_text_parts(*, owner: User, material: Material) -> list[TextPart]:
    # `owner` is the reader; `material` came from material_list_visible, and its
    # chunks are its own owner's rows.
    """The material's passages regrouped by slide or section, in order.

    Read from the stored chunks, not the file, so the text view shows exactly
    what search and the tutor cite: each chunk's anchors say at which word a
    slide or section begins, and a slide split over two passages is joined again.
    """
    parts: list[TextPart] = []
    rows = (
        Chunk.objects.filter(owner=material.owner_id, material=material)
        .order_by("position")
        .values_list("text", "anchors", "page_start")
    )
    for text, anchors, page_start in rows:
        for number, piece in _pieces(text, anchors, page_start):
            if parts and parts[-1].number == number:
                parts[-1].text += "\n\n" + piece
            else:
                parts.append(TextPart(number=number, text=piece))
    return parts


def _pieces(text: str, anchors: list, page_start: int | None) -> list[tuple[int, str]]:
    """(page, text) for each run of the chunk's text that one anchor covers."""
    pieces = []
    for page, start, end in _runs(text, anchors, page_start):
        piece = text[start:end].strip()
        if piece:
            pieces.append((page, piece))
    return pieces


def _runs(text: str, anchors: list, first: float | None) -> list[tuple[int, int, int]]:
    """(page or whole second, start, end) of each run of the text that one anchor covers.

    `first` is the chunk's own page or second, for text before its first anchor.
    """
    starts = [match.start() for match in _WORD.finditer(text)]
    marks = [(int(word), int(place)) for word, place in anchors or () if int(word) < len(starts)]
    if not marks or marks[0][0] > 0:
        default = int(first) if first is not None else (marks[0][1] if marks else 1)
        marks.insert(0, (0, default))
    runs = []
    for index, (word, place) in enumerate(marks):
        stop = marks[index + 1][0] if index + 1 < len(marks) else len(starts)
        end = starts[stop] if stop < len(starts) else len(text)
        if starts:
            runs.append((place, starts[word], end))
    return runs


def _comparable(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def quote_on_page(
    *, owner: User, material: Material, quote: str, page: int | None, second: int | None
) -> str:
    """The quote, when the material's text at this page (or second) holds it; else "".

    The reader's link carries the quote it shows, so anyone can write one: only
    words that really are at that place of the source are shown as quoted. A
    quoted sentence may run over from the page before or onto the next one, as
    long as part of it is here. Case and spacing do not count (a link's quote
    has its spaces collapsed), nor the ellipsis of a quote cut short.
    """
    wanted = _comparable(quote.strip().strip("…"))
    video = material.kind == Material.Kind.YOUTUBE
    place = second if video else page
    if not wanted or place is None:
        return ""
    chunks = Chunk.objects.filter(owner=material.owner_id, material=material).order_by("position")
    # (text, anchors, the chunk's first page or second)
    passages: Iterable[tuple[str, list[Any], float | None]]
    if video:
        # A link's second is its caption's start, rounded down.
        passages = chunks.filter(
            Q(end_seconds__isnull=True) | Q(end_seconds__gte=place), start_seconds__lt=place + 1
        ).values_list("text", "anchors", "start_seconds")
    else:
        passages = chunks.filter(page_start__lte=place, page_end__gte=place).values_list(
            "text", "anchors", "page_start"
        )
    text, here = "", []
    for chunk_text, anchors, first in passages:
        for at, start, end in _runs(chunk_text, anchors, first):
            run = _comparable(chunk_text[start:end])
            if not run:
                continue
            text += " " if text else ""
            if at == place:
                here.append((len(text), len(text) + len(run)))
            text += run
    found = text.find(wanted)
    while found != -1:
        if any(found < end and start < found + len(wanted) for start, end in here):
            return quote
        found = text.find(wanted, found + 1)
    return ""
