"""Search across a student's materials: scoped to the owner, with snippets and links."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from materials.models import Chunk
from materials.search.selectors import search
from materials.search.views import search_results
from tests.support.factories import UserFactory
from tutor.selectors import passage_retrieve

pytestmark = pytest.mark.django_db

TOPICS = [
    ["Photosynthesis converts light energy into chemical energy in chloroplasts.",
     "The Krebs cycle takes place in the mitochondrial matrix."],
    ["Newton's second law: force equals mass times acceleration.",
     "Momentum is conserved when no external force acts on a system."],
    ["The function solve returns the inverse of a matrix when b is missing.",
     "Eigenvalues of a symmetric matrix are real numbers."],
    ["Фотосинтез превращает энергию света в химическую энергию.",
     "Второй закон Ньютона связывает силу, массу и ускорение."],
]  # fmt: skip
WORDS = sorted({w.strip(".,:").lower() for pair in TOPICS for t in pair for w in t.split()})


@pytest.fixture
def students(indexed):
    """Three students, each with two materials on different subjects."""
    users = [UserFactory() for _ in range(3)]
    materials = []
    for index, user in enumerate(users):
        for offset in (0, 1):
            topic = TOPICS[(index + offset) % len(TOPICS)]
            language = "ru" if topic is TOPICS[3] else "en"
            materials.append(indexed(user, topic, title=f"M{index}{offset}", language=language))
    return users, materials


def test_search_never_returns_another_owners_chunk(students):
    users, materials = students
    owner_of = dict(Chunk.objects.values_list("pk", "owner_id"))
    safe_text = st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=15
    )

    @settings(
        max_examples=20,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        user=st.sampled_from(users),
        words=st.lists(st.sampled_from(WORDS) | safe_text, min_size=1, max_size=6),
        material=st.sampled_from([None, *materials]),
        mode=st.sampled_from(["hybrid", "vector", "text", "terms"]),
    )
    def check(user, words, material, mode):
        query = " ".join(words)
        hits = search(owner=user, query=query, material=material, k=10, mode=mode).hits
        assert all(owner_of[h.chunk.pk] == user.pk for h in hits)
        if material is not None and material.owner_id != user.pk:
            assert hits == []

    check()


def test_search_results_highlight_the_terms(user, indexed):
    indexed(user, TOPICS[2], title="Linear algebra")
    results = search_results(owner=user, query="inverse of a matrix")
    assert "<mark>inverse</mark>" in results[0].snippet
    assert "/read/?page=1&q=" in results[0].source_url


def test_unrelated_question_has_no_relevant_passage(user, indexed):
    indexed(user, TOPICS[0] + TOPICS[2])
    assert passage_retrieve(owner=user, query="How do I bake sourdough bread?").relevant == []
    assert passage_retrieve(owner=user, query="Where does the Krebs cycle happen?").relevant


def test_russian_question_is_found_by_its_terms(user, indexed):
    indexed(user, TOPICS[3] + ["Сила тяжести действует на все тела."], language="ru")
    retrieval = passage_retrieve(owner=user, query="Что говорит второй закон Ньютона?")
    assert "Ньютона" in retrieval.relevant[0].chunk.text


def test_full_text_puts_chunks_with_every_word_first(user, indexed):
    from materials.search.ranking import _scope, text_rankings

    material = indexed(
        user,
        [
            "Matrix matrix matrix matrix: the word again and again.",
            "The inverse of a matrix is returned by solve.",
            "Eigenvalues are real.",
        ],
    )
    scope, params = _scope(user, None)
    ranked = text_rankings(scope, {**params, "q": "inverse matrix", "depth": 20})
    chunks = list(material.chunks.order_by("position").values_list("pk", flat=True))
    # Only the second chunk has both words; the first has one word often.
    assert ranked.full_text == [chunks[1], chunks[0]]
    assert dict(ranked.coverage)[chunks[1]] == 1.0
    assert 0 < dict(ranked.coverage)[chunks[0]] < 1.0
    assert chunks[2] not in dict(ranked.coverage)


def test_a_query_of_exclusions_only_finds_nothing(user, indexed):
    from materials.search.ranking import _scope, text_rankings

    indexed(user, ["The inverse of a matrix is returned by solve."])
    scope, params = _scope(user, None)
    ranked = text_rankings(scope, {**params, "q": "-photosynthesis", "depth": 20})
    assert ranked.full_text == [] and ranked.coverage == []


def test_equal_coverage_is_ordered_by_chunk_id(user, indexed):
    from materials.search.ranking import _scope, text_rankings

    material = indexed(user, [f"Chloroplasts, part {n}." for n in range(6)])
    scope, params = _scope(user, material)
    coverage = text_rankings(scope, {**params, "q": "chloroplasts", "depth": 10}).coverage
    assert [score for _, score in coverage] == [1.0] * 6
    assert [chunk_id for chunk_id, _ in coverage] == sorted(chunk_id for chunk_id, _ in coverage)


def test_a_forked_process_gets_its_own_query_embedding_thread():
    from concurrent.futures import ThreadPoolExecutor

    from materials.search import ranking as selectors

    inherited = ThreadPoolExecutor(max_workers=1)
    selectors._query_pools[False] = (-1, inherited)  # as if made by the parent before a fork
    try:
        pool = selectors._query_embedding_pool()
        assert pool is not inherited
        assert pool.submit(lambda: 42).result(timeout=5) == 42
        assert selectors._query_embedding_pool() is pool
    finally:
        inherited.shutdown()


@pytest.mark.parametrize(
    ("language", "contents", "answer", "question"),
    [
        (
            "en",
            "1.5 How do I mount a USB stick? . . . . . . . . 12\n"
            "1.6 How do I format a USB stick? . . . . . . . . 13\n"
            "1.7 Where are USB sticks listed? . . . . . . . . 14",
            "To mount a USB stick, plug it in and run mount /dev/sdb1 /mnt as root.",
            "how do I mount a USB stick",
        ),
        (
            "ru",
            "1.5 Как смонтировать флешку? . . . . . . . . 12\n"
            "1.6 Как отформатировать флешку? . . . . . . . . 13\n"
            "1.7 Где перечислены флешки? . . . . . . . . 14",
            "Чтобы смонтировать флешку, вставьте её и выполните mount /dev/sdb1 /mnt.",
            "как смонтировать флешку",
        ),
    ],
    ids=["en", "ru"],
)
def test_a_table_of_contents_does_not_outrank_the_page_it_points_to(
    indexed, language, contents, answer, question
):
    user = UserFactory()
    material = indexed(user, [contents, answer], language=language, pages=[2, 12])
    hits = search(owner=user, query=question, material=material).hits
    assert hits[0].page == 12
    assert [hit.page for hit in hits] == [12, 2]
