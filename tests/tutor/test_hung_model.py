"""With a key, a hosted model whose first words do not come costs a question seconds.

The model is the local stand-in server (tests/support/stub_openai.py): it either
holds back its headers, or sends them and then stays silent. Within
AI_INTERACTIVE_TIMEOUT (and at most one more try) the tutor gives the
extractive answer instead, labelled as such, in the question's language.
"""

from __future__ import annotations

import json
import time

import pytest

from tutor.models import Conversation
from tutor.selectors import passage_retrieve

pytestmark = pytest.mark.django_db

PAGES = [
    "A matrix is created with the function matrix.",
    "When b is missing, solve returns the inverse of the matrix a.",
]
DEADLINE = 1.0
# Room for retrieval and the request around the deadline on a busy two-core machine.
SLACK = 3.0
HANG = 30.0


@pytest.fixture
def conversation(stub_openai, settings, user, indexed):
    material = indexed(user, PAGES, title="Algebra")
    # The process's first search loads the multilingual model: not the wait measured here.
    passage_retrieve(owner=user, query="matrix")
    settings.AI_INTERACTIVE_TIMEOUT = DEADLINE
    stub_openai.requests.clear()
    return Conversation.objects.create(owner=user, material=material)


def test_api_question_falls_back_when_the_model_holds_its_headers(stub_openai, conversation, api):
    for _ in range(3):
        stub_openai.reply("Too late.", delay=HANG)
    started = time.monotonic()
    response = api.post(
        f"/api/tutor/conversations/{conversation.pk}/messages/",
        {"content": "What does solve return when b is missing?"},
        format="json",
    )
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + SLACK, f"the answer took {elapsed:.1f} s"
    assert response.status_code == 201
    body = response.json()
    assert body["content"].startswith("The AI model could not be reached")
    assert body["citations"][0]["page"] == 2


def test_streamed_answer_falls_back_when_the_first_word_never_comes(
    stub_openai, conversation, logged_in
):
    for _ in range(3):
        stub_openai.reply("Too late.", first_word_delay=HANG)
    started = time.monotonic()
    response = logged_in.post(
        f"/tutor/{conversation.pk}/stream/", {"content": "Что возвращает solve без b?"}
    )
    body = b"".join(response.streaming_content).decode()
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + SLACK, f"the answer took {elapsed:.1f} s"
    done = json.loads(body.split("event: done\ndata: ")[1].split("\n\n")[0])
    assert "Модель ИИ недоступна" in done
    assert "Too late" not in body


def test_a_question_is_tried_at_most_twice(stub_openai, conversation, api):
    stub_openai.fail(503, times=5)
    response = api.post(
        f"/api/tutor/conversations/{conversation.pk}/messages/",
        {"content": "What does solve return?"},
        format="json",
    )
    assert response.json()["content"].startswith("The AI model could not be reached")
    assert len(stub_openai.chat_requests()) == 2
