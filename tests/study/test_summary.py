"""A summary that reads as one: sections in order, central sentences, each linked to its page."""

from __future__ import annotations

import numpy as np
import pytest

from materials.study.summary import _budget, readable, topic_spans

pytestmark = pytest.mark.django_db


def test_topics_are_cut_where_the_passages_change_subject():
    rng = np.random.default_rng(3)
    first, second = rng.normal(size=16), rng.normal(size=16)
    vectors = np.vstack(
        [first + 0.1 * rng.normal(size=16) for _ in range(7)]
        + [second + 0.1 * rng.normal(size=16) for _ in range(8)]
    )
    assert topic_spans(vectors, 15) == [(0, 7), (7, 15)]
    # Too short to cut, or no vectors: one section.
    assert topic_spans(vectors[:4], 4) == [(0, 4)]
    assert topic_spans(None, 15) == [(0, 15)]


def test_length_is_shared_by_section_size():
    assert _budget([10, 30, 60], 10) == [1, 3, 6]
    assert sum(_budget([1, 1, 1, 1, 1], 3)) == 3


def test_summary_sentences_stand_alone():
    assert readable("However, the index vector is recycled.", "en") == (
        "The index vector is recycled."
    )
    assert readable("In this case the index vector is recycled.", "en") is None
    assert readable("Такие векторы бывают четырёх типов.", "ru") is None


def test_every_summary_sentence_links_to_its_page(api, logged_in, biology):
    body = api.get(f"/api/materials/{biology.pk}/summary/").json()
    sentences = [s for section in body["sections"] for s in section["sentences"]]
    assert sentences and all(1 <= s["page"] <= biology.page_count for s in sentences)
    # In document order, and the same sentences as the plain text.
    pages = [s["page"] for s in sentences]
    assert pages == sorted(pages)
    assert all(s["text"] in body["text"] for s in sentences)
    page = logged_in.get(f"/materials/{biology.pk}/").content.decode()
    assert page.count('class="cite"') == len(sentences)
