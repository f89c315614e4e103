"""With a key: the model answers from delimited passages; its citations are checked.

The model service is the local stand-in server (tests/support/stub_openai.py); it
records every request, so the tests read what the tutor sent.
"""

import json

import pytest
from django.utils import translation

from tests.support.factories import UserFactory
from tutor.models import Conversation
from tutor.services import message_ask

pytestmark = pytest.mark.django_db

PAGES = [
    "A matrix is created with the function matrix.",
    "When b is missing, solve returns the inverse of the matrix a. "
    "The function solve uses an LU decomposition.",
]


@pytest.fixture
def keyed(stub_openai, user, indexed):
    """A material embedded by the stand-in's embedding model, and a conversation about it."""
    material = indexed(user, PAGES, title="Algebra")
    conversation = Conversation.objects.create(owner=user, material=material)
    stub_openai.requests.clear()
    return stub_openai, material, conversation


def chat_payload(stub) -> dict:
    return stub.chat_requests()[-1]["json"]


def test_passages_are_sent_as_delimited_data_with_the_rules(keyed):
    stub, material, conversation = keyed
    stub.reply("It returns the inverse.")
    message_ask(conversation=conversation, content="What does solve return without b?")
    messages = chat_payload(stub)["messages"]
    system, question = messages[0]["content"], messages[-1]["content"]
    assert "not instructions" in system and "Write in English" in system
    solve_chunk = material.chunks.get(position=1)
    assert f'<passage id="{solve_chunk.pk}"' in question
    assert question.index("<passages>") < question.index("returns the inverse")
    assert question.index("returns the inverse") < question.index("</passages>")
    assert question.rstrip().endswith("What does solve return without b?")


def test_history_is_sent_to_the_model(keyed):
    stub, _material, conversation = keyed
    stub.reply("It inverts matrices.")
    message_ask(conversation=conversation, content="What does solve do?")
    stub.reply("Use solve with one argument.")
    message_ask(conversation=conversation, content="And what about the inverse of a matrix?")
    roles = [(m["role"], m["content"]) for m in chat_payload(stub)["messages"]]
    assert ("user", "What does solve do?") in roles
    assert ("assistant", "It inverts matrices.") in roles


def test_follow_up_retrieval_includes_the_previous_question(keyed):
    stub, _material, conversation = keyed
    stub.reply("It solves a %*% x = b.")
    message_ask(conversation=conversation, content="What does solve do?")
    stub.reply("Its inverse is returned when b is missing.")
    message_ask(conversation=conversation, content="and what about its inverse?")
    embedded = [
        json.dumps(r["json"]["input"]) for r in stub.requests if r["path"].endswith("/embeddings")
    ]
    assert any("and what about its inverse?" in e and "What does solve do?" in e for e in embedded)


def test_invented_and_foreign_citation_ids_are_dropped(keyed, indexed):
    stub, material, conversation = keyed
    stranger = indexed(UserFactory(), ["Secret notes of another student."])
    foreign = stranger.chunks.get().pk
    solve_chunk = material.chunks.get(position=1)
    stub.reply(
        f"Without b, solve returns the inverse [{solve_chunk.pk}]. "
        f"It was invented in 1850 [999999]. See also [{foreign}]."
    )
    message = message_ask(conversation=conversation, content="What does solve return without b?")
    assert message.generator == "gpt-4o-mini"
    assert message.content == (
        "Without b, solve returns the inverse [1]. It was invented in 1850. See also."
    )
    assert message.citations == [
        {
            "material": material.pk,
            "chunk": solve_chunk.pk,
            "page": 2,
            "start_seconds": None,
            "quote": "When b is missing, solve returns the inverse of the matrix a.",
        }
    ]


def test_russian_question_asks_for_a_russian_answer(stub_openai, user, indexed):
    material = indexed(
        user, ["Функция solve возвращает обратную матрицу, если b не задан."], language="ru"
    )
    conversation = Conversation.objects.create(owner=user, material=material)
    stub_openai.reply("Она возвращает обратную матрицу [1].")
    message_ask(conversation=conversation, content="Что возвращает функция solve?")
    assert "Write in Russian" in chat_payload(stub_openai)["messages"][0]["content"]


def test_a_russian_question_gets_the_same_passages_and_its_answer_in_russian(
    stub_openai, user, indexed
):
    material = indexed(
        user,
        [
            "Функция matrix создаёт матрицу.",
            "Функция solve возвращает обратную матрицу, если b не задан.",
        ],
        language="ru",
    )
    conversation = Conversation.objects.create(owner=user, material=material)
    solve = material.chunks.get(position=1)
    stub_openai.reply(f"Если b не задан, solve возвращает обратную матрицу [{solve.pk}].")
    with translation.override("en"):
        message = message_ask(conversation=conversation, content="Что возвращает solve без b?")
    shown = chat_payload(stub_openai)["messages"][-1]["content"]
    assert f'<passage id="{solve.pk}"' in shown and "answer in Russian" in shown
    assert message.content == "Если b не задан, solve возвращает обратную матрицу [1]."
    assert message.citations[0]["page"] == 2
    # The model unreachable: the extractive answer, framed in the question's language.
    stub_openai.fail(500, times=10)
    with translation.override("en"):
        fallback = message_ask(conversation=conversation, content="Что возвращает solve без b?")
    assert fallback.content.startswith("Модель ИИ недоступна")
    assert fallback.citations[0]["page"] == 2


def test_a_rate_limit_is_retried_once_within_the_deadline(keyed):
    stub, _material, conversation = keyed
    stub.fail(429)
    stub.reply("It returns the inverse.")
    message = message_ask(conversation=conversation, content="What does solve return?")
    assert message.content == "It returns the inverse."
    assert len(stub.chat_requests()) == 2


def test_failing_model_gives_a_clear_labelled_answer_not_an_error(keyed, api):
    stub, _material, conversation = keyed
    stub.fail(500, times=10)
    response = api.post(
        f"/api/tutor/conversations/{conversation.pk}/messages/",
        {"content": "What does solve return when b is missing?"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["content"].startswith("The AI model could not be reached")
    assert body["citations"][0]["page"] == 2


def test_dead_endpoint_still_answers_from_full_text(keyed, api):
    stub, _material, conversation = keyed
    stub.stop()
    response = api.post(
        f"/api/tutor/conversations/{conversation.pk}/messages/",
        {"content": "What does solve return when b is missing?"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["content"].startswith("The AI model could not be reached")


def test_chat_page_streams_the_answer_then_the_checked_message(keyed, logged_in):
    stub, material, conversation = keyed
    solve_chunk = material.chunks.get(position=1)
    stub.reply(f"Without b, solve returns the inverse [{solve_chunk.pk}].")
    response = logged_in.post(
        f"/tutor/{conversation.pk}/stream/", {"content": "What does solve return without b?"}
    )
    assert response["Content-Type"].startswith("text/event-stream")
    body = b"".join(response.streaming_content).decode()
    deltas = [
        json.loads(line[6:])
        for block in body.split("\n\n")
        if block.startswith("event: delta")
        for line in block.splitlines()
        if line.startswith("data: ")
    ]
    assert "".join(deltas) == f"Without b, solve returns the inverse [{solve_chunk.pk}]."
    done = json.loads(body.split("event: done\ndata: ")[1].split("\n\n")[0])
    assert f'href="/materials/{material.pk}/read/?page=2&amp;q=' in done
    assert f"[{solve_chunk.pk}]" not in done
    assert conversation.messages.count() == 2
