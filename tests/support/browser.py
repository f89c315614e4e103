"""The browser tests' helpers: chromium, window sizes, and a student's steps in a page.

Playwright is imported inside the helpers that drive a page: without it the
browser tests skip (tests/e2e/conftest.py) rather than fail to import.
"""

from __future__ import annotations

import os
import re
import shutil
from io import BytesIO
from pathlib import Path

from materials.models import Material
from tests.support.lectures import BIOLOGY
from tests.support.pdfs import make_pdf

SCREENSHOTS = Path(__file__).resolve().parents[1] / "e2e" / "screenshots"
CHROMIUM = (
    os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
DESKTOP = {"width": 1280, "height": 860}
MOBILE = {"width": 390, "height": 844}
PASSWORD = "a-Long-study-passw0rd"


def first_pages(source: Path, count: int) -> bytes:
    """The first pages of a corpus book as a PDF of their own: real text, less to process."""
    import pypdfium2

    book = pypdfium2.PdfDocument(str(source))
    part = pypdfium2.PdfDocument.new()
    part.import_pages(book, list(range(min(count, len(book)))))
    out = BytesIO()
    part.save(out)
    return out.getvalue()


def shoot(page, name: str) -> Path:
    """A full-page screenshot under tests/e2e/screenshots (git-ignored)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_up(page, email: str) -> None:
    """Create an account through the real sign-up form."""
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/signup" not in url)


def upload_pdf(page, name: str, content: bytes) -> None:
    page.goto("/materials/")
    form = page.locator("#pdf-form")
    form.locator("input[type=file]").set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": content}
    )
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/materials/\d+/$"))


def wait_ready(page) -> None:
    """The status card polls by itself; wait until it says the material is ready."""
    from playwright.sync_api import expect

    expect(page.locator("#status .badge.ready")).to_be_visible(timeout=120_000)


def prepare(page) -> dict[str, str]:
    """A student with a processed material, a quiz attempt and a tutor answer."""
    from playwright.sync_api import expect

    sign_up(page, "axe@example.com")
    page.goto("/materials/")
    page.locator("#pdf-form input[type=file]").set_input_files(
        {"name": "biology.pdf", "mimeType": "application/pdf", "buffer": make_pdf(BIOLOGY)}
    )
    page.locator("#pdf-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/materials/\d+/$"))
    expect(page.locator("#status .badge.ready")).to_be_visible(timeout=120_000)
    material = Material.objects.get(owner__email="axe@example.com")
    pk = material.pk
    page.goto(f"/materials/{pk}/quiz/")
    for _ in range(60):
        if page.locator("fieldset.question").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    page.locator("form.quiz button[type=submit]").click()
    page.wait_for_url(re.compile(r"/attempts/\d+/$"))
    attempt = page.url
    page.goto(f"/tutor/?material={pk}")
    page.locator('main form[action="/tutor/new/"] button').first.click()
    page.wait_for_url(re.compile(r"/tutor/\d+/$"))
    conversation = page.url
    page.locator("#ask-form textarea").fill("What does chlorophyll absorb?")
    page.locator("#ask-form button[type=submit]").click()
    expect(page.locator("#chat-messages .citations")).to_be_visible(timeout=60_000)
    return {
        "dashboard": "/",
        "materials": "/materials/",
        "material": f"/materials/{pk}/",
        "notes": f"/materials/{pk}/notes/",
        "flashcards": f"/materials/{pk}/flashcards/",
        "review": f"/materials/review/?material={pk}",
        "quiz": f"/materials/{pk}/quiz/",
        "attempt": attempt,
        "tutor": f"/tutor/?material={pk}",
        "conversation": conversation,
        "reader": f"/materials/{pk}/read/?page=1&q=Chlorophyll+absorbs+red+and+blue+light",
        "study settings": "/materials/review/settings/",
    }


BLOCKING = {"serious", "critical"}
NARROW = {"width": 360, "height": 740}


def violations(page) -> list[str]:
    """Serious and critical axe violations on the page, one readable line each.

    Every violation, whatever its impact, is also logged to
    tests/e2e/screenshots/axe.txt for reading.
    """
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    with (SCREENSHOTS / "axe.txt").open("a", encoding="utf-8") as log:
        for v in results.response["violations"]:
            log.write(f"{page.url} {v['id']} ({v['impact']}): {len(v['nodes'])} node(s)\n")
        log.write(f"{page.url} checked\n")
    return [
        f"{page.url} {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"][:4])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]
