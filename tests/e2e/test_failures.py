"""A failing htmx action tells the student, in the browser.

htmx swaps no error answer and gets no answer at all from an unreachable
server; the upload button used to come back with nothing said. The browser
here gets a 502 (a proxy in front of a failing server) and then no connection
at all for the upload; the page says which, and the form can be sent again.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_up
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db(transaction=True)
UPLOAD = "**/materials/upload/"


def _send(page) -> None:
    form = page.locator("#pdf-form")
    form.locator("input[type=file]").set_input_files(
        {"name": "cells.pdf", "mimeType": "application/pdf", "buffer": make_pdf(["Cells."])}
    )
    form.locator("button[type=submit]").click()


def test_a_failed_upload_says_so_and_can_be_sent_again(new_page):
    page = new_page()
    sign_up(page, "unlucky@example.com")
    page.goto("/materials/")
    notice = page.locator("#request-error")
    expect(notice).to_be_hidden()

    page.route(UPLOAD, lambda route: route.fulfill(status=502, body="Bad Gateway"))
    _send(page)
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("The server could not do this just now")
    expect(page.locator("#pdf-form button[type=submit]")).to_be_enabled()

    page.unroute(UPLOAD)
    page.route(UPLOAD, lambda route: route.abort("connectionrefused"))
    _send(page)
    expect(notice).to_contain_text("The server could not be reached")

    page.unroute(UPLOAD)
    _send(page)  # the server is back: the upload goes through
    page.wait_for_url("**/materials/*/")


def test_a_search_over_the_rate_says_why_in_the_form(new_page, settings):
    settings.SEARCH_PER_MINUTE = 1
    page = new_page()
    sign_up(page, "curious@example.com")
    page.goto("/tutor/search/")
    form = page.locator("form.search-form")
    form.locator("input[name=q]").fill("cells")
    form.locator("button[type=submit]").click()
    # The first search loads the models: it may take a while, and it counts.
    expect(page.locator("#search-results")).to_contain_text("Nothing", timeout=60_000)
    form.locator("button[type=submit]").click()
    expect(form.locator(".client-error")).to_contain_text("more than 1 time a minute")
    expect(page.locator("#request-error")).to_be_hidden()
