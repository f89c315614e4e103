"""Nobody is let in: every URL of the project, walked from the URL map, against a second user.

Student A owns one of everything (a processed PDF with its file and chunks,
summary, notes, a flashcard with a review, a quiz question, an attempt, a
report, a conversation with messages). Student B, signed in, must get 404 from
every object URL of A's, with every HTTP method the route accepts, and must not
see a single row of A's in any list or search. A gets the same URLs without a
404 (and sees its rows in the lists), so each check can fail.

A route that is in none of OBJECTS, LISTS and EXEMPT fails
`test_every_route_is_registered`: add an entry for a new endpoint here.
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
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_token_create
from tests.support.factories import MaterialFactory, UserFactory
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db

# Each marker is written into one of A's rows; none may show up in anything B gets.
MARKERS = {
    "material": "QzxMaterialTitle",
    "chunk": "qzxchunkword",
    "summary": "QzxSummaryText",
    "note": "QzxNoteHeading",
    "card": "QzxCardFront",
    "question": "QzxQuestionText",
    "conversation": "QzxConversationTitle",
    "message": "QzxMessageText",
}
SEARCH_WORD = "xylophonics"  # found in A's chunk; the marker itself is not searched for
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Probe:
    """One URL of A's, the methods to try on it, and the body sent with POST."""

    path: str
    methods: tuple[str, ...] = METHODS
    data: dict = field(default_factory=dict)


def _material(w: SimpleNamespace) -> int:
    return w.material.pk


# --- the registry -------------------------------------------------------------------
# url name -> the probes of A's objects through it (B: 404 or a 405 that A gets too).
OBJECTS: dict[str, Callable[[SimpleNamespace], list[Probe]]] = {
    # pages
    "materials:detail": lambda w: [Probe(f"/materials/{_material(w)}/")],
    "materials:reprocess": lambda w: [Probe(f"/materials/{_material(w)}/reprocess/")],
    "materials:delete": lambda w: [Probe(f"/materials/{_material(w)}/delete/")],
    "materials:subtitles": lambda w: [Probe(f"/materials/{_material(w)}/subtitles/")],
    "materials:file": lambda w: [Probe(f"/materials/{_material(w)}/file/")],
    "materials:report": lambda w: [Probe(f"/materials/{_material(w)}/report/")],
    "materials:text": lambda w: [Probe(f"/materials/{w.slides.pk}/text/")],
    "materials:notes": lambda w: [Probe(f"/materials/{_material(w)}/notes/")],
    "materials:study-retry": lambda w: [Probe(f"/materials/{_material(w)}/study/retry/")],
    "materials:flashcards": lambda w: [Probe(f"/materials/{_material(w)}/flashcards/")],
    "materials:flashcard-add": lambda w: [
        Probe(f"/materials/{_material(w)}/flashcards/add/", data={"front": "f", "back": "b"})
    ],
    "materials:quiz": lambda w: [Probe(f"/materials/{_material(w)}/quiz/")],
    "materials:export": lambda w: [
        Probe(f"/materials/{_material(w)}/export/{fmt}/") for fmt in ("anki", "csv", "markdown")
    ],
    "materials:review": lambda w: [Probe(f"/materials/review/?material={_material(w)}", ("GET",))],
    "materials:flashcard-edit": lambda w: [Probe(f"/materials/flashcards/{w.card.pk}/edit/")],
    "materials:flashcard-suspend": lambda w: [Probe(f"/materials/flashcards/{w.card.pk}/suspend/")],
    "materials:flashcard-delete": lambda w: [Probe(f"/materials/flashcards/{w.card.pk}/delete/")],
    "materials:flashcard-report": lambda w: [Probe(f"/materials/flashcards/{w.card.pk}/report/")],
    "materials:flashcard-review": lambda w: [
        Probe(f"/materials/flashcards/{w.card.pk}/review/", data={"rating": "3"})
    ],
    "materials:attempt": lambda w: [Probe(f"/materials/quiz/attempts/{w.attempt.pk}/")],
    "materials:question-card": lambda w: [
        Probe(f"/materials/questions/{w.question.pk}/flashcard/")
    ],
    "materials:question-report": lambda w: [Probe(f"/materials/questions/{w.question.pk}/report/")],
    "materials:question-edit": lambda w: [
        Probe(
            f"/materials/questions/{w.question.pk}/edit/",
            data={"question": "x", "choice-0": "a", "choice-1": "b", "correct": "0"},
        )
    ],
    "materials:question-hide": lambda w: [Probe(f"/materials/questions/{w.question.pk}/hide/")],
    "tutor:index": lambda w: [Probe(f"/tutor/?material={_material(w)}", ("GET",))],
    "tutor:create": lambda w: [Probe("/tutor/new/", ("POST",), {"material": _material(w)})],
    "search:search": lambda w: [
        Probe(f"/tutor/search/?q=energy&material={_material(w)}", ("GET",))
    ],
    "tutor:conversation": lambda w: [Probe(f"/tutor/{w.conversation.pk}/")],
    "tutor:missed": lambda w: [Probe(f"/tutor/messages/{w.answer.pk}/missed/")],
    "materials:read": lambda w: [Probe(f"/materials/{_material(w)}/read/?page=1&q=ATP")],
    "tutor:ask": lambda w: [Probe(f"/tutor/{w.conversation.pk}/ask/", data={"content": "ATP?"})],
    "tutor:stream": lambda w: [
        Probe(f"/tutor/{w.conversation.pk}/stream/", data={"content": "ATP?"})
    ],
    # API
    "material-detail": lambda w: [Probe(f"/api/materials/{_material(w)}/")],
    "material-reprocess": lambda w: [Probe(f"/api/materials/{_material(w)}/reprocess/")],
    "material-report": lambda w: [Probe(f"/api/materials/{_material(w)}/report/")],
    "search": lambda w: [Probe(f"/api/search/?q=energy&material={_material(w)}", ("GET",))],
    "study-summary": lambda w: [Probe(f"/api/materials/{_material(w)}/summary/")],
    "study-notes": lambda w: [Probe(f"/api/materials/{_material(w)}/notes/")],
    "study-regenerate": lambda w: [Probe(f"/api/materials/{_material(w)}/study/regenerate/")],
    "material-flashcards": lambda w: [
        Probe(f"/api/materials/{_material(w)}/flashcards/", data={"front": "f", "back": "b"})
    ],
    "quiz": lambda w: [Probe(f"/api/materials/{_material(w)}/quiz/")],
    "quiz-attempts": lambda w: [
        Probe(f"/api/materials/{_material(w)}/quiz/attempts/", data={"answers": {}})
    ],
    "study-export": lambda w: [
        Probe(f"/api/materials/{_material(w)}/export/{fmt}/") for fmt in ("anki", "csv", "markdown")
    ],
    "flashcard": lambda w: [Probe(f"/api/flashcards/{w.card.pk}/", data={"front": "x"})],
    "flashcard-review": lambda w: [
        Probe(f"/api/flashcards/{w.card.pk}/review/", data={"rating": 3})
    ],
    "flashcard-report": lambda w: [Probe(f"/api/flashcards/{w.card.pk}/report/")],
    "quiz-attempt": lambda w: [Probe(f"/api/quiz/attempts/{w.attempt.pk}/")],
    "question-flashcard": lambda w: [Probe(f"/api/quiz/questions/{w.question.pk}/flashcard/")],
    "question-report": lambda w: [Probe(f"/api/quiz/questions/{w.question.pk}/report/")],
    "question": lambda w: [Probe(f"/api/quiz/questions/{w.question.pk}/", data={"question": "x"})],
    "conversation-detail": lambda w: [Probe(f"/api/tutor/conversations/{w.conversation.pk}/")],
    "conversation-messages": lambda w: [
        Probe(f"/api/tutor/conversations/{w.conversation.pk}/messages/", data={"content": "ATP?"})
    ],
    "conversation-list": lambda w: [
        Probe("/api/tutor/conversations/", ("POST",), {"material": _material(w)})
    ],
    "conversation-missed": lambda w: [
        Probe(f"/api/tutor/conversations/{w.conversation.pk}/messages/{w.answer.pk}/missed/")
    ],
}

# url name -> (the list's URLs, the markers A must see there): B sees no marker at all.
LISTS: dict[str, tuple[list[str], list[str]]] = {
    "materials:list": (["/materials/"], ["material"]),
    "materials:review": (["/materials/review/"], ["card"]),
    "tutor:index": (["/tutor/"], ["conversation"]),
    "search:search": ([f"/tutor/search/?q={SEARCH_WORD}"], ["chunk"]),
    "material-list": (["/api/materials/"], ["material"]),
    "search": ([f"/api/search/?q={SEARCH_WORD}"], ["chunk"]),
    "flashcards-due": (["/api/flashcards/due/"], ["card"]),
    "conversation-list": (["/api/tutor/conversations/"], ["message"]),
}

# Routes with no student object behind them, each with the reason.
EXEMPT = {
    "home": "public landing page; a signed-in user is redirected to their own list",
    "healthz": "public health check: database, queue and worker status only",
    "auth-token": "login for the API (email + password): rate limited, no objects",
    "auth-token-rotate": "swaps the caller's own presented token (request.auth): no object id",
    "auth-logout": "revokes the caller's own presented token (request.auth): no object id",
    "auth-logoutall": "revokes the caller's own tokens (request.user): no object id",
    "schema": "the OpenAPI document: public description of the API, no data",
    "docs": "Swagger UI over the schema: no data",
    "api-root": "DRF's browsable index of the routes: no data",
    "materials:upload": "creates the caller's own material; takes no object id",
    "materials:youtube": "creates the caller's own material; takes no object id",
    "materials:study-settings": "the caller's own study settings (request.user): no object id",
    "study-settings": "the caller's own study settings (request.user): no object id",
    # A private edit is of a course's shared card only: its owner gets 404 by
    # design, so it is walked against outsiders, other courses' students and
    # removed students in tests/courses/test_private_edits.py.
    "materials:flashcard-private": "private edit: tests/courses/test_private_edits.py",
    "flashcard-private": "private edit: tests/courses/test_private_edits.py",
    # The course API, walked with the course pages in tests/courses/test_isolation.py.
    **{
        name: "course API: tests/courses/test_isolation.py"
        for name in (
            "course-list",
            "course-detail",
            "course-invites",
            "course-leave",
            "course-export",
            "course-memberships",
            "course-progress",
            "course-reports",
            "course-report-resolve",
            "course-units",
            "course-join",
            "unit-detail",
            "unit-materials",
            "course-material-detail",
            "membership-detail",
            "invite-detail",
            "invite-revoke",
        )
    },
}
EXEMPT_PREFIXES = {
    "admin/": "Django admin and django-rq: staff only (tests/test_admin_moderation.py)",
    "accounts/": "allauth sign-up, login, logout, password reset: public by design",
    "i18n/": "set_language: switches the interface language, no objects",
    # Walked against an outsider, another course's student and a removed
    # student (and the shared materials' routes too) in tests/courses/test_isolation.py.
    "courses/": "course pages: tests/courses/test_isolation.py",
}


def _routes(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern, route, inner)
        elif isinstance(pattern, URLPattern):
            yield route, f"{namespace}{pattern.name}" if pattern.name else None


def _exempt_prefix(route: str) -> str | None:
    plain = route.lstrip("^")
    return next((p for p in EXEMPT_PREFIXES if plain.startswith(p)), None)


def test_every_route_is_registered() -> None:
    """A new URL without an ownership entry (or a reason to be exempt) fails here."""
    unregistered = []
    walked = set()
    for route, name in _routes(get_resolver()):
        if _exempt_prefix(route):
            continue
        walked.add(name)
        if name is None or not (name in OBJECTS or name in LISTS or name in EXEMPT):
            unregistered.append((route, name))
    assert not unregistered, f"routes with no entry in tests/test_ownership.py: {unregistered}"
    stale = (set(OBJECTS) | set(LISTS) | set(EXEMPT)) - walked
    assert not stale, f"entries for routes that no longer exist: {stale}"


# --- the world ------------------------------------------------------------------------


def _build_world() -> SimpleNamespace:
    from eduplatform.embeddings import current_model_name, get_embedder
    from materials.models import (
        Chunk,
        ContentReport,
        Flashcard,
        NoteSection,
        QuizQuestion,
        ReviewLog,
        StudySet,
    )
    from materials.study.services import quiz_attempt_create
    from tutor.models import Conversation, Message

    alice, bob = UserFactory(), UserFactory()
    material = MaterialFactory(
        owner=alice, title=MARKERS["material"], status="ready", language="en", page_count=1
    )
    text = f"ATP is the energy currency of the cell. The {MARKERS['chunk']} marks {SEARCH_WORD}."
    material.original_filename = "alice.pdf"
    material.file.save("alice.pdf", ContentFile(make_pdf([text])))
    Chunk.objects.create(
        material=material,
        owner=alice,
        position=0,
        text=text,
        page_start=1,
        page_end=1,
        language="en",
        embedding=get_embedder().embed([text])[0],
        embedding_model=current_model_name(),
    )
    StudySet.objects.create(
        material=material, status="ready", generator="offline", summary=MARKERS["summary"]
    )
    NoteSection.objects.create(
        material=material,
        position=0,
        heading=MARKERS["note"],
        points=[{"text": "ATP is energy.", "page": 1}],
        pages=[1],
        generator="offline",
        page=1,
    )
    now = timezone.now()
    card = Flashcard.objects.create(
        owner=alice, material=material, front=MARKERS["card"], back="energy", due=now, page=1
    )
    ReviewLog.objects.create(card=card, rating=3, reviewed_at=now, due_after=now)
    question = QuizQuestion.objects.create(
        owner=alice,
        material=material,
        position=0,
        question=MARKERS["question"],
        choices=["ATP", "DNA"],
        answer_index=0,
        generator="offline",
        page=1,
    )
    attempt = quiz_attempt_create(
        owner=alice, material=material, questions=[question], answers={str(question.pk): 1}
    )
    ContentReport.objects.create(reporter=alice, flashcard=card, reason="wrong")
    conversation = Conversation.objects.create(
        owner=alice, material=material, title=MARKERS["conversation"]
    )
    Message.objects.create(conversation=conversation, role="user", content=MARKERS["message"])
    answer = Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="ATP [1]",
        citations=[{"material": material.pk, "chunk": 0, "page": 1, "quote": "ATP"}],
        generator="extractive",
    )
    # Slides, for the text view that only slides and handouts have.
    slides = MaterialFactory(owner=alice, kind="pptx", status="ready", page_count=1)
    # B has a material of their own, so their lists are not trivially empty.
    MaterialFactory(owner=bob, title="Bob's own notes", status="ready")
    return SimpleNamespace(
        alice=alice,
        bob=bob,
        material=material,
        slides=slides,
        card=card,
        question=question,
        attempt=attempt,
        conversation=conversation,
        answer=answer,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """Built once per module and committed; each test's own changes roll back."""
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("m")):
        built = _build_world()
        yield built
        built.alice.delete()
        built.bob.delete()


@pytest.fixture(autouse=True)
def no_rates(settings) -> None:
    """The walk asks each route many times a minute; rates are held by their own tests."""
    for name in ("SEARCH_PER_MINUTE", "EXPORT_PER_MINUTE", "MISSED_PER_MINUTE"):
        setattr(settings, name, 0)
    settings.STUDY_REVIEWS_PER_MINUTE = 0


@pytest.fixture(autouse=True)
def private_media() -> None:
    """The world's file lives in the module's own media folder (see `world`)."""


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user).key}")
    return client


def _send(client: APIClient, method: str, probe: Probe):
    """The request inside a savepoint that is rolled back: nothing it does stays."""
    is_api = probe.path.startswith("/api/")
    kwargs = {"format": "json"} if is_api else {}
    data = probe.data if method in ("POST", "PUT", "PATCH") else None
    with transaction.atomic():
        response = getattr(client, method.lower())(probe.path, data, **kwargs)
        transaction.set_rollback(True)
    return response


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_other_user_gets_404_from_every_object_url(world, name: str) -> None:
    alice, bob = _client(world.alice), _client(world.bob)
    for probe in OBJECTS[name](world):
        for method in probe.methods:
            as_b = _send(bob, method, probe).status_code
            as_a = _send(alice, method, probe).status_code
            assert as_b in (404, 405), f"{method} {probe.path}: B got {as_b}"
            if as_b == 405:
                assert as_a == 405, f"{method} {probe.path}: A got {as_a} where B got 405"
            else:
                assert as_a != 404, f"{method} {probe.path}: A got 404 too, the probe is wrong"


def _content(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.mark.parametrize("name", sorted(LISTS))
def test_lists_and_search_show_no_foreign_rows(world, name: str) -> None:
    paths, expected = LISTS[name]
    alice, bob = _client(world.alice), _client(world.bob)
    for path in paths:
        seen_by_a = _content(alice.get(path))
        for key in expected:
            assert MARKERS[key] in seen_by_a, f"{path}: A's own {key} is missing, probe is wrong"
        response = bob.get(path)
        assert response.status_code == 200
        seen_by_b = _content(response)
        leaked = [key for key, marker in MARKERS.items() if marker in seen_by_b]
        assert not leaked, f"{path}: B sees A's {leaked}"


def test_file_view_headers_for_the_owner(world) -> None:
    """The probe above reaches the file; here its owner gets it safely typed."""
    response = _client(world.alice).get(f"/materials/{world.material.pk}/file/")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
