"""The language follows the switcher, then the student's profile, then the browser."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def lang(response) -> str:
    return response.content.decode().split('<html lang="', 1)[1].split('"', 1)[0]


def test_browser_language_is_used_until_the_student_chooses(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")
    assert lang(client.get("/")) == "ru"
    client.force_login(user)
    assert lang(client.get("/")) == "ru"
    user.refresh_from_db()
    assert user.language == ""


def test_switcher_saves_the_choice_and_it_follows_the_student_to_a_new_browser(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    user.refresh_from_db()
    assert user.language == "ru"
    assert lang(client.get("/")) == "ru"
    # Another device, English browser, no cookie yet: the profile wins after login.
    other = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    assert lang(other.get("/")) == "en"
    other.force_login(user)
    assert lang(other.get("/")) == "ru"
    # Switching back there is saved too.
    other.post("/i18n/setlang/", {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en" and lang(other.get("/")) == "en"


def test_an_unknown_language_is_not_saved(user):
    client = Client()
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == ""
