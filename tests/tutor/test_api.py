"""The tutor API as the contract in DESIGN.md describes it, offline (no key)."""

import pytest

from tutor.models import Conversation

pytestmark = pytest.mark.django_db

ALGEBRA = [
    "A matrix is created with the function matrix. The dimensions of a matrix are given by dim.",
    "The function solve(a, b) solves the equation a %*% x = b for x. When b is missing, "
    "solve returns the inverse of the matrix a. It relies on an LU decomposition.",
    "The function eigen computes eigenvalues and eigenvectors. Symmetric matrices have real "
    "eigenvalues.",
]


@pytest.fixture
def algebra(user, indexed):
    return indexed(user, ALGEBRA, title="Linear algebra")


def start(api, material=None) -> int:
    response = api.post("/api/tutor/conversations/", {"material": material}, format="json")
    assert response.status_code == 201
    return response.json()["id"]


def ask(api, conversation: int, content: str):
    return api.post(
        f"/api/tutor/conversations/{conversation}/messages/", {"content": content}, format="json"
    )


def test_new_conversation_has_the_contract_shape(api, algebra):
    response = api.post("/api/tutor/conversations/", {"material": algebra.pk}, format="json")
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "material": algebra.pk, "messages": []}


def test_conversation_about_all_materials_has_no_material(api):
    response = api.post("/api/tutor/conversations/", {"material": None}, format="json")
    assert response.status_code == 201 and response.json()["material"] is None


def test_conversation_about_another_users_material_is_404(other_api, algebra):
    response = other_api.post("/api/tutor/conversations/", {"material": algebra.pk}, format="json")
    assert response.status_code == 404
    assert not Conversation.objects.exists()


def test_another_users_conversation_is_404(api, other_api, algebra):
    conversation = start(api, algebra.pk)
    assert other_api.get(f"/api/tutor/conversations/{conversation}/").status_code == 404
    assert ask(other_api, conversation, "What does solve do?").status_code == 404


def test_list_shows_only_own_conversations(api, other_api, algebra):
    mine = start(api, algebra.pk)
    start(other_api)
    body = api.get("/api/tutor/conversations/").json()
    assert body["count"] == 1 and body["results"][0]["id"] == mine


def test_offline_answer_is_extractive_labelled_and_cites_the_page(api, algebra):
    conversation = start(api, algebra.pk)
    response = ask(api, conversation, "What does solve return when b is missing?")
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "assistant"
    assert body["content"].startswith("Extractive answer")
    first = body["citations"][0]
    assert first["material"] == algebra.pk and first["page"] == 2
    assert first["start_seconds"] is None
    # The quote is the cited sentence, not the whole passage.
    assert first["quote"] == "When b is missing, solve returns the inverse of the matrix a."
    assert "[1]" in body["content"]


def test_history_is_kept_and_resumable(api, algebra):
    conversation = start(api, algebra.pk)
    ask(api, conversation, "What does solve return when b is missing?")
    ask(api, conversation, "What does eigen compute?")
    messages = api.get(f"/api/tutor/conversations/{conversation}/").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[2]["content"] == "What does eigen compute?"
    assert messages[3]["citations"][0]["page"] == 3


def test_question_the_material_does_not_answer_is_declined(api, algebra):
    conversation = start(api, algebra.pk)
    body = ask(api, conversation, "How do I bake sourdough bread?").json()
    assert body["citations"] == []
    assert "could not find this in your material" in body["content"]


def test_conversation_about_one_material_ignores_the_others(api, user, indexed, algebra):
    biology = indexed(user, ["The Krebs cycle takes place in the mitochondrial matrix."])
    conversation = start(api, algebra.pk)
    body = ask(api, conversation, "Where does the Krebs cycle take place?").json()
    assert all(c["material"] != biology.pk for c in body["citations"])
    general = start(api)
    body = ask(api, general, "Where does the Krebs cycle take place?").json()
    assert body["citations"][0]["material"] == biology.pk


def test_empty_question_is_400(api, algebra):
    conversation = start(api, algebra.pk)
    assert ask(api, conversation, "   ").status_code == 400
