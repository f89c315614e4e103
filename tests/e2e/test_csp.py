"""The Content-Security-Policy holds on every page a student or moderator uses.

Each page is loaded in Chromium with the real policy; any script, style or
handler the policy refuses shows up as a `securitypolicyviolation` event or a
console message, and the test lists them.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import User
from materials.models import Material
from tests.support.browser import prepare

pytestmark = pytest.mark.django_db(transaction=True)

WATCH = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.__csp = window.__csp || []).push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});"""


def watched(page) -> list[str]:
    found: list[str] = []
    page.add_init_script(WATCH)
    page.on(
        "console",
        lambda message: (
            found.append(f"{page.url} {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return found


def visit(page, urls: dict[str, str], found: list[str]) -> None:
    for url in urls.values():
        response = page.goto(url)
        assert response is not None and response.ok, (url, response and response.status)
        assert "content-security-policy" in response.headers, url
        page.wait_for_load_state("networkidle")
        found += [f"{url} {v}" for v in page.evaluate("window.__csp || []")]


def test_pages_work_under_the_policy_with_no_violation(new_page, worker):
    page = new_page()
    found = watched(page)
    visit(page, {"home": "/", "login": "/accounts/login/", "signup": "/accounts/signup/"}, found)
    pages = prepare(page)  # sign-up, an htmx upload with progress, quiz, tutor answer
    visit(page, pages, found)
    # The language switcher submits itself (a script file, no inline handler).
    page.goto("/")
    page.select_option("#language", "ru")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    # htmx swaps a tab in place.
    material = Material.objects.get(owner__email="axe@example.com")
    page.goto(f"/materials/{material.pk}/")
    page.locator("#material-tabs a[href$='/notes/']").first.click()
    page.wait_for_url(f"**/materials/{material.pk}/notes/")
    User.objects.filter(email="axe@example.com").update(is_staff=True, is_superuser=True)
    staff = {
        "admin": "/admin/",
        "materials admin": "/admin/materials/material/",
        "material change": f"/admin/materials/material/{material.pk}/change/",
        "users admin": "/admin/accounts/user/",
        "queues": "/admin/django-rq/",
        "queue jobs": "/admin/django-rq/queues/0/",
        "api root": "/api/",
        "api list": "/api/materials/",
        "api docs": "/api/docs/",
    }
    visit(page, staff, found)
    expect(page.locator(".swagger-ui")).to_be_visible(timeout=15_000)
    assert not found, "\n".join(found)
