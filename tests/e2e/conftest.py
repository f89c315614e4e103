"""Browser tests: Debian's chromium, driven by Playwright, against a live server.

The server is pytest-django's live server (a real HTTP server in a thread of
this process, on the test database), and the queue is served by a real RQ
worker in another thread of this process, so recorded YouTube responses
(which patch `requests` here) reach its jobs. Nothing in our stack is mocked.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = (
    os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
DESKTOP = {"width": 1280, "height": 860}
MOBILE = {"width": 390, "height": 844}
PASSWORD = "a-Long-study-passw0rd"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test is slow, and skips cleanly without chromium or Playwright."""
    here = str(Path(__file__).resolve().parent)
    missing = None
    if CHROMIUM is None:
        missing = "chromium is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed"
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.slow)
            if missing:
                item.add_marker(pytest.mark.skip(reason=missing))


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless chromium per module.

    Playwright's sync API keeps an event loop on this thread, which makes
    Django refuse ORM calls from it; the tests check the database between
    browser steps, so that guard is lifted while the browser runs.
    """
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            yield browser
            browser.close()


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable]:
    """Pages in fresh browser contexts (a context is one visitor with its own cookies)."""
    contexts = []

    def build(*, locale: str = "en-US", viewport: dict | None = None):
        context = browser.new_context(
            base_url=live_server.url, locale=locale, viewport=viewport or DESKTOP
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield build
    for context in contexts:
        context.close()


@pytest.fixture
def worker(transactional_db, settings) -> Iterator[None]:
    """A real RQ worker serving the test queues, in production's order, from a thread."""
    from django.db import connections
    from rq.timeouts import TimerDeathPenalty

    from eduplatform.worker import EduWorker
    from tests.conftest import worker_queues

    class ThreadWorker(EduWorker):
        # Signals belong to the main thread: time jobs out with a timer instead.
        death_penalty_class = TimerDeathPenalty

        def _install_signal_handlers(self) -> None:
            pass

    settings.OPENAI_API_KEY = ""
    queues = worker_queues()
    stop = threading.Event()

    def serve() -> None:
        try:
            while not stop.is_set():
                ThreadWorker(queues, connection=queues[0].connection).work(burst=True)
                stop.wait(1.0)
        finally:
            connections.close_all()

    thread = threading.Thread(target=serve, name="rq-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=120)


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
