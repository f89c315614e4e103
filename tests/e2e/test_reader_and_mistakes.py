"""The reader opens a citation at its page with the sentence marked; mistakes come back.

Debian's chromium, a live server and a real RQ worker: the PDF goes through
the real pipeline, pdf.js is served from static/ (no network), and the quiz
mistake reaches the next day's review queue.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from materials.models import Flashcard, Material
from tests.support.browser import DESKTOP, MOBILE, shoot, sign_up, upload_pdf, wait_ready
from tests.support.lectures import RUSSIAN_LECTURE, lecture_pages
from tests.support.pdfs import make_pdf, unicode_pdf

pytestmark = pytest.mark.django_db(transaction=True)


def ready_material(page, email: str, content: bytes) -> Material:
    sign_up(page, email)
    upload_pdf(page, "lecture.pdf", content)
    wait_ready(page)
    material = Material.objects.get(owner__email=email)
    expect(page.locator(".summary")).to_be_visible(timeout=90_000)
    return material


def open_reader(page, material: Material, *, min_page: int = 2):
    """From the notes, follow a point on a later page: the reader opens in a new tab."""
    page.goto(f"/materials/{material.pk}/notes/")
    links = page.locator(".note-section a.source")
    chosen = None
    for index in range(links.count()):
        href = links.nth(index).get_attribute("href")
        match = re.search(r"/read/\?page=(\d+)&q=", href or "")
        if match and int(match.group(1)) >= min_page:
            chosen = (links.nth(index), int(match.group(1)))
            break
    assert chosen, "no note point on a later page"
    link, number = chosen
    with page.expect_popup() as popup_info:
        link.click()
    reader = popup_info.value
    expect(reader.locator("[data-reader][data-state=ready]")).to_be_visible(timeout=30_000)
    return reader, number


def assert_marked(reader, number: int, material: Material) -> None:
    expect(reader.locator("[data-page-input]")).to_have_value(str(number))
    marks = reader.locator(".textLayer .quote-mark")
    expect(marks.first).to_be_visible()
    marked = " ".join(marks.all_inner_texts())
    quote = reader.locator("blockquote[data-quote]").inner_text()
    # The marked words are the quote's, and they are on the cited page.
    quote_words = set(re.findall(r"\w+", quote.lower()))
    marked_words = re.findall(r"\w+", marked.lower())
    assert marked_words and sum(w in quote_words for w in marked_words) / len(marked_words) > 0.8
    assert material.chunks.filter(
        page_start__lte=number, page_end__gte=number, text__icontains=quote.split()[0]
    ).exists()


def test_reader_opens_the_cited_page_with_the_sentence_marked(new_page, worker):
    page = new_page(locale="en-US")
    material = ready_material(page, "reader-en@example.com", make_pdf(lecture_pages()))
    reader, number = open_reader(page, material)
    assert_marked(reader, number, material)
    # Nothing was fetched from another origin: pdf.js, its worker and fonts are ours.
    requests = []
    reader.on("request", lambda request: requests.append(request.url))
    # Keyboard: → turns the page, ← comes back, Q returns to the quote.
    reader.keyboard.press("ArrowRight")
    expect(reader.locator("[data-page-input]")).to_have_value(str(number + 1 if number < 3 else 3))
    reader.keyboard.press("q")
    expect(reader.locator("[data-page-input]")).to_have_value(str(number))
    expect(reader.locator(".textLayer .quote-mark").first).to_be_visible()
    assert all(url.startswith(reader.url.split("/materials/")[0]) for url in requests), requests
    shoot(reader, "en-desktop-reader")


def test_reader_in_russian_on_a_phone(new_page, worker):
    page = new_page(locale="ru-RU", viewport=MOBILE)
    material = ready_material(page, "reader-ru@example.com", unicode_pdf(RUSSIAN_LECTURE))
    reader, number = open_reader(page, material)
    expect(reader.locator("html")).to_have_attribute("lang", "ru")
    expect(reader.locator(".reader-bar")).to_contain_text("Страница")
    assert_marked(reader, number, material)
    # The page fits the phone's width; the buttons are big enough for a thumb.
    assert reader.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    box = reader.locator("[data-next]").bounding_box()
    assert box and box["height"] >= 44
    reader.locator("[data-prev]").click()
    expect(reader.locator("[data-page-input]")).to_have_value(str(number - 1))
    reader.locator("[data-to-quote]").click()
    expect(reader.locator("[data-page-input]")).to_have_value(str(number))
    expect(reader.locator(".textLayer .quote-mark").first).to_be_visible()
    shoot(reader, "ru-mobile-reader")
    # On a wider screen the page is drawn again to fit, the quote still marked.
    reader.set_viewport_size(DESKTOP)
    expect(reader.locator(".textLayer .quote-mark").first).to_be_visible()
    # Polled from here: wait_for_function's polling compiles its predicate in the
    # page, which the page's CSP (no 'unsafe-eval') refuses once it has to poll.
    box = reader.locator("[data-box]")
    for _ in range(100):
        if box.evaluate("(el) => el.offsetWidth") > 600:
            break
        reader.wait_for_timeout(100)
    assert box.evaluate("(el) => el.offsetWidth") > 600
    expect(reader.locator(".textLayer .quote-mark").first).to_be_visible()
    shoot(reader, "ru-desktop-reader")


def test_a_quiz_mistake_comes_back_in_the_next_days_review(new_page, worker):
    page = new_page(locale="en-US")
    material = ready_material(page, "mistake@example.com", make_pdf(lecture_pages()))
    question = material.quiz_questions.order_by("position").first()
    page.goto(f"/materials/{material.pk}/quiz/")
    wrong = (question.answer_index + 1) % len(question.choices)
    page.locator(f"input[name=q{question.pk}][value='{wrong}']").check()
    page.locator("form.quiz button[type=submit]").click()
    expect(page.locator("[data-mistake]")).to_have_count(1)
    card = Flashcard.objects.get(material=material, mistake_at__isnull=False)
    assert timezone.localtime(card.due).date() == timezone.localdate() + timedelta(days=1)

    # The dashboard says it comes back tomorrow.
    page.goto("/")
    mistakes = page.locator("[data-mistakes]")
    expect(mistakes).to_contain_text("From your mistakes")
    expect(mistakes).to_contain_text("tomorrow")
    expect(page.locator("[data-schedule]")).to_contain_text("20 new cards a day")
    shoot(page, "en-desktop-dashboard-mistakes")

    # The next day (the card's due time reached), it is in the review, tagged, first.
    Flashcard.objects.filter(pk=card.pk).update(due=timezone.now() - timedelta(minutes=1))
    page.goto("/materials/review/")
    expect(page.locator("#review-card [data-mistake]")).to_be_visible()
    expect(page.locator(".review-front")).to_contain_text(card.front[:30])
    page.keyboard.press("Space")
    page.keyboard.press("3")
    expect(page.locator("#review-card [data-mistake]")).to_have_count(0)
    card.refresh_from_db()
    assert card.last_review is not None and not card.from_mistake
    page.goto("/")
    expect(page.locator("[data-mistakes]")).to_have_count(0)

    # "Didn't get it" on a tutor answer brings its cited sentence back too.
    page.goto(f"/tutor/?material={material.pk}")
    page.locator('main form[action="/tutor/new/"] button').first.click()
    page.wait_for_url(re.compile(r"/tutor/\d+/$"))
    page.locator("#ask-form textarea").fill("Where does the Krebs cycle take place?")
    page.locator("#ask-form button[type=submit]").click()
    missed = page.locator("#chat-messages form.missed button").last
    expect(missed).to_be_visible(timeout=60_000)
    missed.click()
    expect(page.locator("#chat-messages .badge.mistake")).to_be_visible()
    assert Flashcard.objects.filter(
        material=material, mistake_at__isnull=False, last_review__isnull=True
    ).exists()
    shoot(page, "en-desktop-tutor-didnt-get-it")
