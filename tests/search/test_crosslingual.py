"""Across languages: a Russian question finds the English passage, and back."""

from io import StringIO

import pytest
from django.core.management import call_command

from materials.index.crosslingual import parts
from materials.models import ChunkCrossVector
from materials.search.selectors import search

pytestmark = pytest.mark.django_db

ENGLISH = [
    "Photosynthesis converts light energy into chemical energy in the chloroplasts of plants.",
    "Newton's second law states that the force on a body equals its mass times its acceleration.",
    "The French Revolution began in 1789 with the storming of the Bastille in Paris.",
]
RUSSIAN = [
    "Фотосинтез превращает энергию света в химическую энергию в хлоропластах растений.",
    "Второй закон Ньютона гласит, что сила равна произведению массы тела на его ускорение.",
    "Французская революция началась в 1789 году со штурма Бастилии в Париже.",
]


def _fill() -> str:
    out = StringIO()
    call_command("crosslingual_index", stdout=out)
    return out.getvalue()


def test_the_command_fills_missing_vectors_with_progress_and_drops_them(user, indexed):
    material = indexed(user, ENGLISH, title="Science", multilingual=False)
    assert not ChunkCrossVector.objects.exists()
    output = _fill()
    assert "Science: 3/3 passages" in output and "added 3" in output
    assert ChunkCrossVector.objects.filter(material=material).count() == 3
    assert "added 0" in _fill()  # nothing twice
    out = StringIO()
    call_command("crosslingual_index", "--drop", stdout=out)
    assert "removed 3" in out.getvalue() and not ChunkCrossVector.objects.exists()


@pytest.mark.parametrize(
    ("texts", "language", "question", "expected"),
    [
        (ENGLISH, "en", "Чему равна сила по второму закону Ньютона?", 1),
        (ENGLISH, "en", "Когда началась революция во Франции?", 2),
        (RUSSIAN, "ru", "What do chloroplasts turn light into?", 0),
    ],
)
def test_a_question_finds_the_passage_in_the_other_language(
    user, indexed, texts, language, question, expected
):
    material = indexed(user, texts, language=language)
    _fill()
    hits = search(owner=user, query=question, material=material, k=3).hits
    assert hits[0].chunk.position == expected
    assert hits[0].sentence is not None and hits[0].quote


def test_the_same_language_does_not_ask_the_multilingual_model(user, indexed):
    material = indexed(user, ENGLISH)
    _fill()
    results = search(owner=user, query="What does Newton's second law say?", material=material)
    assert results.ranking.cross_vector is None and results.hits[0].chunk.position == 1


def test_a_pdf_passage_has_one_part_per_page_and_a_video_joins_its_captions():
    text = "one two three four five six"
    assert parts(text, [[0, 3], [4, 4]], 3) == [(3, "one two three four"), (4, "five six")]
    captions = [[n, float(n)] for n in range(6)]
    assert parts(text, captions, 0.0, video=True) == [(0.0, text)]
