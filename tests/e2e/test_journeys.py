"""A student's whole journey in a real browser, in English and in Russian."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from materials.models import Chunk, Material
from tests.support.browser import MOBILE, first_pages, shoot, sign_up, upload_pdf, wait_ready
from tests.support.corpus import corpus_file
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db(transaction=True)


def tabs(page, pk: int) -> None:
    """Tabs swap in place with htmx, each with its own URL, and the back button works."""
    page.evaluate("window.sameDocument = true")
    page.locator("nav.tabs a").nth(1).click()
    page.wait_for_url(f"**/materials/{pk}/notes/")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_attribute(
        "href", f"/materials/{pk}/notes/"
    )
    expect(page.locator(".note-section").first).to_be_visible()
    page.locator("nav.tabs a").nth(2).click()
    page.wait_for_url(f"**/materials/{pk}/flashcards/")
    expect(page.locator("table.cards")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True  # no full page load
    page.go_back()
    page.wait_for_url(f"**/materials/{pk}/notes/")
    expect(page.locator(".note-section").first).to_be_visible()
    page.reload()  # every tab is linkable: the URL alone gives the same tab
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_attribute(
        "href", f"/materials/{pk}/notes/"
    )


def journey(page, *, lang: str, book: str, pages: int, question: str) -> None:
    sign_up(page, f"student-{lang}@example.com")
    expect(page.locator(".stats")).to_be_visible()  # home after sign-up is the dashboard
    content = first_pages(corpus_file("pdf", "books", book), pages)
    upload_pdf(page, f"{lang}-book.pdf", content)
    material = Material.objects.get(owner__email=f"student-{lang}@example.com")
    # Live progress: the page itself shows the material going from queued to ready.
    seen = set()
    for _ in range(600):
        seen.add(page.locator("#status .badge").first.get_attribute("class"))
        if page.locator("#status .badge.ready").count():
            break
        page.wait_for_timeout(200)
    wait_ready(page)

    # The summary tab updates by itself once the study content is made.
    expect(page.locator(".summary")).to_be_visible(timeout=90_000)
    assert len(page.locator(".summary").inner_text()) > 80
    tabs(page, material.pk)

    page.goto(f"/materials/review/?material={material.pk}")
    fronts = []
    for _ in range(3):
        front = page.locator(".review-front").inner_text()
        fronts.append(front)
        page.keyboard.press("Space")
        expect(page.locator("[data-back]")).to_be_visible()
        page.keyboard.press("3")
        expect(page.locator(".review-front")).not_to_have_text(front)
    assert len(set(fronts)) == 3
    assert material.flashcards.filter(reviews__isnull=False).distinct().count() == 3

    page.goto(f"/materials/{material.pk}/quiz/")
    questions = page.locator("fieldset.question")
    assert questions.count() >= 3
    for index in range(questions.count()):
        questions.nth(index).locator("input[type=radio]").first.check()
    page.locator("form.quiz button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text(re.compile(r"\d+"))

    page.goto(f"/tutor/?material={material.pk}")
    page.locator('main form[action="/tutor/new/"] button').first.click()
    page.wait_for_url(re.compile(r"/tutor/\d+/$"))
    page.locator("#ask-form textarea").fill(question)
    page.locator("#ask-form button[type=submit]").click()
    link = page.locator("#chat-messages .citations a.source").first
    expect(link).to_be_visible(timeout=60_000)
    shoot(page, f"{lang}-desktop-tutor-answer")
    href = link.get_attribute("href")
    match = re.search(r"/materials/(\d+)/read/\?page=(\d+)&q=", href)
    assert match, href
    number = int(match.group(2))
    quote = page.locator("#chat-messages .citations li").first.locator("q").inner_text()
    # The cited page holds the quoted words: the link goes to the right page.
    cited = Chunk.objects.filter(material=material, page_start__lte=number, page_end__gte=number)
    assert any(quote[:40] in chunk.text for chunk in cited), (number, quote)
    with page.expect_popup() as popup_info:
        link.click()
    popup = popup_info.value
    # The reader opens at the cited page with the quoted sentence marked.
    assert f"/materials/{material.pk}/read/?page={number}" in popup.url
    expect(popup.locator("[data-reader][data-state=ready]")).to_be_visible(timeout=30_000)
    expect(popup.locator("[data-page-input]")).to_have_value(str(number))
    expect(popup.locator(".textLayer .quote-mark").first).to_be_visible()

    # The dashboard (home after sign-in) shows today's study.
    page.goto("/")
    expect(page.locator("[data-streak]")).to_contain_text("1")
    expect(page.locator("svg.chart circle")).to_have_count(1)
    expect(page.locator(".material-list")).to_contain_text(material.title)
    shoot(page, f"{lang}-desktop-dashboard-after-study")
    page.set_viewport_size(MOBILE)
    page.goto(f"/materials/{material.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]


@pytest.mark.django_db(transaction=True)
def test_english_journey(new_page, worker):
    journey(
        new_page(locale="en-US"),
        lang="en",
        book="R-data.pdf",
        pages=8,
        question="How do I import data from a spreadsheet?",
    )


def test_russian_journey_follows_the_browser_language(new_page, worker):
    page = new_page(locale="ru-RU")
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "ru"
    journey(
        page,
        lang="ru",
        book="mpman-ru.pdf",
        pages=8,
        question="Какие команды рисования самые простые?",
    )
    expect(page.locator("header nav")).to_contain_text("Мои материалы")


def test_youtube_lecture_from_recorded_responses(new_page, worker, youtube):
    page = new_page()
    sign_up(page, "viewer@example.com")
    page.goto("/materials/")
    form = page.locator("#youtube-form")
    form.locator("input[name=youtube_url]").fill("https://www.youtube.com/watch?v=GJLlxj_dtq8")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/materials/\d+/$"))
    wait_ready(page)
    material = Material.objects.get(owner__email="viewer@example.com")
    assert material.kind == "youtube"
    expect(page.locator(".summary")).to_be_visible(timeout=90_000)
    page.goto(f"/materials/{material.pk}/notes/")
    link = page.locator(".note-section a.source").first
    # The note opens the embedded player at its second.
    assert re.search(rf"/materials/{material.pk}/read/\?t=\d+", link.get_attribute("href"))
    shoot(page, "en-desktop-youtube-notes")


def test_broken_uploads_show_their_error_and_a_second_user_sees_nothing(new_page, worker):
    owner = new_page()
    sign_up(owner, "owner@example.com")
    # Not a PDF at all: the form refuses it on the spot.
    owner.goto("/materials/")
    form = owner.locator("#pdf-form")
    form.locator("input[type=file]").set_input_files(
        {"name": "notes.pdf", "mimeType": "application/pdf", "buffer": b"just some text"}
    )
    form.locator("button[type=submit]").click()
    expect(owner.locator("#pdf-form .field-error")).to_be_visible()
    # A real but password-protected PDF: refused with what to do about it.
    locked = corpus_file("pdf", "pdfplumber", "password-example.pdf").read_bytes()
    form.locator("input[type=file]").set_input_files(
        {"name": "locked.pdf", "mimeType": "application/pdf", "buffer": locked}
    )
    form.locator("button[type=submit]").click()
    expect(owner.locator("#pdf-form .field-error")).to_contain_text("password")
    # A PDF with pages but no text: it fails while processing, and the page says so.
    upload_pdf(owner, "blank.pdf", make_pdf([" ", " "]))
    expect(owner.locator("#status .alert.error")).to_be_visible(timeout=60_000)
    expect(owner.locator("#status button[type=submit]")).to_be_visible()
    shoot(owner, "en-desktop-failed")
    material = Material.objects.get(owner__email="owner@example.com")
    assert material.status == "failed"

    stranger = new_page()
    sign_up(stranger, "stranger@example.com")
    stranger.goto("/materials/")
    expect(stranger.locator("main")).not_to_contain_text("blank")
    for path in (f"/materials/{material.pk}/", f"/materials/{material.pk}/file/"):
        response = stranger.goto(path)
        assert response.status == 404, path
    stranger.goto("/tutor/")
    expect(stranger.locator("main")).not_to_contain_text("blank")
