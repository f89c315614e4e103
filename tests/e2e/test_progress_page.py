"""The teacher reads the course's progress on a phone, in Russian, and downloads the CSV."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from tests.support.browser import DESKTOP, NARROW, shoot, violations
from tests.support.progress import progress_course

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(new_page, live_server, user, *, locale: str, viewport: dict):
    """A page with the user's session: signing in is tested elsewhere."""
    client = Client()
    client.force_login(user)
    page = new_page(locale=locale, viewport=viewport)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    return page


def test_the_teacher_reads_progress_on_a_phone_in_russian(new_page, live_server):
    world = progress_course()
    page = _signed_in(new_page, live_server, world.teacher, locale="ru-RU", viewport=DESKTOP)

    page.goto(f"/courses/{world.course.pk}/")
    page.get_by_role("link", name="Прогресс студентов").click()
    expect(page.get_by_role("heading", name="Прогресс", exact=True)).to_be_visible()
    expect(page.locator("#progress-privacy")).to_contain_text("никогда не видят")
    expect(page.get_by_text("Анна Петрова")).to_be_visible()
    assert violations(page) == []

    page.set_viewport_size(NARROW)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"the page is {width} px wide on a 360 px phone"
    shoot(page, "ru-mobile-course-progress")

    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать CSV").click()
    assert download.value.suggested_filename == f"course-{world.course.pk}-progress.csv"
