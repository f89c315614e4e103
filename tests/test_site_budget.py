"""The whole site's AI calls a day (SITE_DAILY_AI_CALL_LIMIT), whoever makes them.

Per-account budgets bound one account; this bounds the hosted model's bill
when accounts are many. Once it is spent nobody is refused: tutor answers
and study content are made without the hosted model, and say so; the
admin's start page shows the count. The model is the local stand-in
(tests/support/stub_openai.py), the counters the real Valkey.
"""

from __future__ import annotations

import pytest

from eduplatform import quota
from materials.study.generation import study_generate
from tests.support.factories import UserFactory
from tutor.models import Conversation
from tutor.services import message_ask

pytestmark = pytest.mark.django_db

PAGES = [
    "A matrix is created with the function matrix.",
    "When b is missing, solve returns the inverse of the matrix a.",
]


def test_once_the_site_budget_is_spent_every_student_gets_the_labelled_offline_answer(
    stub_openai,
    settings,
    user,
    indexed,
):
    settings.SITE_DAILY_AI_CALL_LIMIT = 1
    mine = Conversation.objects.create(owner=user, material=indexed(user, PAGES))
    stub_openai.reply("It returns the inverse.")
    hosted = message_ask(conversation=mine, content="What does solve return without b?")
    assert hosted.content == "It returns the inverse."

    other = UserFactory()
    theirs = Conversation.objects.create(owner=other, material=indexed(other, PAGES))
    asked = len(stub_openai.chat_requests())
    answer = message_ask(conversation=theirs, content="What does solve return without b?")
    assert answer.content.startswith("Today's AI budget is spent")
    assert answer.citations[0]["page"] == 2
    assert len(stub_openai.chat_requests()) == asked  # the model was not asked
    # It cost the student an offline answer, not an AI call of their own budget.
    assert quota.used(other, quota.AI) == 0
    assert quota.used(other, quota.OFFLINE) == 1
    assert quota.site_usage().used == 1


def test_study_content_is_made_offline_once_the_site_budget_is_spent(
    biology,
    stub_openai,
    settings,
):
    settings.SITE_DAILY_AI_CALL_LIMIT = 1
    quota.site_reserve(quota.AI)  # spent by someone else's material
    study_set = study_generate(material=biology)
    assert study_set.status == "ready"
    assert study_set.generator == "offline"
    assert not stub_openai.chat_requests()


def test_the_admin_start_page_shows_todays_site_ai_calls(client, settings):
    settings.SITE_DAILY_AI_CALL_LIMIT = 2
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    quota.site_reserve(quota.AI)
    page = client.get("/admin/").content.decode()
    assert "AI calls today, the whole site" in page
    assert "1 of 2" in page and "Spent" not in page
    quota.site_reserve(quota.AI)
    page = client.get("/admin/").content.decode()
    assert "2 of 2" in page and "Spent: until midnight UTC" in page
