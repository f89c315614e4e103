"""Passages of 150-300 words on sentence and paragraph boundaries, with anchors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from materials.pipeline.chunking import PassageDraft, Segment, split_passages
from materials.text.language import FTS_CONFIG, detect_language, fts_config
from tests.support.corpus import corpus_file


def corpus_pdf(*parts: str) -> Path:
    return corpus_file("pdf", *parts)


def book_segments(*parts: str) -> list[Segment]:
    from materials.pipeline.pdf import clean_pages, extract_pages

    pages = clean_pages(list(extract_pages(corpus_pdf(*parts))))
    return [Segment(text=page.text, page=page.number) for page in pages if page.text.strip()]


@pytest.fixture(scope="module")
def r_data() -> list[Segment]:
    return book_segments("books", "R-data.pdf")


def words(passages: list[PassageDraft]) -> list[str]:
    return [word for passage in passages for word in passage.text.split()]


def sentence(index: int, length: int = 20) -> str:
    body = " ".join(f"word{index}x{k}" for k in range(length - 1))
    return f"Sentence{index} {body}."


# --- a real book ------------------------------------------------------------


def test_book_passages_stay_within_word_bounds(r_data):
    passages = split_passages(r_data, language="en")
    counts = [len(passage.text.split()) for passage in passages]
    assert max(counts[:-1]) <= 300
    assert counts[-1] <= 360
    assert sum(count >= 150 for count in counts) >= 0.9 * len(counts)


def test_book_passages_keep_every_word_once_and_in_order(r_data):
    passages = split_passages(r_data, language="en")
    assert words(passages) == [word for segment in r_data for word in segment.text.split()]


def test_book_passage_positions_count_from_zero(r_data):
    passages = split_passages(r_data, language="en")
    assert [passage.position for passage in passages] == list(range(len(passages)))


def test_book_page_ranges_are_ordered_and_move_forward(r_data):
    passages = split_passages(r_data, language="en")
    assert all(p.page_start <= p.page_end for p in passages)
    for previous, following in zip(passages, passages[1:], strict=False):
        assert following.page_start >= previous.page_end
    assert passages[0].page_start == r_data[0].page
    assert passages[-1].page_end == r_data[-1].page


def test_book_passage_begins_on_its_first_page(r_data):
    page_words = {segment.page: " ".join(segment.text.split()) for segment in r_data}
    for passage in split_passages(r_data, language="en"):
        opening = " ".join(passage.text.split()[:6])
        assert opening in page_words[passage.page_start], passage.position


def test_book_passages_have_no_seconds(r_data):
    passages = split_passages(r_data, language="en")
    assert all(p.start_seconds is None and p.end_seconds is None for p in passages)


@pytest.mark.slow
def test_lecture_script_becomes_more_than_a_hundred_passages():
    segments = book_segments("py-pdf-sample-files", "009-pdflatex-geotopo_GeoTopo-komprimiert.pdf")
    passages = split_passages(segments, language="en")
    assert len(passages) > 100


# --- synthetic text ---------------------------------------------------------


def test_paragraph_break_ends_a_passage_once_min_words_is_reached():
    paragraphs = [" ".join(sentence(p * 10 + s) for s in range(5)) for p in range(6)]
    passages = split_passages([Segment("\n\n".join(paragraphs), page=1)], language="en")
    # 100-word paragraphs: two make 200 words, which passes 150 at a paragraph end.
    assert [len(p.text.split()) for p in passages] == [200, 200, 200]
    assert all(p.text.count("\n\n") == 1 for p in passages)


def test_long_paragraph_is_cut_at_a_sentence_end():
    text = " ".join(sentence(i) for i in range(40))  # one 800-word paragraph
    passages = split_passages([Segment(text, page=1)], language="en")
    assert all(len(p.text.split()) <= 300 for p in passages)
    assert all(p.text.endswith(".") for p in passages)
    assert all(re.match(r"Sentence\d+ ", p.text) for p in passages)


def test_giant_sentence_is_split_on_words():
    text = " ".join(f"w{k}" for k in range(1000))  # no punctuation at all
    passages = split_passages([Segment(text, page=1)], language="en")
    assert all(len(p.text.split()) <= 300 for p in passages)
    assert words(passages) == text.split()


def test_tiny_trailing_passage_joins_the_previous_one():
    body = " ".join(sentence(i) for i in range(12))  # 240 words
    text = f"{body}\n\nThe end of the notes."
    passages = split_passages([Segment(text, page=1)], language="en")
    assert len(passages) == 1
    assert passages[0].text.endswith("The end of the notes.")


def test_passage_spanning_two_pages_records_both():
    first = " ".join(sentence(i) for i in range(5))
    second = " ".join(sentence(i) for i in range(5, 10))
    passages = split_passages([Segment(first, page=4), Segment(second, page=5)], language="en")
    assert [(p.page_start, p.page_end) for p in passages] == [(4, 5)]


def test_russian_sentences_are_kept_whole():
    sentences = [
        f"Предложение номер {i} рассказывает о кривых, т. е. о путях, и т. д. "
        f"с числом {i} и ещё {i + 1} словами для длины текста в этой книге."
        for i in range(40)
    ]
    passages = split_passages([Segment(" ".join(sentences), page=1)], language="ru")
    assert len(passages) > 1
    for passage in passages:
        assert passage.text.startswith("Предложение номер")
        assert passage.text.endswith("книге.")


def test_transcript_passages_carry_start_and_end_seconds():
    snippets = [
        Segment(f"spoken words {i} in this part.", start=i * 2.0, end=i * 2.0 + 1.5)
        for i in range(150)
    ]
    passages = split_passages(snippets, language="en")
    assert len(passages) > 1
    assert passages[0].start_seconds == 0.0
    assert passages[-1].end_seconds == 149 * 2.0 + 1.5
    for previous, following in zip(passages, passages[1:], strict=False):
        assert previous.start_seconds < previous.end_seconds <= following.start_seconds
    assert all(p.page_start is None and p.page_end is None for p in passages)


def test_transcript_without_ends_uses_the_next_snippet_start():
    snippets = [
        Segment(" ".join(f"w{i}x{k}" for k in range(100)), start=i * 30.0) for i in range(5)
    ]
    passages = split_passages(snippets, language="en")
    assert [(p.start_seconds, p.end_seconds) for p in passages] == [
        (0.0, 90.0),
        (90.0, 120.0),
    ]


def test_unpunctuated_transcript_is_cut_between_snippets():
    snippets = [
        Segment(" ".join(f"s{i}w{k}" for k in range(7)), start=float(i), end=i + 1.0)
        for i in range(120)
    ]
    passages = split_passages(snippets, language="en")
    first_words = {segment.text.split()[0] for segment in snippets}
    assert len(passages) > 1
    assert all(p.text.split()[0] in first_words for p in passages)
    assert all(p.end_seconds == int(p.end_seconds) for p in passages)


def test_empty_input_gives_no_passages():
    assert split_passages([Segment(""), Segment("  \n")], language="en") == []


# --- language ---------------------------------------------------------------


def test_detect_language_recognises_russian():
    text = "Это руководство пользователя описывает язык для рисования картинок."
    assert detect_language(text) == "ru"


def test_detect_language_recognises_english():
    text = "This manual describes the import and export facilities of the system."
    assert detect_language(text) == "en"


def test_detect_language_gives_simple_for_other_latin_languages():
    text = "Ein topologischer Raum ist ein Paar bestehend aus einer Menge und Teilmengen."
    assert detect_language(text) == "simple"


def test_detect_language_gives_simple_for_too_little_text():
    assert detect_language("12 + 3 = 15") == "simple"


def test_fts_config_maps_languages_to_postgres_configurations():
    assert FTS_CONFIG == {"ru": "russian", "en": "english"}
    assert [fts_config(code) for code in ("ru", "en", "simple", "de")] == [
        "russian",
        "english",
        "simple",
        "simple",
    ]


def test_anchors_mark_where_each_page_begins_inside_a_passage():
    pages = [
        Segment(text="Alpha sentence number one. " * 10, page=1),
        Segment(text="Beta sentence on page two. " * 10, page=2),
        Segment(text="Gamma sentence on page three. " * 10, page=3),
    ]
    (passage,) = split_passages(pages, language="en", min_words=50, max_words=300)
    words = passage.text.split()
    assert [value for _, value in passage.anchors] == [1, 2, 3]
    for word, value in passage.anchors:
        assert words[word] == {1: "Alpha", 2: "Beta", 3: "Gamma"}[value]


def test_anchors_of_captions_are_their_start_seconds():
    captions = [
        Segment(text="first caption words here", start=0.0, end=2.0),
        Segment(text="second caption words here", start=2.5, end=4.0),
    ]
    (passage,) = split_passages(captions, language="en", min_words=2, max_words=300)
    assert passage.anchors == ((0, 0.0), (4, 2.5))
