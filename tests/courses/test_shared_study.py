"""A course's student studies the shared material as their own, and loses it the moment they leave.

Search and the tutor run over the teacher's processed chunks: nothing is
copied or queued for the student.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import django_rq
import pytest
from rest_framework.test import APIClient

from accounts.services import api_token_create
from courses.models import CourseMaterial, Membership
from courses.services import course_create, course_join, invite_create, member_remove, unit_create
from materials.models import Chunk
from tests.support.factories import UserFactory
from tests.support.processes import worker_queues

pytestmark = pytest.mark.django_db

ALGEBRA = [
    "A matrix is created with the function matrix. The dimensions of a matrix are given by dim.",
    "The function solve(a, b) solves the equation a %*% x = b for x. When b is missing, "
    "solve returns the inverse of the matrix a. It relies on an LU decomposition.",
    "The function eigen computes eigenvalues and eigenvectors. Symmetric matrices have real "
    "eigenvalues.",
]
QUESTION = "What does solve return when b is missing?"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user).key}")
    return client


@pytest.fixture
def course(indexed):
    teacher = UserFactory()
    material = indexed(teacher, ALGEBRA, title="Linear algebra")
    course = course_create(owner=teacher, title="Maths")
    unit = unit_create(course=course, title="Matrices")
    CourseMaterial.objects.create(unit=unit, material=material)
    student = UserFactory()
    course_join(user=student, code=invite_create(course=course, by=teacher).code)
    return course, material, teacher, student


def _queued() -> int:
    return sum(queue.count for queue in worker_queues())


def test_a_student_searches_and_opens_the_reader_at_the_cited_page(
    course, django_capture_on_commit_callbacks
):
    _, material, _, student = course
    api = _api(student)
    chunks_before = Chunk.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        found = api.get("/api/search/", {"q": "inverse of the matrix", "k": 3}).json()["results"]
        top = found[0]
        assert top["material"] == material.pk
        assert top["page"] == 2
        page = api.get("/tutor/search/", {"q": "inverse of the matrix"}).content.decode()
        link = f"/materials/{material.pk}/read/?page=2"
        assert link in page
        href = page[page.index(link) :].split('"')[0].replace("&amp;", "&")
        reader = api.get(href)

    assert reader.status_code == 200
    assert reader.context["page"] == 2
    quote = parse_qs(urlparse(href).query)["q"][0]
    assert reader.context["quote"] == quote  # the quoted sentence is really on that page
    # Nothing was made for the student: no job queued, no chunk copied.
    assert _queued() == 0
    assert Chunk.objects.count() == chunks_before


def test_the_tutor_answers_a_student_from_the_shared_material(course):
    _, material, _, student = course
    api = _api(student)

    conversation = api.post("/api/tutor/conversations/", {"material": material.pk}, format="json")
    assert conversation.status_code == 201
    answer = api.post(
        f"/api/tutor/conversations/{conversation.json()['id']}/messages/",
        {"content": QUESTION},
        format="json",
    ).json()

    assert [c["material"] for c in answer["citations"]][:1] == [material.pk]
    assert answer["citations"][0]["page"] == 2
    assert _queued() == 0


def test_a_removed_student_loses_search_and_tutor_at_once(course):
    course_obj, material, teacher, student = course
    api = _api(student)
    conversation = api.post("/api/tutor/conversations/", {"material": None}, format="json").json()
    before = api.get("/api/search/", {"q": "inverse of the matrix"}).json()["results"]
    assert before and before[0]["material"] == material.pk

    member_remove(membership=Membership.objects.get(user=student), by=teacher)

    assert api.get("/api/search/", {"q": "inverse of the matrix"}).json()["results"] == []
    assert api.get("/api/search/", {"q": "matrix", "material": material.pk}).status_code == 404
    page = api.get("/tutor/search/", {"q": "inverse of the matrix"}).content.decode()
    assert "Linear algebra" not in page
    answer = api.post(
        f"/api/tutor/conversations/{conversation['id']}/messages/",
        {"content": QUESTION},
        format="json",
    ).json()
    assert answer["citations"] == []
    assert "solve" not in answer["content"]
    again = api.post("/api/tutor/conversations/", {"material": material.pk}, format="json")
    assert again.status_code == 404
    assert api.get(f"/materials/{material.pk}/read/?page=2").status_code == 404
    assert api.get(f"/courses/{course_obj.pk}/").status_code == 404


def test_a_student_who_leaves_loses_the_shared_material_at_once(course):
    course_obj, material, _, student = course
    api = _api(student)
    assert api.get(f"/materials/{material.pk}/read/").status_code == 200

    api.post(f"/api/courses/{course_obj.pk}/leave/")

    assert api.get(f"/materials/{material.pk}/read/").status_code == 404
    assert api.get("/api/search/", {"q": "inverse of the matrix"}).json()["results"] == []


def test_an_old_citation_of_a_left_course_keeps_its_quote_without_a_link(course):
    course_obj, material, _, student = course
    api = _api(student)
    conversation = api.post("/api/tutor/conversations/", {"material": None}, format="json").json()
    api.post(
        f"/api/tutor/conversations/{conversation['id']}/messages/",
        {"content": QUESTION},
        format="json",
    )
    page = api.get(f"/tutor/{conversation['id']}/").content.decode()
    assert f"/materials/{material.pk}/read/" in page

    api.post(f"/api/courses/{course_obj.pk}/leave/")

    page = api.get(f"/tutor/{conversation['id']}/").content.decode()
    assert f"/materials/{material.pk}/read/" not in page


def test_queue_helper_sees_a_queued_job():
    """The no-job checks above can fail: a queued job is counted."""
    django_rq.get_queue("default", commit_mode="auto").enqueue("builtins.print", "x")
    assert _queued() == 1
