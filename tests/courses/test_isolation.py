"""Nobody outside a course gets in: every course route with an id, walked against three roles.

A teacher owns a course with a unit, a shared PDF and slides (with chunks), an
invite and a student. An outsider, a student of another course and a student
the teacher removed must each get 404 from every course URL and API route that
takes an id, and from the reader, file, text, search and tutor routes of the
shared materials; and none of the course's rows may show in anything they get.
The teacher gets every probe without a 404 (so each probe can fail), and the
current student gets the read probes.

A course route with an id that is not probed here fails
`test_every_course_route_with_an_id_is_walked`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.services import api_token_create
from courses.models import CourseMaterial, Membership
from courses.services import (
    course_create,
    course_join,
    invite_create,
    member_remove,
    unit_create,
)
from materials.study.services import content_report_create, flashcard_create
from tests.support.factories import MaterialFactory, UserFactory
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db

MARKERS = {
    "course": "QzxCourseTitle",
    "unit": "QzxUnitTitle",
    "material": "QzxSharedTitle",
    "slides": "QzxSlidesTitle",
    "chunk": "qzxsharedchunk",
}
SEARCH_WORD = "xylophonics"
ROLES = ("outsider", "other_student", "removed")


@dataclass(frozen=True)
class Probe:
    path: str
    methods: tuple[str, ...]
    data: dict = field(default_factory=dict)
    # The course's current student reaches it too (reads); else teachers only.
    for_students: bool = False


def _read(path: str) -> Probe:
    return Probe(path, ("GET",), for_students=True)


# url name -> the probes of the course's objects through it.
PROBES: dict[str, Callable[[SimpleNamespace], list[Probe]]] = {
    # pages
    "courses:detail": lambda w: [_read(f"/courses/{w.course.pk}/")],
    "courses:edit": lambda w: [Probe(f"/courses/{w.course.pk}/edit/", ("POST",), {"title": "x"})],
    "courses:leave": lambda w: [
        Probe(f"/courses/{w.course.pk}/leave/", ("POST",), for_students=True)
    ],
    "courses:unit-add": lambda w: [
        Probe(f"/courses/{w.course.pk}/units/", ("POST",), {"title": "x"})
    ],
    "courses:entry-add": lambda w: [
        Probe(
            f"/courses/{w.course.pk}/materials/",
            ("POST",),
            {"unit": w.unit.pk, "material": w.spare.pk},
        )
    ],
    "courses:invite-add": lambda w: [Probe(f"/courses/{w.course.pk}/invites/", ("POST",))],
    "courses:export": lambda w: [
        Probe(f"/courses/{w.course.pk}/export/{fmt}/", ("GET",)) for fmt in ("moodle-xml", "gift")
    ],
    "courses:progress": lambda w: [Probe(f"/courses/{w.course.pk}/progress/", ("GET",))],
    "courses:progress-csv": lambda w: [Probe(f"/courses/{w.course.pk}/progress.csv", ("GET",))],
    "courses:anki": lambda w: [_read(f"/courses/{w.course.pk}/anki/")],
    "courses:unit-delete": lambda w: [Probe(f"/courses/units/{w.unit.pk}/delete/", ("POST",))],
    "courses:entry-remove": lambda w: [Probe(f"/courses/entries/{w.entry.pk}/remove/", ("POST",))],
    "courses:invite-revoke": lambda w: [
        Probe(f"/courses/invites/{w.invite.pk}/revoke/", ("POST",))
    ],
    "courses:member-remove": lambda w: [
        Probe(f"/courses/members/{w.membership.pk}/remove/", ("POST",))
    ],
    # API
    "course-detail": lambda w: [
        _read(f"/api/courses/{w.course.pk}/"),
        Probe(f"/api/courses/{w.course.pk}/", ("PATCH", "DELETE"), {"title": "x"}),
    ],
    "course-leave": lambda w: [
        Probe(f"/api/courses/{w.course.pk}/leave/", ("POST",), for_students=True)
    ],
    "course-units": lambda w: [
        _read(f"/api/courses/{w.course.pk}/units/"),
        Probe(f"/api/courses/{w.course.pk}/units/", ("POST",), {"title": "x"}),
    ],
    "course-memberships": lambda w: [Probe(f"/api/courses/{w.course.pk}/memberships/", ("GET",))],
    "course-invites": lambda w: [Probe(f"/api/courses/{w.course.pk}/invites/", ("GET", "POST"))],
    "course-export": lambda w: [
        Probe(f"/api/courses/{w.course.pk}/export/{fmt}/", ("GET",))
        for fmt in ("moodle-xml", "gift")
    ],
    "course-progress": lambda w: [Probe(f"/api/courses/{w.course.pk}/progress/", ("GET",))],
    "unit-detail": lambda w: [
        _read(f"/api/units/{w.unit.pk}/"),
        Probe(f"/api/units/{w.unit.pk}/", ("DELETE",)),
    ],
    "unit-materials": lambda w: [
        Probe(f"/api/units/{w.unit.pk}/materials/", ("POST",), {"material": w.spare.pk})
    ],
    "course-material-detail": lambda w: [
        Probe(f"/api/course-materials/{w.entry.pk}/", ("DELETE",))
    ],
    "membership-detail": lambda w: [
        Probe(f"/api/memberships/{w.membership.pk}/", ("GET", "DELETE")),
        Probe(f"/api/memberships/{w.membership.pk}/", ("PATCH",), {"role": "teacher"}),
    ],
    "invite-detail": lambda w: [Probe(f"/api/invites/{w.invite.pk}/", ("GET",))],
    "invite-revoke": lambda w: [Probe(f"/api/invites/{w.invite.pk}/revoke/", ("POST",))],
    # Students' reports reach the course's teachers only.
    "courses:reports": lambda w: [Probe(f"/courses/{w.course.pk}/reports/", ("GET",))],
    "courses:report-resolve": lambda w: [
        Probe(f"/courses/reports/{w.report.pk}/resolve/", ("POST",))
    ],
    "course-reports": lambda w: [Probe(f"/api/courses/{w.course.pk}/reports/", ("GET",))],
    "course-report-resolve": lambda w: [
        Probe(f"/api/courses/{w.course.pk}/reports/{w.report.pk}/resolve/", ("POST",))
    ],
}
# The shared materials, through the routes a student reads them by.
MATERIAL_PROBES: dict[str, Callable[[SimpleNamespace], list[Probe]]] = {
    "materials:read": lambda w: [_read(f"/materials/{w.material.pk}/read/?page=1&q=ATP")],
    "materials:file": lambda w: [_read(f"/materials/{w.material.pk}/file/")],
    "materials:text": lambda w: [_read(f"/materials/{w.slides.pk}/text/")],
    # Summary, notes, flashcards, quiz and the filtered review, pages and API.
    "materials:detail": lambda w: [_read(f"/materials/{w.material.pk}/")],
    "materials:notes": lambda w: [_read(f"/materials/{w.material.pk}/notes/")],
    "materials:flashcards": lambda w: [_read(f"/materials/{w.material.pk}/flashcards/")],
    "materials:quiz": lambda w: [_read(f"/materials/{w.material.pk}/quiz/")],
    "materials:review": lambda w: [_read(f"/materials/review/?material={w.material.pk}")],
    "study-summary": lambda w: [_read(f"/api/materials/{w.material.pk}/summary/")],
    "study-notes": lambda w: [_read(f"/api/materials/{w.material.pk}/notes/")],
    "material-flashcards": lambda w: [_read(f"/api/materials/{w.material.pk}/flashcards/")],
    "quiz": lambda w: [_read(f"/api/materials/{w.material.pk}/quiz/")],
    "quiz-attempts": lambda w: [_read(f"/api/materials/{w.material.pk}/quiz/attempts/")],
    "flashcards-due": lambda w: [_read(f"/api/flashcards/due/?material={w.material.pk}")],
    # A shared card: reviewed and reported by the course's students (the
    # private edit is walked in tests/courses/test_private_edits.py: its
    # owner, the teacher, gets 404 there by design).
    "materials:flashcard-review": lambda w: [
        Probe(f"/materials/flashcards/{w.card.pk}/review/", ("POST",), {"rating": "3"}, True)
    ],
    "materials:flashcard-report": lambda w: [
        Probe(f"/materials/flashcards/{w.card.pk}/report/", ("POST",), {"reason": "x"}, True)
    ],
    "flashcard-review": lambda w: [
        Probe(f"/api/flashcards/{w.card.pk}/review/", ("POST",), {"rating": 3}, True)
    ],
    "materials:report": lambda w: [
        Probe(f"/materials/{w.material.pk}/report/", ("POST",), {"reason": "x"}, True)
    ],
    "material-report": lambda w: [
        Probe(f"/api/materials/{w.material.pk}/report/", ("POST",), {"reason": "x"}, True)
    ],
    "flashcard-report": lambda w: [
        Probe(f"/api/flashcards/{w.card.pk}/report/", ("POST",), {"reason": "x"}, True)
    ],
    # A student downloads the shared cards as they study them; the notes stay the owner's.
    "materials:export": lambda w: [
        *(_read(f"/materials/{w.material.pk}/export/{fmt}/") for fmt in ("csv", "anki")),
        Probe(f"/materials/{w.material.pk}/export/markdown/", ("GET",)),
    ],
    "study-export": lambda w: [
        *(_read(f"/api/materials/{w.material.pk}/export/{fmt}/") for fmt in ("csv", "anki")),
        Probe(f"/api/materials/{w.material.pk}/export/markdown/", ("GET",)),
    ],
    # The shared quiz's questions: edited and hidden by the material's owner only.
    "materials:question-edit": lambda w: [
        Probe(
            f"/materials/questions/{w.question.pk}/edit/",
            ("GET", "POST"),
            {"question": "x", "choice-0": "a", "choice-1": "b", "correct": "0"},
        )
    ],
    "materials:question-hide": lambda w: [
        Probe(f"/materials/questions/{w.question.pk}/hide/", ("POST",))
    ],
    "question": lambda w: [
        Probe(f"/api/quiz/questions/{w.question.pk}/", ("GET", "PATCH"), {"question": "x"})
    ],
    "search:search": lambda w: [_read(f"/tutor/search/?q=energy&material={w.material.pk}")],
    "search": lambda w: [_read(f"/api/search/?q=energy&material={w.material.pk}")],
    "tutor:index": lambda w: [_read(f"/tutor/?material={w.material.pk}")],
    "tutor:create": lambda w: [
        Probe("/tutor/new/", ("POST",), {"material": w.material.pk}, for_students=True)
    ],
    "conversation-list": lambda w: [
        Probe(
            "/api/tutor/conversations/", ("POST",), {"material": w.material.pk}, for_students=True
        )
    ],
}
# Lists and searches: the course's rows show for its student, never for the three roles.
LISTS = {
    "/courses/": ["course"],
    "/api/courses/": ["course"],
    f"/tutor/search/?q={SEARCH_WORD}": ["chunk"],
    f"/api/search/?q={SEARCH_WORD}": ["chunk"],
}
# Course routes that take no id of the course's objects, with the reason.
NO_ID = {
    "courses:list": "the user's own courses: walked in LISTS",
    "courses:create": "creates the caller's own course",
    "courses:join": "joins by a code in the body: tests/courses/test_pages.py",
    "courses:join-link": "an invite link: whoever holds the code may see the title and join",
    "course-list": "the user's own courses (and create): walked in LISTS",
    "course-join": "joins by a code in the body: tests/courses/test_api.py",
}
COURSE_API_PREFIXES = ("course", "unit", "membership", "invite")


def _build_world() -> SimpleNamespace:
    from eduplatform.embeddings import current_model_name, get_embedder
    from materials.models import Chunk, QuizQuestion

    teacher, student, removed = UserFactory(), UserFactory(), UserFactory()
    outsider, other_teacher, other_student = UserFactory(), UserFactory(), UserFactory()
    course = course_create(owner=teacher, title=MARKERS["course"])
    unit = unit_create(course=course, title=MARKERS["unit"])
    material = MaterialFactory(
        owner=teacher, title=MARKERS["material"], status="ready", language="en", page_count=1
    )
    text = f"ATP is the energy currency of the cell. The {MARKERS['chunk']} marks {SEARCH_WORD}."
    material.original_filename = "shared.pdf"
    material.file.save("shared.pdf", ContentFile(make_pdf([text])))
    slides = MaterialFactory(
        owner=teacher, title=MARKERS["slides"], kind="pptx", status="ready", page_count=1
    )
    for shared in (material, slides):
        Chunk.objects.create(
            material=shared,
            owner=teacher,
            position=0,
            text=text,
            page_start=1,
            page_end=1,
            language="en",
            embedding=get_embedder().embed([text])[0],
            embedding_model=current_model_name(),
        )
    entry = CourseMaterial.objects.create(unit=unit, material=material, position=1)
    CourseMaterial.objects.create(unit=unit, material=slides, position=2)
    spare = MaterialFactory(owner=teacher, title="Spare", status="ready")
    invite = invite_create(course=course, by=teacher)
    membership = course_join(user=student, code=invite.code)
    member_remove(membership=course_join(user=removed, code=invite.code), by=teacher)
    # A student of another course, which has material of its own.
    other = course_create(owner=other_teacher, title="Another course")
    other_unit = unit_create(course=other, title="Their unit")
    CourseMaterial.objects.create(
        unit=other_unit, material=MaterialFactory(owner=other_teacher, title="Theirs")
    )
    course_join(user=other_student, code=invite_create(course=other, by=other_teacher).code)
    card = flashcard_create(owner=teacher, material=material, front="ATP?", back="Energy")
    question = QuizQuestion.objects.create(
        owner=teacher,
        material=material,
        position=0,
        question="Energy?",
        choices=["ATP", "DNA"],
        answer_index=0,
        generator="offline",
    )
    report = content_report_create(reporter=student, flashcard=card, reason="Wrong")
    return SimpleNamespace(
        card=card,
        question=question,
        report=report,
        teacher=teacher,
        student=student,
        outsider=outsider,
        other_student=other_student,
        removed=removed,
        other_teacher=other_teacher,
        course=course,
        unit=unit,
        material=material,
        slides=slides,
        spare=spare,
        entry=entry,
        invite=invite,
        membership=membership,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """Built once per module and committed; each request's own changes roll back."""
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("m")):
        built = _build_world()
        yield built
        for user in (
            built.teacher,
            built.student,
            built.outsider,
            built.other_student,
            built.removed,
            built.other_teacher,
        ):
            user.delete()


@pytest.fixture(autouse=True)
def private_media() -> None:
    """The world's file lives in the module's own media folder (see `world`)."""


@pytest.fixture(autouse=True)
def no_rates(settings) -> None:
    settings.SEARCH_PER_MINUTE = 0
    settings.EXPORT_PER_MINUTE = 0


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user).key}")
    return client


def _send(client: APIClient, method: str, probe: Probe):
    """The request inside a savepoint that is rolled back: nothing it does stays."""
    kwargs = {"format": "json"} if probe.path.startswith("/api/") else {}
    data = probe.data if method in ("POST", "PUT", "PATCH") else None
    with transaction.atomic():
        response = getattr(client, method.lower())(probe.path, data, **kwargs)
        transaction.set_rollback(True)
    return response


def _content(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _leaks(response) -> list[str]:
    seen = _content(response)
    return [key for key, marker in MARKERS.items() if marker in seen]


def _routes(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern, route, inner)
        elif isinstance(pattern, URLPattern):
            yield route, f"{namespace}{pattern.name}" if pattern.name else None


def test_every_course_route_with_an_id_is_walked() -> None:
    course_routes = {
        name
        for route, name in _routes(get_resolver())
        if name
        and (
            name.startswith("courses:")
            or (route.startswith("api/") and name.split("-")[0] in COURSE_API_PREFIXES)
        )
    }
    assert course_routes - set(PROBES) - set(NO_ID) == set()
    assert set(PROBES) | set(NO_ID) <= course_routes


@pytest.mark.parametrize("name", sorted(PROBES) + sorted(MATERIAL_PROBES))
def test_outsiders_other_students_and_removed_students_get_404(world, name: str) -> None:
    probes = (PROBES.get(name) or MATERIAL_PROBES[name])(world)
    teacher, student = _client(world.teacher), _client(world.student)
    for probe in probes:
        for method in probe.methods:
            for role in ROLES:
                response = _send(_client(getattr(world, role)), method, probe)
                assert response.status_code == 404, f"{method} {probe.path}: {role} got it"
                assert not _leaks(response), (
                    f"{method} {probe.path}: {role} sees {_leaks(response)}"
                )
            as_teacher = _send(teacher, method, probe).status_code
            assert as_teacher != 404, f"{method} {probe.path}: the teacher got 404, probe is wrong"
            as_student = _send(student, method, probe).status_code
            if probe.for_students:
                assert as_student != 404, f"{method} {probe.path}: the student got 404"
            else:
                assert as_student == 404, f"{method} {probe.path}: a student got {as_student}"


@pytest.mark.parametrize("path", sorted(LISTS))
def test_lists_and_search_show_the_course_to_its_students_only(world, path: str) -> None:
    seen = _content(_client(world.student).get(path))
    for key in LISTS[path]:
        assert MARKERS[key] in seen, f"{path}: the student misses the course's {key}"
    for role in ROLES:
        response = _client(getattr(world, role)).get(path)
        assert response.status_code == 200
        assert not _leaks(response), f"{path}: {role} sees {_leaks(response)}"


def test_the_student_cannot_change_or_reprocess_the_shared_material(world) -> None:
    """Reading is shared (the summary page too); the material's own routes stay its owner's."""
    student = _client(world.student)
    pk = world.material.pk
    assert _send(student, "GET", Probe(f"/materials/{pk}/", ("GET",))).status_code == 200
    for method, path in (
        ("POST", f"/materials/{pk}/reprocess/"),
        ("POST", f"/materials/{pk}/delete/"),
        ("GET", f"/api/materials/{pk}/"),
        ("DELETE", f"/api/materials/{pk}/"),
        ("POST", f"/api/materials/{pk}/reprocess/"),
        ("POST", f"/api/materials/{pk}/study/regenerate/"),
    ):
        response = _send(student, method, Probe(path, (method,)))
        assert response.status_code == 404, (method, path)
    assert Membership.objects.filter(user=world.student, removed_at__isnull=True).exists()
