"""A teacher shares a course in a browser; a student joins by link on a phone, in Russian."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from courses.models import Course, Membership
from materials.models import Material
from tests.support.browser import (
    DESKTOP,
    NARROW,
    shoot,
    sign_up,
    upload_pdf,
    violations,
    wait_ready,
)
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db(transaction=True)

LECTURE = [
    "Cells are the basic units of life. Every living organism is made of cells.",
    "Photosynthesis happens in the chloroplasts. Chlorophyll absorbs red and blue light.",
]


def fits(page) -> list[str]:
    """Axe at desktop width, then nothing sticking out sideways at 360 px."""
    page.set_viewport_size(DESKTOP)
    found = violations(page)
    page.set_viewport_size(NARROW)
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > NARROW["width"]:
        found.append(f"{page.url} is {width} px wide at {NARROW['width']} px")
    return found


def test_teacher_shares_a_course_and_a_student_joins_by_link_on_a_phone(new_page, worker):
    teacher = new_page()
    sign_up(teacher, "teacher@example.com")
    upload_pdf(teacher, "cells.pdf", make_pdf(LECTURE))
    wait_ready(teacher)
    material = Material.objects.get(owner__email="teacher@example.com")

    # The teacher builds the course through its pages: a course, a unit, the lecture, an invite.
    teacher.goto("/courses/")
    create = teacher.locator('form[action="/courses/new/"]')
    create.locator("input[name=title]").fill("Biology 101")
    create.locator("button[type=submit]").click()
    teacher.wait_for_url(re.compile(r"/courses/\d+/$"))
    course = Course.objects.get(owner__email="teacher@example.com")
    unit = teacher.locator(f'form[action="/courses/{course.pk}/units/"]')
    unit.get_by_label("Unit title").fill("Cells")
    unit.locator("button[type=submit]").click()
    expect(teacher.locator("section.card h2", has_text="Cells")).to_be_visible()
    add = teacher.locator(f'form[action="/courses/{course.pk}/materials/"]')
    add.locator("select[name=material]").select_option(str(material.pk))
    add.locator("button[type=submit]").click()
    expect(teacher.locator(".material-list strong", has_text=material.title)).to_be_visible()
    teacher.locator(f'form[action="/courses/{course.pk}/invites/"] button[type=submit]').click()
    link = teacher.locator("input[readonly]").first.input_value()
    assert "/courses/join/" in link
    found = fits(teacher)
    shoot(teacher, "classroom-teacher-course")

    # The student opens the link on a phone, in Russian, signs up and joins.
    student = new_page(locale="ru-RU", viewport=NARROW)
    sign_up(student, "student@example.com")
    student.goto(link)
    expect(student.locator("html")).to_have_attribute("lang", "ru")
    expect(student.locator("main")).to_contain_text("Biology 101")
    found += fits(student)
    student.set_viewport_size(NARROW)
    student.locator("main form button[type=submit]").click()
    student.wait_for_url(f"**/courses/{course.pk}/")
    assert Membership.objects.get(course=course, user__email="student@example.com").role == (
        "student"
    )
    expect(student.locator(".material-list strong", has_text=material.title)).to_be_visible()
    # No teacher's tools for a student: no invites, no members, no removal.
    assert student.locator(f'form[action="/courses/{course.pk}/invites/"]').count() == 0
    found += fits(student)
    shoot(student, "classroom-student-course-phone")

    # The shared lecture opens in the reader, and search finds it, processed once.
    student.set_viewport_size(NARROW)
    student.locator(".material-list .card-actions a").first.click()
    expect(student.locator("main")).to_contain_text("Cells are the basic units of life")
    found += fits(student)
    student.goto(f"/tutor/search/?q=хлорофилл&material={material.pk}")
    expect(student.locator("main")).to_contain_text("Chlorophyll")
    assert Material.objects.count() == 1
    assert found == [], "\n".join(found)
