"""A material's cards as an Anki deck or CSV, and its notes as Markdown."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable
from pathlib import Path

import genanki

from materials.links import file_url, source_label
from materials.models import Flashcard, Material, NoteSection

# Fixed ids: re-importing an updated deck updates the same Anki note type and deck.
ANKI_MODEL_ID = 1_607_392_319
ANKI_DECK_BASE = 2_059_400_110

ANKI_MODEL = genanki.Model(
    ANKI_MODEL_ID,
    "eduplatform card",
    fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Source"}],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Front}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Back}}<br><small>{{Source}}</small>',
        }
    ],
)


def _source_text(material: Material, card: Flashcard, base_url: str) -> str:
    label = source_label(page=card.page, start_seconds=card.start_seconds, kind=material.kind)
    url = file_url(material, page=card.page, start_seconds=card.start_seconds)
    if not url.startswith("http"):
        url = base_url.rstrip("/") + url
    return f"{material.title}{', ' + label if label else ''} — {url}"


def _html(text: str) -> str:
    from django.utils.html import escape

    return escape(text).replace("\n", "<br>")


def cards_to_apkg(material: Material, cards: Iterable[Flashcard], *, base_url: str = "") -> bytes:
    deck = genanki.Deck(ANKI_DECK_BASE + material.pk, f"eduplatform::{material.title}")
    for card in cards:
        deck.add_note(
            genanki.Note(
                model=ANKI_MODEL,
                fields=[
                    _html(card.front),
                    _html(card.back),
                    _html(_source_text(material, card, base_url)),
                ],
                guid=genanki.guid_for("eduplatform", card.pk),
            )
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deck.apkg"
        genanki.Package(deck).write_to_file(path)
        return path.read_bytes()


# A cell starting with one of these is a formula to Excel, LibreOffice and
# Google Sheets (OWASP "CSV injection"); card text comes from documents anyone
# can upload, so it is never let start one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cards_to_csv(material: Material, cards: Iterable[Flashcard], *, base_url: str = "") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["front", "back", "page", "start_seconds", "source"])
    for card in cards:
        writer.writerow(
            [
                _cell(card.front),
                _cell(card.back),
                card.page or "",
                card.start_seconds if card.start_seconds is not None else "",
                _cell(_source_text(material, card, base_url)),
            ]
        )
    # A BOM so that spreadsheet programs read Cyrillic as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def notes_to_markdown(
    material: Material, summary: str, sections: Iterable[NoteSection], *, base_url: str = ""
) -> str:
    lines = [f"# {material.title}", ""]
    if summary:
        lines += [summary, ""]
    for section in sections:
        lines += [f"## {section.heading}", ""]
        for point in section.points:
            url = file_url(
                material, page=point.get("page"), start_seconds=point.get("start_seconds")
            )
            if not url.startswith("http"):
                url = base_url.rstrip("/") + url
            label = source_label(
                page=point.get("page"),
                start_seconds=point.get("start_seconds"),
                kind=material.kind,
            )
            lines.append(f"- {point['text']} ([{label or 'source'}]({url}))")
        lines.append("")
    return "\n".join(lines)
