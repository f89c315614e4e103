"""Cards and questions read alone: none opens on "this", "it", "such", "это", "такой"."""

from __future__ import annotations

import pytest

from bench.study_quality import opens_on_reference as reader_sees_reference
from materials.models import Material
from materials.study.checks import is_self_contained
from materials.study.offline import standalone
from materials.text.references import opens_on_reference, points_elsewhere
from tests.support.lectures import RUSSIAN_LECTURE, pdf_material, process
from tests.support.pdfs import unicode_pdf

# "В этом случае", "Такие") next to ones that stand alone, and key terms
# repeated often enough to be picked as blanks.
ENGLISH = [
    "A factor is a vector object used to specify a discrete classification of other vectors. "
    "A logical vector can be used as an index vector in square brackets. In this case the "
    "index vector is recycled to the same length as the vector from which elements are "
    "selected. However, the index vector is evaluated before any element is selected. Such "
    "index vectors can be any of four distinct types. This is a generic function: the plot "
    "function dispatches on the class of its first argument. It is stored in the workspace. "
    "A data frame is a list of variables of the same length with unique row names. ",
    "The workspace holds every object created during a session of the interpreter. These "
    "objects are saved in a file when the session ends. The generic function summary gives "
    "a short description of a fitted model. Its result depends on the class of the model. "
    "A matrix is a vector with a dimension attribute of length two. In that case the matrix "
    "can be transposed with the function t. The data frame can be read from a text file "
    "with the function read.table. They are the usual way to store a data set in R. ",
    "Missing values are written as NA in a data frame and in a matrix. This value propagates "
    "through arithmetic on a vector. An index vector of negative integers excludes elements. "
    "Such a vector is useful to drop the first element of a factor. The workspace image is "
    "saved by the function save.image at the end of a session. This function asks before it "
    "overwrites an older image. A list is an ordered collection of objects called components. ",
]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("In this case the _____ is recycled to the same length.", "en"),
        ("Such _____ can be any of four distinct types.", "en"),
        ("This is a _____: the type of plot depends on the argument.", "en"),
        ("It is stored in the _____.", "en"),
        ("However, the _____ must be numeric.", "en"),
        ("В этом случае _____ повторяется до нужной длины.", "ru"),
        ("Такие _____ бывают четырёх типов.", "ru"),
        ("Это _____, которая выбирает метод.", "ru"),
        ("Однако _____ вычисляется заранее.", "ru"),
        ("_____ также вовлечены и в другие проекты.", "ru"),
    ],
)
def test_items_opening_on_a_reference_are_recognised(text, language):
    assert opens_on_reference(text, language)
    assert not is_self_contained(text)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("A _____ is a vector object used to specify a classification.", "en"),
        ("What is a factor?", "en"),
        ("It is possible to _____ the workspace at the end of a session.", "en"),
        ("Fill in the blank: The _____ holds every object of a session.", "en"),
        ("Что такое фактор?", "ru"),
        ("Вставьте пропущенное: _____ хранит каждый объект сеанса.", "ru"),
    ],
)
def test_items_that_name_their_subject_pass(text, language):
    assert not opens_on_reference(text.removeprefix("Fill in the blank: "), language)
    assert is_self_contained(text)


def test_a_reference_is_resolved_from_the_sentence_before():
    previous = "A logical vector can be used as an index vector."
    sentence = "In this case the index vector is recycled to the same length."
    assert standalone(sentence, previous, "en") == f"{previous} {sentence}"


def test_a_bare_connective_is_dropped_rather_than_quoted():
    assert (
        standalone("However, the index vector is evaluated first.", "", "en")
        == "The index vector is evaluated first."
    )
    assert standalone("Однако, индексный вектор вычисляется заранее.", "", "ru") == (
        "Индексный вектор вычисляется заранее."
    )


def test_an_unresolvable_reference_is_dropped():
    # Nothing before it to say what "such" is, and one that points back itself.
    assert standalone("Such vectors can be of four types.", "", "en") is None
    assert standalone("Это обобщённая функция.", "Такие векторы бывают разными.", "ru") is None


def test_cross_references_point_elsewhere():
    assert points_elsewhere("Such formats are discussed in Chapter 5 [Imports], page 24.")
    assert points_elsewhere("Описание смотрите в Раздел 6.1.1.")
    assert points_elsewhere("The result is shown in Figure 3.")
    assert not points_elsewhere("A factor is a vector object used for grouping.")


@pytest.mark.django_db
@pytest.mark.parametrize("pages", [ENGLISH, RUSSIAN_LECTURE], ids=["en", "ru"])
def test_generated_items_on_a_document_full_of_references_read_alone(
    pages, user, run_jobs, django_capture_on_commit_callbacks
):
    material = pdf_material(user, unicode_pdf([page * 2 for page in pages]))
    material = process(material, django_capture_on_commit_callbacks, run_jobs)
    assert material.status == Material.Status.READY
    cards = list(material.flashcards.all())
    questions = list(material.quiz_questions.all())
    assert len(cards) >= 5 and len(questions) >= 3
    language = material.language
    for card in cards:
        # The benchmark's reader, wider than the generator's own check.
        assert not reader_sees_reference(card.front, language), card.front
    for question in questions:
        stem, _, sentence = question.question.partition(": ")
        assert not reader_sees_reference(sentence or stem, language), question.question
    # Definitional cards ask for the term by name.
    assert any(card.front in ("What is a factor?", "Что такое фактор?") for card in cards)


def test_two_cards_asking_the_same_keep_only_the_first():
    from materials.study.checks import first_of_each

    fronts = ["What is Brian Ripley?", "What is a factor?", "what is  Brian Ripley?"]
    kept, dropped = first_of_each(fronts, lambda front: " ".join(front.lower().split()))
    assert (kept, dropped) == (["What is Brian Ripley?", "What is a factor?"], 1)
