"""A material's cards as an Anki deck or CSV, and its notes as Markdown.

A course's package (a deck per unit) is built by courses.exports with the
same decks_to_apkg, so both exports share one note type and one guid scheme.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class AnkiDeck:
    """One deck of a package: its fixed id, its name ("A::B" nests B under A) and its cards."""

    deck_id: int
    name: str
    cards: list[tuple[Material, Flashcard]]  # each card with the material its source is in


def anki_deck_name(*parts: str) -> str:
    """A nested deck name; "::" inside a title would nest it once more, so it is broken."""
    return "::".join(part.replace("::", ":") for part in parts)


def decks_to_apkg(decks: Iterable[AnkiDeck], *, base_url: str = "") -> bytes:
    """Several decks as one .apkg; a card twice (a material in two units) goes to its first deck.

    Each note's guid comes from the card's id, so re-importing an updated
    package updates the notes already in Anki rather than adding copies.
    """
    packaged, seen = [], set()
    for spec in decks:
        deck = genanki.Deck(spec.deck_id, spec.name)
        for material, card in spec.cards:
            if card.pk in seen:
                continue
            seen.add(card.pk)
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
        packaged.append(deck)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deck.apkg"
        genanki.Package(packaged).write_to_file(path)
        return path.read_bytes()


def cards_to_apkg(material: Material, cards: Iterable[Flashcard], *, base_url: str = "") -> bytes:
    deck = AnkiDeck(
        ANKI_DECK_BASE + material.pk,
        anki_deck_name("eduplatform", material.title),
        [(material, card) for card in cards],
    )
    return decks_to_apkg([deck], base_url=base_url)


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
