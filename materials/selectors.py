"""Reads on materials. Every selector takes the owner; search lives in materials.search."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import User
from materials.models import Chunk, Material

_WORD = re.compile(r"\S+")


def material_list(*, owner: User, include_hidden: bool = False) -> QuerySet[Material]:
    """The owner's materials; hidden ones (by a moderator) only where asked, to delete them."""
    materials = Material.objects.filter(owner=owner)
    return materials if include_hidden else materials.filter(is_hidden=False)


@dataclass
class TextPart:
    """The text of one slide or section, as the pipeline stored it."""

    number: int
    text: str


def material_text_parts(*, owner: User, material: Material) -> list[TextPart]:
    """The material's passages regrouped by slide or section, in order.

    Read from the stored chunks, not the file, so the text view shows exactly
    what search and the tutor cite: each chunk's anchors say at which word a
    slide or section begins, and a slide split over two passages is joined again.
    """
    parts: list[TextPart] = []
    rows = (
        Chunk.objects.filter(owner=owner, material=material)
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
    starts = [match.start() for match in _WORD.finditer(text)]
    marks = [(int(word), int(page)) for word, page in anchors or () if int(word) < len(starts)]
    if not marks or marks[0][0] > 0:
        marks.insert(0, (0, page_start or (marks[0][1] if marks else 1)))
    pieces = []
    for index, (word, page) in enumerate(marks):
        stop = marks[index + 1][0] if index + 1 < len(marks) else len(starts)
        end = starts[stop] if stop < len(starts) else len(text)
        piece = text[starts[word] : end].strip() if starts else ""
        if piece:
            pieces.append((page, piece))
    return pieces
