"""The admin lists courses and memberships and removes a member, as a moderator would."""

from __future__ import annotations

import pytest
from django.test import Client

from courses.models import Membership
from courses.services import course_create, course_join, invite_create
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_admin_lists_courses_with_their_member_counts(staff):
    teacher = UserFactory(email="teacher@example.org")
    course = course_create(owner=teacher, title="Organic chemistry")
    course_join(user=UserFactory(), code=invite_create(course=course, by=teacher).code)

    page = staff.get("/admin/courses/course/").content.decode()

    assert "Organic chemistry" in page
    assert "teacher@example.org" in page
    assert '<td class="field-member_count">2</td>' in page


def test_the_admin_removes_a_member_but_never_the_owner(staff):
    teacher, student = UserFactory(), UserFactory(email="gone@example.org")
    course = course_create(owner=teacher, title="Physics")
    course_join(user=student, code=invite_create(course=course, by=teacher).code)
    listing = staff.get("/admin/courses/membership/").content.decode()
    assert "gone@example.org" in listing

    staff.post(
        "/admin/courses/membership/",
        {
            "action": "remove_members",
            "_selected_action": [m.pk for m in Membership.objects.all()],
        },
    )

    assert Membership.objects.get(user=student).removed_at is not None
    assert Membership.objects.get(user=teacher).removed_at is None
    student_client = Client()
    student_client.force_login(student)
    assert student_client.get(f"/courses/{course.pk}/").status_code == 404
