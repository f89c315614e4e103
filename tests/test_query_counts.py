"""Pages and API lists run a bounded number of queries, and page views never load the model.

Each URL is requested with a small library (five materials with chunks,
study content, a quiz attempt and a conversation), then the library grows
(more materials, more cards, questions, notes and messages in the first
one) and the same URL must run exactly as many queries again: an N+1 would
add queries with every row. The absolute limits are there so that a new
per-page query is noticed too.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eduplatform import embeddings
from eduplatform.embeddings import current_model_name
from materials.models import (
    Chunk,
    Flashcard,
    Material,
    NoteSection,
    QuizQuestion,
    StudySet,
)
from materials.study.services import quiz_attempt_create
from tests.support.factories import MaterialFactory
from tutor.models import Conversation, Message

TEXT = (
    "Photosynthesis is the process by which green plants convert light energy into chemical "
    "energy stored in glucose. Chlorophyll absorbs red and blue light in the chloroplast."
)


def _unit(rng: np.random.Generator) -> list[float]:
    vector = rng.normal(size=384)
    return (vector / np.linalg.norm(vector)).tolist()


def add_items(material: Material, count: int, rng: np.random.Generator) -> None:
    """`count` more chunks, note sections, cards, quiz questions and tutor messages."""
    owner = material.owner
    start = material.chunks.count()
    chunks = Chunk.objects.bulk_create(
        Chunk(
            material=material,
            owner=owner,
            position=start + i,
            text=f"{TEXT} Passage {start + i}.",
            page_start=start + i + 1,
            page_end=start + i + 1,
            language="en",
            embedding=_unit(rng),
            embedding_model=current_model_name(),
        )
        for i in range(count)
    )
    NoteSection.objects.bulk_create(
        NoteSection(
            material=material,
            position=start + i,
            heading=f"Section {start + i}",
            points=[{"text": TEXT, "page": start + i + 1, "start_seconds": None}],
            pages=[start + i + 1],
            page=start + i + 1,
            generator="offline",
        )
        for i in range(count)
    )
    Flashcard.objects.bulk_create(
        Flashcard(
            owner=owner,
            material=material,
            front=f"What does chlorophyll absorb? ({start + i})",
            back="Red and blue light.",
            position=start + i,
            page=start + i + 1,
            passage=TEXT,
            due=timezone.now(),
        )
        for i in range(count)
    )
    QuizQuestion.objects.bulk_create(
        QuizQuestion(
            owner=owner,
            material=material,
            position=start + i,
            question=f"Where is chlorophyll found? ({start + i})",
            choices=["Chloroplast", "Nucleus", "Ribosome", "Vacuole"],
            answer_index=0,
            explanation="In the chloroplast.",
            page=start + i + 1,
            passage=TEXT,
            generator="offline",
        )
        for i in range(count)
    )
    conversation, _ = Conversation.objects.get_or_create(
        owner=owner, material=material, defaults={"title": f"About {material.title}"}
    )
    for chunk in chunks:
        Message.objects.create(conversation=conversation, role="user", content="Chlorophyll?")
        Message.objects.create(
            conversation=conversation,
            role="assistant",
            content="Chlorophyll absorbs red and blue light [1].",
            citations=[
                {
                    "material": material.pk,
                    "chunk": chunk.pk,
                    "page": chunk.page_start,
                    "start_seconds": None,
                    "quote": "Chlorophyll absorbs red and blue light",
                }
            ],
            generator="extractive",
        )


def add_material(owner, rng: np.random.Generator) -> Material:
    material = MaterialFactory(
        owner=owner, status="ready", stage="ready", progress=100, language="en", page_count=3
    )
    material.embedding_model = current_model_name()
    material.save(update_fields=["embedding_model"])
    StudySet.objects.create(
        material=material,
        status="ready",
        generator="offline",
        language="en",
        summary=TEXT,
        generated_at=timezone.now(),
    )
    add_items(material, 3, rng)
    questions = list(material.quiz_questions.all())
    quiz_attempt_create(
        owner=owner, material=material, questions=questions, answers={str(questions[0].pk): 0}
    )
    return material


@pytest.fixture
def library(user):
    rng = np.random.default_rng(5)
    materials = [add_material(user, rng) for _ in range(5)]

    def grow() -> None:
        for _ in range(3):
            add_material(user, rng)
        add_items(materials[0], 6, rng)

    return materials[0], grow


def page_urls(material: Material) -> dict[str, str]:
    attempt = material.quiz_attempts.first()
    conversation = material.conversations.first()
    return {
        "home": "/",
        "materials list": "/materials/",
        "material detail": f"/materials/{material.pk}/",
        "notes": f"/materials/{material.pk}/notes/",
        "flashcards": f"/materials/{material.pk}/flashcards/",
        "quiz": f"/materials/{material.pk}/quiz/",
        "quiz attempt": f"/materials/quiz/attempts/{attempt.pk}/",
        "review": "/materials/review/",
        "tutor conversations": "/tutor/",
        "tutor conversation": f"/tutor/{conversation.pk}/",
    }


def api_urls(material: Material) -> dict[str, str]:
    conversation = material.conversations.first()
    return {
        "materials": "/api/materials/",
        "material": f"/api/materials/{material.pk}/",
        "summary": f"/api/materials/{material.pk}/summary/",
        "notes": f"/api/materials/{material.pk}/notes/",
        "flashcards": f"/api/materials/{material.pk}/flashcards/",
        "quiz": f"/api/materials/{material.pk}/quiz/",
        "quiz attempts": f"/api/materials/{material.pk}/quiz/attempts/",
        "due flashcards": "/api/flashcards/due/",
        "conversations": "/api/tutor/conversations/",
        "conversation": f"/api/tutor/conversations/{conversation.pk}/",
    }


SEARCH_URLS = {
    "search page": "/tutor/search/?q=chlorophyll+light",
    "search page, one material": "/tutor/search/?q=chlorophyll+light&material={pk}",
    "search api": "/api/search/?q=chlorophyll+light&k=10",
    "search api, one material": "/api/search/?q=chlorophyll+light&material={pk}&k=10",
}

# Counts measured with the library below, plus two for headroom: a query per
# row (five materials, then eight) could never fit.
PAGE_LIMITS = {
    # The dashboard also reads the schedule: settings, new cards started today,
    # the due counts in one query, the mistakes coming back, the review count.
    "home": 15,
    "materials list": 6,
    "material detail": 7,
    "notes": 7,
    "flashcards": 11,  # "due today" reads the day's new-card places too
    "quiz": 8,
    "quiz attempt": 6,
    "review": 8,  # the day's new-card places: the setting and the cards started today
    "tutor conversations": 6,
    "tutor conversation": 8,
}
API_LIMITS = {
    "materials": 5,
    "material": 4,
    "summary": 5,
    "notes": 6,
    "flashcards": 6,
    "quiz": 6,
    "quiz attempts": 6,
    # The day's new-card places: the student's setting and the cards started today.
    "due flashcards": 8,
    "conversations": 6,
    "conversation": 5,
}
SEARCH_LIMITS = {
    "search page": 11,
    "search page, one material": 12,
    "search api": 9,
    "search api, one material": 10,
}


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def check(clients: dict, urls: dict, limits: dict, grow, assert_max) -> None:
    """Each URL runs as many queries after the library grows as before, within its limit."""
    before = {name: count_queries(clients[name], url) for name, url in urls.items()}
    grow()
    after = {}
    for name, url in urls.items():
        with assert_max(limits[name]):
            after[name] = count_queries(clients[name], url)
    assert after == before, "query count grew with the rows (N+1)"


def test_pages_run_a_bounded_number_of_queries(logged_in, library, django_assert_max_num_queries):
    material, grow = library
    urls = page_urls(material)
    clients = dict.fromkeys(urls, logged_in)
    check(clients, urls, PAGE_LIMITS, grow, django_assert_max_num_queries)


def test_api_lists_and_details_run_a_bounded_number_of_queries(
    api, library, django_assert_max_num_queries
):
    material, grow = library
    urls = api_urls(material)
    check(dict.fromkeys(urls, api), urls, API_LIMITS, grow, django_assert_max_num_queries)


def test_search_runs_a_bounded_number_of_queries(
    logged_in, api, library, django_assert_max_num_queries
):
    material, grow = library
    urls = {name: url.format(pk=material.pk) for name, url in SEARCH_URLS.items()}
    clients = {name: api if name.startswith("search api") else logged_in for name in urls}
    check(clients, urls, SEARCH_LIMITS, grow, django_assert_max_num_queries)


def test_pages_never_load_the_embedding_model(logged_in, api, library):
    """Page views leave the model unloaded; the first search loads it, once per process."""
    material, _ = library
    embeddings._local_embedder.cache_clear()
    for url in [*page_urls(material).values(), *api_urls(material).values()]:
        client = api if url.startswith("/api/") else logged_in
        assert client.get(url).status_code == 200, url
    assert embeddings._local_embedder.cache_info().currsize == 0

    assert api.get("/api/search/?q=chlorophyll").status_code == 200
    assert logged_in.get("/tutor/search/?q=light").status_code == 200
    info = embeddings._local_embedder.cache_info()
    assert (info.currsize, info.misses) == (1, 1)
