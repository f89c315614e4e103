"""Tutor questions and the budgets: a hosted answer costs one AI call of the day,
an answer without the model (no key, nothing relevant, the model or the
embedding endpoint unreachable) costs none and counts against a rate of its own."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from eduplatform import quota
from tutor.models import Message
from tutor.services import OFFLINE_GENERATORS

pytestmark = pytest.mark.django_db

PAGES = [
    "A matrix is created with the function matrix.",
    "When b is missing, solve returns the inverse of the matrix a. "
    "The function solve uses an LU decomposition.",
]


def _conversation(api, material=None) -> int:
    body = {"material": material.pk} if material else {}
    return api.post("/api/tutor/conversations/", body, format="json").json()["id"]


def _ask(api, conversation: int, content: str, **headers):
    url = f"/api/tutor/conversations/{conversation}/messages/"
    return api.post(url, {"content": content}, format="json", **headers)


def _refused_everywhere(
    api, logged_in, conversation: int, code: str, longest_wait: int, api_headers=None, **headers
):
    """The API, the page and the stream all answer 429 with `code` and a Retry-After of at
    most `longest_wait` seconds; returns the API's and the page's answers.

    `headers` go with the API's and the page's request, `api_headers` with the API's only
    (the token-authenticated API follows the client's language, the pages the profile's).
    """
    over = _ask(api, conversation, "Again?", **headers, **(api_headers or {}))
    assert over.status_code == 429 and over.json()["code"] == code
    page = logged_in.post(f"/tutor/{conversation}/ask/", {"content": "Again?"}, **headers)
    assert page.status_code == 429
    stream = logged_in.post(f"/tutor/{conversation}/stream/", {"content": "Again?"})
    assert stream.status_code == 429 and stream.json()["code"] == code
    for answer in (over, page, stream):
        assert 0 < int(answer["Retry-After"]) <= longest_wait
    return over, page


def test_hosted_answers_count_in_api_page_and_stream(
    api, logged_in, user, settings, stub_openai, indexed
):
    settings.DAILY_AI_CALL_LIMIT = 2
    conversation = _conversation(api, indexed(user, PAGES, title="Algebra"))
    stub_openai.reply("It returns the inverse.")
    answer = _ask(api, conversation, "What does solve return without b?")
    assert answer.status_code == 201 and answer.json()["content"] == "It returns the inverse."
    stub_openai.reply("With an LU decomposition.")
    asked = logged_in.post(f"/tutor/{conversation}/ask/", {"content": "How does solve work?"})
    assert asked.status_code == 302

    over, page = _refused_everywhere(
        api, logged_in, conversation, "daily_limit", 86400, HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert "вопросов" in over.json()["detail"] and "лимит" in page.content.decode()
    # Refused questions are not stored, nor sent: two questions, two answers.
    assert user.conversations.get().messages.count() == 4
    assert len(stub_openai.chat_requests()) == 2


def test_without_a_key_more_questions_than_ai_calls_are_answered(
    api, logged_in, user, settings, indexed
):
    settings.OPENAI_API_KEY = ""
    settings.DAILY_AI_CALL_LIMIT = 1
    conversation = _conversation(api, indexed(user, PAGES, title="Algebra"))
    for question in ("What does solve return without b?", "How is a matrix created?"):
        assert _ask(api, conversation, question).status_code == 201
    page = logged_in.post(f"/tutor/{conversation}/ask/", {"content": "What does solve use?"})
    assert page.status_code == 302
    stream = logged_in.post(f"/tutor/{conversation}/stream/", {"content": "Who painted it?"})
    assert stream.status_code == 200
    assert "event: done" in b"".join(stream.streaming_content).decode()

    answers = Message.objects.filter(role=Message.Role.ASSISTANT)
    assert answers.count() == 4
    assert set(answers.values_list("generator", flat=True)) <= OFFLINE_GENERATORS
    assert quota.used(user, quota.AI) == 0


def test_with_a_key_answers_without_the_model_cost_no_ai_call(
    api, user, settings, stub_openai, indexed
):
    settings.DAILY_AI_CALL_LIMIT = 1
    conversation = _conversation(api, indexed(user, PAGES, title="Algebra"))
    # Nothing relevant: the tutor says so, and the model is not asked.
    for _ in range(3):
        assert _ask(api, conversation, "Who painted the Mona Lisa?").status_code == 201
    assert not stub_openai.chat_requests()
    # The model unreachable: the extractive answer is given instead.
    stub_openai.fail(500, times=settings.AI_INTERACTIVE_RETRIES + 1)
    fallback = _ask(api, conversation, "What does solve return without b?")
    assert fallback.status_code == 201 and fallback.json()["citations"]
    assert quota.used(user, quota.AI) == 0

    stub_openai.reply("It returns the inverse.")
    hosted = _ask(api, conversation, "What does solve return without b?")
    assert hosted.json()["content"] == "It returns the inverse."
    over = _ask(api, conversation, "What does solve use?")
    assert over.status_code == 429 and over.json()["code"] == "daily_limit"


def _early_in_a_minute() -> None:
    """Wait for the next minute when this one is nearly over, so a test's
    questions fall in one window of the per-minute rate."""
    second = datetime.now(UTC).second
    if second >= 45:
        time.sleep(60 - second)


@pytest.mark.slow
def test_offline_rate_gives_429_with_retry_after_in_russian(
    api, logged_in, user, settings, indexed
):
    settings.OPENAI_API_KEY = ""
    user.language = "ru"
    user.save(update_fields=["language"])
    conversation = _conversation(api, indexed(user, PAGES, title="Algebra"))
    settings.TUTOR_OFFLINE_PER_MINUTE = 0  # this first answer loads the models, uncounted
    assert _ask(api, conversation, "How is a matrix created?").status_code == 201
    settings.TUTOR_OFFLINE_PER_MINUTE = 2
    _early_in_a_minute()
    assert _ask(api, conversation, "What does solve return without b?").status_code == 201
    page = logged_in.post(f"/tutor/{conversation}/ask/", {"content": "What does solve use?"})
    assert page.status_code == 302

    # The token-authenticated API follows the client's language, the pages the profile's.
    over, page = _refused_everywhere(
        api, logged_in, conversation, "rate_limit", 60, api_headers={"HTTP_ACCEPT_LANGUAGE": "ru"}
    )
    assert over.json() == {
        "detail": "Вы задаёте вопросы чаще, чем 2 в минуту. Подождите минуту и спросите снова.",
        "code": "rate_limit",
    }
    assert "чаще, чем 2 в минуту" in page.content.decode()
    # Three questions answered; the refused ones are not stored.
    assert user.conversations.get().messages.count() == 6
