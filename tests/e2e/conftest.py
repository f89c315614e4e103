"""Browser tests: Debian's chromium, driven by Playwright, against a live server.

The server is pytest-django's live server (a real HTTP server in a thread of
this process, on the test database), and the queue is served by a real RQ
worker in another thread of this process, so recorded YouTube responses
(which patch `requests` here) reach its jobs. Nothing in our stack is mocked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, DESKTOP


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
    from tests.support.processes import worker_queues

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
