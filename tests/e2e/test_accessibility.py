"""axe-core over the main pages (en and ru, light and dark), with screenshots of each.

axe-core comes inside the pinned `axe-playwright-python` wheel (axe.min.js,
MPL-2.0) and is injected into the page from disk: nothing is fetched.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.support.browser import (
    DESKTOP,
    MOBILE,
    NARROW,
    SCREENSHOTS,
    prepare,
    shoot,
    violations,
)

pytestmark = pytest.mark.django_db(transaction=True)
# The innermost elements whose right edge passes the viewport, to say what to fix.
WIDE_ELEMENTS = """(limit) => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > limit + 1)
  .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > limit + 1))
  .slice(0, 4)
  .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""))"""


DESKTOP_SHOTS = {"home", "dashboard", "material", "notes", "flashcards", "review", "quiz", "tutor"}
MOBILE_SHOTS = {"home", "dashboard", "material", "review", "conversation"}
DARK_PAGES = ("dashboard", "material", "notes", "quiz", "conversation", "reader")


def check(page, pages: dict[str, str], *, tag: str) -> list[str]:
    """Axe on each page; screenshots of the main ones (desktop 1280 px, phone 390 px)."""
    found = []
    for name, url in pages.items():
        page.set_viewport_size(DESKTOP)
        page.goto(url)
        found += violations(page)
        if name in DESKTOP_SHOTS:
            shoot(page, f"{tag}-desktop-{name}")
        if name in MOBILE_SHOTS:
            page.set_viewport_size(MOBILE)
            shoot(page, f"{tag}-mobile-{name}")
        # Down to 360 px nothing may stick out sideways.
        page.set_viewport_size(NARROW)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > NARROW["width"]:
            culprits = page.evaluate(WIDE_ELEMENTS, NARROW["width"])
            found.append(f"{page.url} is {width} px wide at {NARROW['width']} px: {culprits}")
    return found


def test_main_pages_pass_axe_in_both_languages_and_schemes(new_page, worker):
    (SCREENSHOTS / "axe.txt").unlink(missing_ok=True)
    public = {"home": "/", "login": "/accounts/login/", "signup": "/accounts/signup/"}
    found = check(new_page(), public, tag="en")
    page = new_page()
    pages = prepare(page)
    found += check(page, pages, tag="en")
    # The language switcher in the header turns the whole site Russian.
    page.goto("/")
    page.select_option("#language", "ru")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    assert User.objects.get(email="axe@example.com").language == "ru"  # saved to the profile
    found += check(page, pages, tag="ru")
    found += check(new_page(locale="ru-RU"), public, tag="ru")
    # Dark mode follows the system setting; its colours must keep their contrast too.
    page.emulate_media(color_scheme="dark")
    found += check(page, {name: pages[name] for name in DARK_PAGES}, tag="ru-dark")
    page.set_viewport_size(DESKTOP)
    shoot(page, "ru-dark-desktop-conversation")
    assert not found, "\n".join(found)
