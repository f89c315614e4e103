"""The courses API: the contract's conventions (paginated lists, 404 for others, 201 on create)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from courses.models import Membership
from tests.support.clients import token_client
from tests.support.factories import MaterialFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_teacher_builds_a_course_and_a_student_joins_through_the_api():
    teacher, student = UserFactory(), UserFactory()
    material = MaterialFactory(owner=teacher, title="Cells", status="ready")
    api, other = token_client(teacher), token_client(student)

    course = api.post("/api/courses/", {"title": "Biology"}, format="json")
    assert course.status_code == 201
    assert course.json()["role"] == "owner"
    course_id = course.json()["id"]
    unit = api.post(f"/api/courses/{course_id}/units/", {"title": "Unit 1"}, format="json")
    assert unit.status_code == 201
    entry = api.post(
        f"/api/units/{unit.json()['id']}/materials/", {"material": material.pk}, format="json"
    )
    assert entry.status_code == 201
    invite = api.post(f"/api/courses/{course_id}/invites/", {}, format="json")
    assert invite.status_code == 201
    assert invite.json()["url"].endswith(f"/courses/join/{invite.json()['code']}/")

    joined = other.post("/api/courses/join/", {"code": invite.json()["code"]}, format="json")
    assert joined.status_code == 201
    assert joined.json()["role"] == "student"
    listed = other.get("/api/courses/").json()
    assert set(listed) == {"count", "next", "previous", "results"}
    assert [c["title"] for c in listed["results"]] == ["Biology"]
    units = other.get(f"/api/courses/{course_id}/units/").json()["results"]
    assert units[0]["materials"][0]["material"] == material.pk
    assert other.get(f"/api/materials/{material.pk}/").status_code == 404  # still not theirs


def test_join_with_an_expired_or_revoked_invite_answers_400_with_its_code():
    teacher, student = UserFactory(), UserFactory()
    api, other = token_client(teacher), token_client(student)
    course_id = api.post("/api/courses/", {"title": "Biology"}, format="json").json()["id"]
    expired = api.post(
        f"/api/courses/{course_id}/invites/",
        {"expires_at": (timezone.now() + timedelta(hours=1)).isoformat()},
        format="json",
    ).json()
    revoked = api.post(f"/api/courses/{course_id}/invites/", {}, format="json").json()
    api.post(f"/api/invites/{revoked['id']}/revoke/")
    from courses.models import Invite

    Invite.objects.filter(pk=expired["id"]).update(expires_at=timezone.now())

    for invite, code, english, russian in (
        (expired, "expired", "This invite has expired", "Срок действия приглашения истёк"),
        (revoked, "revoked", "This invite was withdrawn", "Приглашение отозвано"),
    ):
        answer = other.post("/api/courses/join/", {"code": invite["code"]}, format="json")
        assert answer.status_code == 400
        assert answer.json()["code"] == code
        assert english in answer.json()["detail"]
        in_russian = other.post(
            "/api/courses/join/",
            {"code": invite["code"]},
            format="json",
            HTTP_ACCEPT_LANGUAGE="ru",
        )
        assert russian in in_russian.json()["detail"]
    assert not Membership.objects.filter(user=student).exists()


def test_a_teacher_removes_a_student_through_the_api():
    teacher, student = UserFactory(), UserFactory()
    api, other = token_client(teacher), token_client(student)
    course_id = api.post("/api/courses/", {"title": "Biology"}, format="json").json()["id"]
    code = api.post(f"/api/courses/{course_id}/invites/", {}, format="json").json()["code"]
    membership = other.post("/api/courses/join/", {"code": code}, format="json").json()

    assert api.delete(f"/api/memberships/{membership['id']}/").status_code == 204

    assert other.get(f"/api/courses/{course_id}/").status_code == 404
    members = api.get(f"/api/courses/{course_id}/memberships/").json()["results"]
    assert [m["removed_at"] is not None for m in members if m["role"] == "student"] == [True]


def test_a_student_cannot_add_a_unit_or_see_members_or_invites():
    teacher, student = UserFactory(), UserFactory()
    api, other = token_client(teacher), token_client(student)
    course_id = api.post("/api/courses/", {"title": "Biology"}, format="json").json()["id"]
    code = api.post(f"/api/courses/{course_id}/invites/", {}, format="json").json()["code"]
    other.post("/api/courses/join/", {"code": code}, format="json")

    assert other.get(f"/api/courses/{course_id}/").status_code == 200
    for method, path in (
        ("post", f"/api/courses/{course_id}/units/"),
        ("get", f"/api/courses/{course_id}/memberships/"),
        ("get", f"/api/courses/{course_id}/invites/"),
        ("patch", f"/api/courses/{course_id}/"),
        ("delete", f"/api/courses/{course_id}/"),
    ):
        answer = getattr(other, method)(path, {"title": "x"}, format="json")
        assert answer.status_code == 404, (method, path)


def test_the_schema_documents_the_courses_routes():
    api = token_client(UserFactory())
    schema = api.get("/api/schema/?format=json").json()

    for path in (
        "/api/courses/",
        "/api/courses/{id}/",
        "/api/courses/{id}/units/",
        "/api/courses/{id}/memberships/",
        "/api/courses/{id}/invites/",
        "/api/courses/join/",
        "/api/units/{id}/materials/",
        "/api/memberships/{id}/",
        "/api/invites/{id}/revoke/",
    ):
        assert path in schema["paths"], path


def test_a_teacher_renames_the_course_and_sets_the_exam_date():
    teacher = UserFactory()
    api = token_client(teacher)
    course_id = api.post("/api/courses/", {"title": "Biology"}, format="json").json()["id"]

    renamed = api.patch(f"/api/courses/{course_id}/", {"exam_date": "2027-01-20"}, format="json")
    assert renamed.json()["title"] == "Biology"
    assert renamed.json()["exam_date"] == "2027-01-20"
    form = api.patch(f"/api/courses/{course_id}/", {"title": "Botany"})
    assert form.json()["title"] == "Botany"
    assert form.json()["exam_date"] == "2027-01-20"  # what a PATCH leaves out stays


def test_only_the_owner_deletes_a_course_and_the_materials_stay():
    teacher = UserFactory()
    material = MaterialFactory(owner=teacher, status="ready")
    api = token_client(teacher)
    course_id = api.post("/api/courses/", {"title": "Biology"}, format="json").json()["id"]

    assert api.delete(f"/api/courses/{course_id}/").status_code == 204

    assert api.get(f"/api/courses/{course_id}/").status_code == 404
    assert api.get(f"/api/materials/{material.pk}/").status_code == 200
