"""schemathesis over our OpenAPI schema, in-process against the Django WSGI app.

Every operation is fuzzed as its owner (no 5xx, every documented response
matches the schema), then each generated request is sent again at the owner's
real objects: as the owner (schema checks on real data), as another user
(object endpoints must answer 404) and without credentials (401/403).
`make test` runs 3 generated examples per operation; `make fuzz` runs
FUZZ_EXAMPLES (default 100) per operation plus schemathesis' coverage phase
(boundary values, wrong types, unexpected methods). No stateful run: the
schema has no OpenAPI links, so the real-object replay above stands in for it.
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import User
from accounts.services import api_token_create
from courses.services import (
    course_create,
    course_join,
    course_material_add,
    invite_create,
    unit_create,
)
from materials.models import QuizQuestion
from materials.study.services import flashcard_create, quiz_attempt_create
from tests.support.lectures import BIOLOGY
from tutor.services import conversation_create

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
# `make test` skips the coverage phase (boundary values, unexpected methods); `make fuzz` runs it.
PHASES = [Phase.explicit, Phase.generate] if os.environ.get("FUZZ_EXAMPLES") else [Phase.generate]
# Which of the owner's objects a path's {id} names.
OBJECT_OF = [
    (re.compile(r"^/api/materials/\{id\}"), "material"),
    (re.compile(r"^/api/flashcards/\{id\}"), "flashcard"),
    (re.compile(r"^/api/quiz/attempts/\{id\}"), "attempt"),
    (re.compile(r"^/api/quiz/questions/\{id\}"), "question"),
    (re.compile(r"^/api/tutor/conversations/\{id\}"), "conversation"),
    (re.compile(r"^/api/courses/\{id\}"), "course"),
    (re.compile(r"^/api/units/\{id\}"), "unit"),
    (re.compile(r"^/api/course-materials/\{id\}"), "course_material"),
    (re.compile(r"^/api/memberships/\{id\}"), "membership"),
    (re.compile(r"^/api/invites/\{id\}"), "invite"),
]
PUBLIC = {"/api/auth/token/"}
CHECKS = [not_a_server_error, response_schema_conformance]


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_schema())
schema.app = get_wsgi_application()


@pytest.fixture
def in_test_transaction():
    """Let requests run in the test's transaction (as Django's test client does)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, indexed, in_test_transaction) -> dict:
    """One owner with a ready material, its study content, an attempt and a conversation."""
    # No passwords: hashing two per operation would cost more than the fuzzing.
    user = User.objects.create(email="owner@example.org")
    other_user = User.objects.create(email="other@example.org")
    material = indexed(user, [page * 2 for page in BIOLOGY], title="Biology")
    card = flashcard_create(owner=user, material=material, front="ATP?", back="Energy")
    question = QuizQuestion.objects.create(
        owner=user,
        material=material,
        question="Where does glycolysis happen?",
        choices=["cytoplasm", "nucleus", "stroma", "matrix"],
        answer_index=0,
        generator="test",
        position=0,
    )
    attempt = quiz_attempt_create(
        owner=user, material=material, questions=[question], answers={question.pk: 0}
    )
    # A course of the owner's, with the material in a unit, an invite and a student.
    course = course_create(owner=user, title="Biology")
    unit = unit_create(course=course, title="Cells")
    entry = course_material_add(unit=unit, material=material, by=user)
    invite = invite_create(course=course, by=user)
    student = User.objects.create(email="student@example.org")
    membership = course_join(user=student, code=invite.code)
    return {
        "ids": {
            "material": material.pk,
            "flashcard": card.pk,
            "attempt": attempt.pk,
            "question": question.pk,
            "conversation": conversation_create(owner=user, material=material).pk,
            "course": course.pk,
            "unit": unit.pk,
            "course_material": entry.pk,
            "membership": membership.pk,
            "invite": invite.pk,
        },
        "owner": {"Authorization": f"Token {api_token_create(user=user).key}"},
        "other": {"Authorization": f"Token {api_token_create(user=other_user).key}"},
    }


def _object_kind(path: str) -> str | None:
    return next((kind for pattern, kind in OBJECT_OF if pattern.match(path)), None)


def _headers(case, auth: dict[str, str] | None) -> dict[str, str]:
    """The case's own headers with our credentials in place of any generated ones."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    return headers | (auth or {})


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=PHASES,
    suppress_health_check=list(HealthCheck),
    derandomize=not os.environ.get("FUZZ_RANDOM"),
)
def test_api_operation(case, world):
    path = case.operation.path
    case.headers = _headers(case, world["owner"])
    if case.method.upper() != case.operation.method.upper():
        # The coverage phase also tries methods the path does not allow.
        allowed = (200, 401, 403, 404, 405) if case.method.upper() == "OPTIONS" else (401, 403, 405)
        assert case.call().status_code in allowed, (case.method, path)
        return
    case.call_and_validate(checks=CHECKS)

    kind = _object_kind(path)
    if kind:
        case.path_parameters = {**case.path_parameters, "id": world["ids"][kind]}
    if path not in PUBLIC:
        case.headers = _headers(case, None)
        anonymous = case.call()
        assert anonymous.status_code in (401, 403), (path, anonymous.status_code)
    if kind:
        case.headers = _headers(case, world["other"])
        foreign = case.call()
        assert foreign.status_code == 404, (
            case.method,
            path,
            foreign.status_code,
            foreign.text,
            foreign.request.headers,
            case.cookies,
        )
        case.headers = _headers(case, world["owner"])
        case.call_and_validate(checks=CHECKS)
