"""Per-student rates and slots: no one student can take every web thread.

Searches, exports and "Didn't get it" have a rate a minute; tutor answers
being written at once have a cap. Over either: HTTP 429 with Retry-After and
the message in the student's language, JSON for the API, in the form or on a
page for the pages. Counted in the real Valkey.
"""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime

import pytest

from tests.support.factories import MaterialFactory, UserFactory
from tutor.models import Conversation, Message

pytestmark = pytest.mark.django_db


def _early_in_a_minute() -> None:
    """Wait for the next minute when this one is nearly over, so a test's
    requests fall in one window of a rate a minute."""
    second = datetime.now(UTC).second
    if second >= 50:
        time.sleep(60 - second)


@pytest.fixture
def warm(user):
    """The process's first search loads the models, which may take long enough
    to cross a minute; it is made here, before any rate is counted."""
    from materials.search.selectors import search

    search(owner=user, query="cells")


def _refused(response, code: str = "rate_limit", longest_wait: int = 60) -> None:
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= longest_wait
    if response["Content-Type"].startswith("application/json"):
        assert response.json()["code"] == code


# --- search ------------------------------------------------------------------------------------


def test_search_api_has_a_rate_a_minute_with_its_message_in_russian(api, warm, settings):
    settings.SEARCH_PER_MINUTE = 2
    _early_in_a_minute()
    for _ in range(2):
        assert api.get("/api/search/", {"q": "cells"}).status_code == 200
    over = api.get("/api/search/", {"q": "cells"}, HTTP_ACCEPT_LANGUAGE="ru")
    _refused(over)
    assert over.json()["detail"] == (
        "Вы ищете чаще, чем 2 раза в минуту. Подождите минуту и ищите снова."
    )


def test_search_page_refuses_in_the_form_and_on_a_page_in_the_students_language(
    logged_in, user, warm, settings
):
    settings.SEARCH_PER_MINUTE = 1
    user.language = "ru"
    user.save(update_fields=["language"])
    _early_in_a_minute()
    # The page without a query is no search: it costs nothing.
    for _ in range(3):
        assert logged_in.get("/tutor/search/").status_code == 200
    assert logged_in.get("/tutor/search/", {"q": "cells"}).status_code == 200

    fragment = logged_in.get("/tutor/search/", {"q": "cells"}, HTTP_HX_REQUEST="true")
    _refused(fragment)
    assert fragment.content.decode().startswith('<p class="field-error" role="alert">')
    assert "Вы ищете чаще, чем 1 раз в минуту" in fragment.content.decode()
    page = logged_in.get("/tutor/search/", {"q": "cells"})
    _refused(page)
    assert "Слишком много запросов" in page.content.decode()


def test_one_students_rate_leaves_another_searching(api, other_api, warm, settings):
    settings.SEARCH_PER_MINUTE = 1
    _early_in_a_minute()
    assert api.get("/api/search/", {"q": "cells"}).status_code == 200
    _refused(api.get("/api/search/", {"q": "cells"}))
    assert other_api.get("/api/search/", {"q": "cells"}).status_code == 200


# --- exports and "Didn't get it" ---------------------------------------------------------------


def test_exports_have_a_rate_a_minute_on_the_api_and_the_page(api, logged_in, user, settings):
    settings.EXPORT_PER_MINUTE = 2
    material = MaterialFactory(owner=user, status="ready")
    _early_in_a_minute()
    assert api.get(f"/api/materials/{material.pk}/export/csv/").status_code == 200
    assert logged_in.get(f"/materials/{material.pk}/export/csv/").status_code == 200
    over = api.get(f"/api/materials/{material.pk}/export/csv/")
    _refused(over)
    assert "exports a minute" in over.json()["detail"]
    page = logged_in.get(f"/materials/{material.pk}/export/csv/")
    _refused(page)
    assert "exports a minute" in page.content.decode()


def test_didnt_get_it_has_a_rate_a_minute_on_the_api_and_the_page(api, logged_in, user, settings):
    settings.MISSED_PER_MINUTE = 2
    conversation = Conversation.objects.create(owner=user)
    answer = Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, content="It is ATP."
    )
    api_url = f"/api/tutor/conversations/{conversation.pk}/messages/{answer.pk}/missed/"
    page_url = f"/tutor/messages/{answer.pk}/missed/"
    _early_in_a_minute()
    assert api.post(api_url).status_code == 204
    assert logged_in.post(page_url).status_code == 302
    _refused(api.post(api_url))
    over = logged_in.post(page_url, HTTP_HX_REQUEST="true")
    _refused(over)
    assert "as not understood" in over.content.decode()


# --- tutor answers being written ---------------------------------------------------------------


@pytest.fixture
def offline_conversation(user, settings):
    settings.OPENAI_API_KEY = ""
    settings.TUTOR_STREAMS_PER_USER = 1
    return Conversation.objects.create(owner=user)


def _stream(client, conversation: Conversation):
    return client.post(f"/tutor/{conversation.pk}/stream/", {"content": "What is ATP?"})


def test_a_student_may_have_only_so_many_answers_written_at_once(
    logged_in, api, offline_conversation
):
    conversation = offline_conversation
    first = _stream(logged_in, conversation)
    assert first.status_code == 200  # open: its answer not yet read
    second = _stream(logged_in, conversation)
    _refused(second, "concurrent_limit", longest_wait=10)
    assert "already writing 1 answer for you" in second.json()["detail"]
    over = api.post(
        f"/api/tutor/conversations/{conversation.pk}/messages/",
        {"content": "What is ATP?"},
        format="json",
    )
    _refused(over, "concurrent_limit", longest_wait=10)
    plain = logged_in.post(f"/tutor/{conversation.pk}/ask/", {"content": "What is ATP?"})
    _refused(plain, longest_wait=10)

    assert "event: done" in b"".join(first.streaming_content).decode()
    assert _stream(logged_in, conversation).status_code == 200


def test_an_answer_dropped_unread_gives_its_slot_back(logged_in, offline_conversation):
    first = _stream(logged_in, offline_conversation)
    assert first.status_code == 200
    # What a server does with the response of a client gone before its first byte.
    del first
    gc.collect()
    assert _stream(logged_in, offline_conversation).status_code == 200


def test_another_students_answers_are_not_held_back(client, logged_in, offline_conversation):
    held = _stream(logged_in, offline_conversation)
    assert held.status_code == 200
    other = UserFactory()
    client.force_login(other)
    theirs = Conversation.objects.create(owner=other)
    assert _stream(client, theirs).status_code == 200
    assert b"".join(held.streaming_content)
