"""Course pages: a teacher builds a course and invites, a student joins, leaves or is removed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from courses.models import Course, CourseMaterial, Invite, Membership, Unit
from courses.services import course_create, invite_create, unit_create
from tests.support.factories import MaterialFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teacher(client):
    user = UserFactory()
    client.force_login(user)
    return user


def _student():
    student = UserFactory()
    client = Client()
    client.force_login(student)
    return student, client


def test_a_teacher_creates_a_course_with_a_unit_and_their_material(client, teacher):
    material = MaterialFactory(owner=teacher, title="Photosynthesis", status="ready")

    response = client.post("/courses/new/", {"title": "Biology 101", "exam_date": "2027-01-20"})
    course = Course.objects.get(owner=teacher)
    assert response.status_code == 302
    assert response["Location"] == f"/courses/{course.pk}/"
    client.post(f"/courses/{course.pk}/units/", {"title": "Cells", "due_date": ""})
    unit = Unit.objects.get(course=course)
    client.post(f"/courses/{course.pk}/materials/", {"unit": unit.pk, "material": material.pk})

    page = client.get(f"/courses/{course.pk}/").content.decode()
    assert "Biology 101" in page
    assert "Cells" in page
    assert "Photosynthesis" in page
    assert f"/materials/{material.pk}/read/" in page
    assert Membership.objects.get(course=course, user=teacher).role == "owner"


def test_a_teacher_cannot_add_someone_elses_material(client, teacher):
    course = course_create(owner=teacher, title="Biology")
    unit = unit_create(course=course, title="Cells")
    foreign = MaterialFactory(title="Not mine")

    client.post(f"/courses/{course.pk}/materials/", {"unit": unit.pk, "material": foreign.pk})

    assert not CourseMaterial.objects.exists()


def test_a_student_joins_by_link_and_sees_the_course(client, teacher):
    course = course_create(owner=teacher, title="Biology")
    invite = invite_create(course=course, by=teacher)
    student, other = _student()

    confirm = other.get(f"/courses/join/{invite.code}/")
    assert confirm.status_code == 200
    assert not Membership.objects.filter(user=student).exists()  # a GET never joins
    response = other.post(f"/courses/join/{invite.code}/")

    assert response.status_code == 302
    assert Membership.objects.get(user=student, course=course).role == "student"
    page = other.get(f"/courses/{course.pk}/").content.decode()
    assert "Biology" in page
    assert "Invites" not in page  # the teacher's forms are the teacher's


def test_a_student_joins_by_a_code_typed_in_lower_case(client, teacher):
    course = course_create(owner=teacher, title="Biology")
    invite = invite_create(course=course, by=teacher)
    student, other = _student()

    other.post("/courses/join/", {"code": invite.code.lower()})

    assert Membership.objects.filter(user=student, course=course).exists()


@pytest.mark.parametrize(
    ("language", "expired", "revoked"),
    [
        ("en", "This invite has expired", "This invite was withdrawn"),
        ("ru", "Срок действия приглашения истёк", "Приглашение отозвано"),
    ],
)
def test_an_expired_or_revoked_invite_says_why(client, teacher, language, expired, revoked):
    course = course_create(owner=teacher, title="Biology")
    old = invite_create(course=course, by=teacher)
    Invite.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    withdrawn = invite_create(course=course, by=teacher)
    client.post(f"/courses/invites/{withdrawn.pk}/revoke/")
    student, other = _student()
    other.cookies["django_language"] = language

    for code, message in ((old.code, expired), (withdrawn.code, revoked)):
        page = other.post("/courses/join/", {"code": code}, follow=True).content.decode()
        assert message in page
        link = other.get(f"/courses/join/{code}/")
        assert link.status_code == 404
        assert message in link.content.decode()
    assert not Membership.objects.filter(user=student).exists()


def test_a_student_leaves_and_the_course_is_gone(client, teacher):
    course = course_create(owner=teacher, title="Biology")
    invite = invite_create(course=course, by=teacher)
    student, other = _student()
    other.post("/courses/join/", {"code": invite.code})

    other.post(f"/courses/{course.pk}/leave/")

    assert other.get(f"/courses/{course.pk}/").status_code == 404
    assert not Membership.objects.filter(user=student).exists()


def test_a_removed_student_cannot_come_back_with_the_same_invite(client, teacher):
    course = course_create(owner=teacher, title="Biology")
    invite = invite_create(course=course, by=teacher)
    student, other = _student()
    other.post("/courses/join/", {"code": invite.code})
    membership = Membership.objects.get(user=student)

    client.post(f"/courses/members/{membership.pk}/remove/")
    again = other.post("/courses/join/", {"code": invite.code}, follow=True).content.decode()

    assert other.get(f"/courses/{course.pk}/").status_code == 404
    assert "You were removed from this course" in again


def test_the_owner_cannot_leave_or_be_removed(client, teacher):
    course = course_create(owner=teacher, title="Biology")
    own = Membership.objects.get(course=course, user=teacher)

    client.post(f"/courses/{course.pk}/leave/")
    client.post(f"/courses/members/{own.pk}/remove/")

    own.refresh_from_db()
    assert own.removed_at is None


def test_a_student_gets_404_from_the_teachers_actions(client, teacher):
    course = course_create(owner=teacher, title="Biology")
    invite = invite_create(course=course, by=teacher)
    student, other = _student()
    other.post("/courses/join/", {"code": invite.code})

    for path, data in (
        (f"/courses/{course.pk}/units/", {"title": "Mine"}),
        (f"/courses/{course.pk}/invites/", {}),
        (f"/courses/{course.pk}/edit/", {"title": "Renamed"}),
        (f"/courses/invites/{invite.pk}/revoke/", {}),
    ):
        assert other.post(path, data).status_code == 404, path
    assert not Unit.objects.exists()
    invite.refresh_from_db()
    assert not invite.revoked


def test_the_course_page_fits_a_phone(client, teacher):
    """No fixed widths: the page is made of the site's own responsive blocks."""
    course = course_create(owner=teacher, title="Biology")
    page = client.get(f"/courses/{course.pk}/").content.decode()

    assert 'name="viewport" content="width=device-width' in page
    assert "style=" not in page


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["My courses", "Join a course", "Teach this course", "Invites"]),
        ("ru", ["Мои курсы", "Вступить в курс", "Ведение курса", "Приглашения"]),
    ],
)
def test_the_course_pages_speak_russian_and_english(client, teacher, language, words):
    course = course_create(owner=teacher, title="Biology")
    client.cookies["django_language"] = language

    pages = (
        client.get("/courses/").content.decode()
        + client.get(f"/courses/{course.pk}/").content.decode()
    )

    for word in words:
        assert word in pages
