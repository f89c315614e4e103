"""A course's quiz as Moodle XML and GIFT: Moodle's question structure and GIFT's grammar.

Moodle publishes no schema for its question XML; the checks follow its format
documentation (docs.moodle.org "Moodle XML format", "GIFT format"): a
`<quiz>` of `<question type="...">`, multichoice with `questiontext`, `single`
and `answer fraction=` summing to one right answer; GIFT's `::title::text{...}`
with `=`/`~` answers, `####` general feedback, and ~=#{}: escaped in text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from courses.models import CourseMaterial
from courses.services import course_create, unit_create
from materials.models import QuizQuestion
from tests.support.factories import MaterialFactory, UserFactory

pytestmark = pytest.mark.django_db

TRICKY = "What is {x}: a=b, ~c or #d?"
TRICKY_CHOICE = "x = {1} ~ #2: \\ok"


@pytest.fixture
def exported(client):
    teacher = UserFactory()
    client.force_login(teacher)
    course = course_create(owner=teacher, title="Maths / Algebra")
    unit = unit_create(course=course, title="Matrices")
    material = MaterialFactory(owner=teacher, title="Linear algebra", status="ready")
    CourseMaterial.objects.create(unit=unit, material=material)
    for position, (question, choices, page, hidden) in enumerate(
        [
            ("What does solve return?", ["the inverse", "the determinant", "a vector"], 3, False),
            (TRICKY, ["plain", TRICKY_CHOICE, "other"], 5, False),
            ("A hidden one", ["a", "b"], 1, True),
        ]
    ):
        QuizQuestion.objects.create(
            owner=teacher,
            material=material,
            position=position,
            question=question,
            choices=choices,
            answer_index=1 if question == TRICKY else 0,
            explanation="Because solve(a) inverts a.",
            generator="test",
            page=page,
            is_hidden=hidden,
        )
    return course, material


def _get(client: Client, course, fmt: str) -> str:
    response = client.get(f"/courses/{course.pk}/export/{fmt}/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return response.content.decode("utf-8")


def test_moodle_xml_parses_and_has_moodles_question_structure(client, exported):
    course, material = exported
    root = ET.fromstring(_get(client, course, "moodle-xml").encode())

    assert root.tag == "quiz"
    category, *questions = root.findall("question")
    assert category.get("type") == "category"
    assert category.findtext("category/text") == "$course$/top/Maths // Algebra/Matrices"
    assert len(questions) == 2  # the hidden one is left out
    for question, page in zip(questions, (3, 5), strict=True):
        assert question.get("type") == "multichoice"
        assert question.findtext("name/text")
        text = question.find("questiontext")
        assert text is not None and text.get("format") == "html"
        assert f"p. {page}" in text.findtext("text")
        assert f"/materials/{material.pk}/file/#page={page}" in text.findtext("text")
        assert question.findtext("single") == "true"
        answers = question.findall("answer")
        assert [a.get("fraction") for a in answers].count("100") == 1
        assert {a.get("fraction") for a in answers} <= {"100", "0"}
        assert all(a.findtext("text") for a in answers)
    tricky = questions[1]
    assert TRICKY in tricky.findtext("questiontext/text")
    right = next(a for a in tricky.findall("answer") if a.get("fraction") == "100")
    assert right.findtext("text") == TRICKY_CHOICE.replace("&", "&amp;")


# GIFT text: any character but the special ones, or any escaped character.
TEXT = r"(?:[^\\~=#{}:\n]|\\.)*"
QUESTION_LINE = re.compile(rf"^::(?P<title>{TEXT})::(?P<text>{TEXT}) \{{$")
ANSWER_LINE = re.compile(rf"^\t(?P<mark>[=~])(?P<text>{TEXT})$")
FEEDBACK_LINE = re.compile(rf"^\t####(?P<text>{TEXT})$")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _gift_questions(gift: str) -> list[dict]:
    """Each question of a GIFT file, checked line by line against the grammar."""
    questions, current = [], None
    for number, line in enumerate(gift.splitlines(), start=1):
        if current is None:
            if not line or line.startswith("//") or line.startswith("$CATEGORY: "):
                continue
            match = QUESTION_LINE.match(line)
            assert match, f"line {number} is no question start: {line!r}"
            current = {"text": _unescape(match["text"]), "answers": [], "feedback": None}
        elif line == "}":
            questions.append(current)
            current = None
        elif match := ANSWER_LINE.match(line):
            current["answers"].append((match["mark"], _unescape(match["text"])))
        elif match := FEEDBACK_LINE.match(line):
            current["feedback"] = _unescape(match["text"])
        else:
            raise AssertionError(f"line {number} breaks the grammar: {line!r}")
    assert current is None, "a question is not closed"
    return questions


def test_gift_follows_its_grammar_and_escapes_the_special_characters(client, exported):
    course, material = exported
    gift = _get(client, course, "gift")

    assert "$CATEGORY: $course$/top/Maths // Algebra/Matrices" in gift
    questions = _gift_questions(gift)
    assert len(questions) == 2
    for question, page in zip(questions, (3, 5), strict=True):
        assert [mark for mark, _ in question["answers"]].count("=") == 1
        assert f"p. {page}" in question["text"]
        assert f"/materials/{material.pk}/file/#page={page}" in question["text"]
        assert "Because solve(a) inverts a." in question["feedback"]
    tricky = questions[1]
    assert tricky["text"].startswith(TRICKY)
    assert ("=", TRICKY_CHOICE) in tricky["answers"]


def test_the_grammar_check_catches_an_unescaped_character():
    with pytest.raises(AssertionError):
        _gift_questions("::t::What is {x}? {\n\t=a\n}\n")


def test_a_student_cannot_export_the_answers(client, exported):
    course, _ = exported
    from courses.services import course_join, invite_create

    student = UserFactory()
    course_join(user=student, code=invite_create(course=course, by=course.owner).code)
    other = Client()
    other.force_login(student)

    assert other.get(f"/courses/{course.pk}/export/gift/").status_code == 404
    assert other.get(f"/api/courses/{course.pk}/export/moodle-xml/").status_code == 404


def test_the_api_serves_both_formats_and_refuses_others(client, exported):
    course, _ = exported
    assert client.get(f"/api/courses/{course.pk}/export/gift/").status_code == 200
    xml = client.get(f"/api/courses/{course.pk}/export/moodle-xml/")
    assert xml.status_code == 200
    ET.fromstring(xml.content)
    assert client.get(f"/api/courses/{course.pk}/export/pdf/").status_code == 404
