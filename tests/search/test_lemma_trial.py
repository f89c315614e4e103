"""The lemma trial's tokenisers and BM25 (bench/lemma_trial), on a tiny text.

Why: the trial's numbers in docs/benchmarks.md are only worth reading if
lemmas really join inflected forms that the stem prefix leaves apart.
"""

import pytest

pytest.importorskip("pymorphy3")

from bench.lemma_trial import BM25, coverage, lemma_tokens, stem_tokens, union_tokens

PAGES = [
    "Студенты читают книги в библиотеке.",
    "Погода сегодня тёплая, идёт дождь.",
]


def test_lemmas_join_inflected_forms() -> None:
    assert lemma_tokens("книгами") == lemma_tokens("книга") == ["книга"]
    assert set(union_tokens("книгами")) == {"s:книгам", "l:книга"}
    assert stem_tokens("книгами") != stem_tokens("книга")


def test_bm25_ranks_the_page_holding_the_lemma() -> None:
    index = BM25([lemma_tokens(page) for page in PAGES])
    assert index.ranking(lemma_tokens("Где лежит книга?")) == [0]
    assert index.ranking(lemma_tokens("дожди")) == [1]


def test_coverage_counts_question_words_on_the_page() -> None:
    assert coverage("книгами студентов", PAGES[0], "lemma") == 1.0
    assert coverage("книгами студентов", PAGES[1], "lemma") == 0.0
