"""A course's quiz as Moodle XML and as GIFT, for the school's Moodle; its cards for Anki.

Each question carries its source (material, page or second, and a link) in
its text and its general feedback, so a student reviewing in Moodle can open
the page the question was made from. The questions are the shared
materials' own (made once, for the material's owner), as last edited;
hidden (by a moderator or by the owner) and retired ones are left out, as
in the app's quiz.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import F, Prefetch
from django.http import Http404, HttpResponse
from django.utils.html import escape

from courses.models import Course, CourseMaterial, Unit
from materials.links import file_url, source_label
from materials.models import Flashcard, Material, QuizQuestion
from materials.study.exports import AnkiDeck, anki_deck_name, decks_to_apkg

# Unit decks' ids, far from the material decks' (materials.study.exports): a
# unit and a material of the same id are two decks in Anki.
ANKI_UNIT_DECK_BASE = 1_911_000_000_000

FORMATS = {
    "moodle-xml": ("application/xml; charset=utf-8", "xml"),
    "gift": ("text/plain; charset=utf-8", "gift.txt"),
}


@dataclass(frozen=True)
class ExportedQuestion:
    unit: Unit
    material: Material
    question: QuizQuestion
    source: str  # "Algebra, p. 3"
    url: str  # absolute link to the page or second


def course_questions(*, course: Course, base_url: str) -> list[ExportedQuestion]:
    """The quiz questions of the course's materials, unit by unit, in the course's order."""
    exported = []
    for unit in course.units.order_by("position", "pk"):
        entries = unit.entries.filter(material__is_hidden=False).select_related("material")
        for entry in entries.order_by("position", "pk"):
            material = entry.material
            questions = QuizQuestion.objects.filter(
                material=material,
                owner=material.owner_id,
                is_hidden=False,
                is_suspended=False,
                is_retired=False,
            ).order_by("position")
            for question in questions:
                if not 0 <= question.answer_index < len(question.choices):
                    continue
                url = file_url(material, page=question.page, start_seconds=question.start_seconds)
                if not url.startswith("http"):
                    url = base_url.rstrip("/") + url
                source = source_label(
                    page=question.page, start_seconds=question.start_seconds, material=material
                )
                exported.append(ExportedQuestion(unit, material, question, source, url))
    return exported


def _category(course: Course, unit: Unit) -> str:
    # Moodle reads "/" as a level separator; a literal one is written "//".
    return "$course$/top/" + "/".join(
        name.replace("/", "//") for name in (course.title, unit.title)
    )


def _text(parent: ET.Element, tag: str, text: str, fmt: str | None = "html") -> ET.Element:
    element = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(element, "text").text = text
    return element


def _source_html(item: ExportedQuestion) -> str:
    link = f'<a href="{escape(item.url)}">{escape(item.url)}</a>'
    return f"<p><small>{escape(item.source)}: {link}</small></p>"


def to_moodle_xml(course: Course, items: list[ExportedQuestion]) -> bytes:
    """Moodle's question XML: a category per unit, then its multiple-choice questions."""
    quiz = ET.Element("quiz")
    unit_id = None
    for item in items:
        if item.unit.pk != unit_id:
            unit_id = item.unit.pk
            category = ET.SubElement(quiz, "question", {"type": "category"})
            _text(category, "category", _category(course, item.unit), fmt=None)
        question = item.question
        node = ET.SubElement(quiz, "question", {"type": "multichoice"})
        _text(node, "name", question.question[:250], fmt=None)
        _text(node, "questiontext", f"<p>{escape(question.question)}</p>{_source_html(item)}")
        feedback = f"<p>{escape(question.explanation)}</p>" if question.explanation else ""
        _text(node, "generalfeedback", feedback + _source_html(item))
        ET.SubElement(node, "defaultgrade").text = "1.0000000"
        ET.SubElement(node, "penalty").text = "0.3333333"
        ET.SubElement(node, "hidden").text = "0"
        ET.SubElement(node, "idnumber").text = f"eduplatform-question-{question.pk}"
        ET.SubElement(node, "single").text = "true"
        ET.SubElement(node, "shuffleanswers").text = "true"
        ET.SubElement(node, "answernumbering").text = "abc"
        for index, choice in enumerate(question.choices):
            fraction = "100" if index == question.answer_index else "0"
            answer = _text(node, "answer", escape(str(choice)))
            answer.set("fraction", fraction)
            _text(answer, "feedback", "")
    ET.indent(quiz)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="utf-8")


# The characters GIFT gives a meaning to; in text each is written with a backslash.
GIFT_SPECIAL = "~=#{}:"


def gift_escape(text: str) -> str:
    """Text as GIFT reads it literally: special characters escaped, on one line."""
    text = " ".join(str(text).split())
    text = text.replace("\\", "\\\\")
    for char in GIFT_SPECIAL:
        text = text.replace(char, "\\" + char)
    return text


def to_gift(course: Course, items: list[ExportedQuestion]) -> bytes:
    """Moodle's GIFT text: a $CATEGORY line per unit, one question per block."""
    lines = [f"// {gift_escape(course.title)}", ""]
    unit_id = None
    for item in items:
        if item.unit.pk != unit_id:
            unit_id = item.unit.pk
            lines += [f"$CATEGORY: {_category(course, item.unit)}", ""]
        question = item.question
        source = f"({item.source}: {item.url})"
        lines.append(f"// source: {item.url}")
        lines.append(
            f"::{gift_escape(question.question[:80])}::"
            f"{gift_escape(question.question)} {gift_escape(source)} {{"
        )
        for index, choice in enumerate(question.choices):
            mark = "=" if index == question.answer_index else "~"
            lines.append(f"\t{mark}{gift_escape(choice)}")
        explanation = f"{question.explanation} {source}" if question.explanation else source
        lines.append(f"\t####{gift_escape(explanation)}")
        lines += ["}", ""]
    return "\n".join(lines).encode("utf-8")


def export_response(course: Course, fmt: str, base_url: str) -> HttpResponse:
    """The course's quiz as a Moodle XML or GIFT download; an unknown format is a 404."""
    if fmt not in FORMATS:
        raise Http404
    items = course_questions(course=course, base_url=base_url)
    body = to_moodle_xml(course, items) if fmt == "moodle-xml" else to_gift(course, items)
    content_type, suffix = FORMATS[fmt]
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="course-{course.pk}-quiz.{suffix}"'
    return response


def course_decks(*, course: Course) -> list[AnkiDeck]:
    """A deck per unit ("Course::Unit"), the cards of its materials in the course's order.

    The cards are the ones every member studies: the material owner's, not
    hidden or suspended, of materials not hidden (as the review queue has them).
    """
    entries = (
        CourseMaterial.objects.filter(material__is_hidden=False)
        .select_related("material")
        .order_by("position", "pk")
    )
    units = list(
        course.units.order_by("position", "pk").prefetch_related(Prefetch("entries", entries))
    )
    # Every material's cards in one query, not one per entry (a big course's export).
    shared: dict[int, list[Flashcard]] = defaultdict(list)
    for card in Flashcard.objects.filter(
        material__in={entry.material_id for unit in units for entry in unit.entries.all()},
        owner=F("material__owner"),
        is_hidden=False,
        is_suspended=False,
    ).order_by("position", "pk"):
        shared[card.material_id].append(card)
    decks = []
    for unit in units:
        cards = [
            (entry.material, card)
            for entry in unit.entries.all()
            for card in shared[entry.material_id]
        ]
        name = anki_deck_name(course.title, unit.title)
        decks.append(AnkiDeck(ANKI_UNIT_DECK_BASE + unit.pk, name, cards))
    return decks


def anki_response(course: Course, base_url: str) -> HttpResponse:
    """The course's cards as one Anki package, a sub-deck per unit."""
    body = decks_to_apkg(course_decks(course=course), base_url=base_url)
    response = HttpResponse(body, content_type="application/apkg")
    response["Content-Disposition"] = f'attachment; filename="course-{course.pk}.apkg"'
    response["Cache-Control"] = "private, max-age=0"
    return response
