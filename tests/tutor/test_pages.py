"""The tutor's pages as a student uses them, without JavaScript too."""

import pytest

from accounts.models import User
from materials.models import Material
from tests.support.factories import UserFactory
from tutor.models import Conversation

pytestmark = pytest.mark.django_db

ALGEBRA = [
    "A matrix is created with the function matrix. The dimensions of a matrix are given by dim.",
    "The function solve(a, b) solves the equation a %*% x = b for x. When b is missing, "
    "solve returns the inverse of the matrix a.",
]


@pytest.fixture
def algebra(user, indexed):
    return indexed(user, ALGEBRA, title="Linear algebra")


def test_material_page_has_search_and_tutor_tabs(logged_in, algebra):
    page = logged_in.get(f"/materials/{algebra.pk}/").content.decode()
    assert f'href="/tutor/?material={algebra.pk}"' in page
    assert f'href="/tutor/search/?material={algebra.pk}"' in page
    assert 'id="status"' in page  # the existing partial is still there
    tab = logged_in.get("/tutor/search/", {"material": algebra.pk}).content.decode()
    assert 'action="/tutor/search/"' in tab and 'id="search-results"' in tab
    assert f'name="material" value="{algebra.pk}"' in tab


def test_a_boosted_tab_switch_gets_the_whole_search_page(logged_in, algebra):
    response = logged_in.get(
        "/tutor/search/",
        {"material": algebra.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_BOOSTED="true",
        HTTP_HX_TARGET="material-tabs",
    )
    body = response.content.decode()
    assert "<html" in body and 'id="material-tabs"' in body
    assert 'aria-current="page">Search</a>' in body


def test_materials_list_has_a_search_box_over_all_materials(logged_in, algebra):
    page = logged_in.get("/materials/").content.decode()
    assert 'action="/tutor/search/"' in page and 'href="/tutor/"' in page


def test_search_fragment_highlights_and_links_to_the_pdf_page(logged_in, algebra):
    response = logged_in.get(
        "/tutor/search/", {"q": "inverse matrix", "material": algebra.pk}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<html" not in body and 'id="search-results"' in body
    assert "<mark>inverse</mark>" in body
    assert f'href="/materials/{algebra.pk}/read/?page=2&amp;q=' in body


def test_search_page_works_without_javascript(logged_in, algebra):
    page = logged_in.get("/tutor/search/", {"q": "dimensions of a matrix"}).content.decode()
    assert "<html" in page and "<mark>dimensions</mark>" in page


def test_search_escapes_the_material_text(logged_in, user, indexed):
    indexed(user, ["The <script>alert(1)</script> tag runs scripts in a browser page."])
    page = logged_in.get("/tutor/search/", {"q": "browser page"}).content.decode()
    assert "<mark>browser</mark>" in page
    assert "<script>alert(1)" not in page


def test_search_in_another_users_material_is_404(client, algebra):
    client.force_login(UserFactory())
    assert client.get("/tutor/search/", {"q": "matrix", "material": algebra.pk}).status_code == 404


def test_video_result_opens_the_video_at_its_second(logged_in, user, indexed):
    indexed(
        user,
        ["Entropy never decreases in an isolated system."],
        kind="youtube",
        seconds=[65.5],
    )
    page = logged_in.get("/tutor/search/", {"q": "entropy isolated system"}).content.decode()
    lecture = Material.objects.get(owner=user, kind="youtube")
    assert f"/materials/{lecture.pk}/read/?t=65&amp;q=" in page


def test_ask_without_javascript_answers_and_links_each_citation(logged_in, user, algebra):
    logged_in.post("/tutor/new/", {"material": algebra.pk})
    conversation = Conversation.objects.get(owner=user)
    response = logged_in.post(
        f"/tutor/{conversation.pk}/ask/", {"content": "What does solve return when b is missing?"}
    )
    assert response.status_code == 302 and response.url.endswith("#latest")
    page = logged_in.get(f"/tutor/{conversation.pk}/").content.decode()
    assert "What does solve return when b is missing?" in page
    assert "Extractive answer" in page
    assert f'href="/materials/{algebra.pk}/read/?page=2&amp;q=When+b+is+missing' in page
    assert "<q>When b is missing, solve returns the inverse of the matrix a.</q>" in page
    assert 'data-stream-url="/tutor/' in page and "skeleton" in page


def test_video_citation_opens_the_video_at_the_second(logged_in, user, indexed):
    lecture = indexed(
        user,
        ["Entropy never decreases in an isolated system, said the lecturer."],
        kind="youtube",
        seconds=[125.9],
    )
    conversation = Conversation.objects.create(owner=user, material=lecture)
    logged_in.post(f"/tutor/{conversation.pk}/ask/", {"content": "Does entropy ever decrease?"})
    page = logged_in.get(f"/tutor/{conversation.pk}/").content.decode()
    assert f"/materials/{lecture.pk}/read/?t=125&amp;q=" in page


def test_empty_question_shows_the_form_error(logged_in, user):
    conversation = Conversation.objects.create(owner=user)
    response = logged_in.post(f"/tutor/{conversation.pk}/ask/", {"content": ""})
    assert response.status_code == 400 and "field-error" in response.content.decode()
    assert logged_in.post(f"/tutor/{conversation.pk}/stream/", {"content": ""}).status_code == 400


def test_another_users_conversation_is_404_everywhere(client, user):
    conversation = Conversation.objects.create(owner=user)
    client.force_login(UserFactory())
    assert client.get(f"/tutor/{conversation.pk}/").status_code == 404
    assert client.post(f"/tutor/{conversation.pk}/ask/", {"content": "hi"}).status_code == 404
    assert client.post(f"/tutor/{conversation.pk}/stream/", {"content": "hi"}).status_code == 404
    assert conversation.messages.count() == 0


def test_index_lists_own_conversations_and_filters_by_material(logged_in, user, algebra):
    Conversation.objects.create(owner=user, material=algebra, title="About solve")
    Conversation.objects.create(owner=user, title="Across everything")
    Conversation.objects.create(owner=UserFactory(), title="Someone else's")
    page = logged_in.get("/tutor/").content.decode()
    assert "About solve" in page and "Across everything" in page
    assert "Someone else" not in page
    page = logged_in.get("/tutor/", {"material": algebra.pk}).content.decode()
    assert "About solve" in page and "Across everything" not in page


def test_chat_page_lists_the_other_conversations_to_resume(logged_in, user):
    first = Conversation.objects.create(owner=user, title="Yesterday's questions")
    second = Conversation.objects.create(owner=user)
    page = logged_in.get(f"/tutor/{second.pk}/").content.decode()
    assert f'href="/tutor/{first.pk}/"' in page and "Yesterday&#x27;s questions" in page


def test_new_conversation_about_another_users_material_is_404(client, algebra):
    client.force_login(UserFactory())
    assert client.post("/tutor/new/", {"material": algebra.pk}).status_code == 404


def test_admin_lists_conversations_read_only_with_search(client, user):
    conversation = Conversation.objects.create(owner=user, title="Eigenvalues")
    conversation.messages.create(role="user", content="What are eigenvalues?")
    staff = User.objects.create_superuser(email="admin@example.org", password="x-unused-1")
    client.force_login(staff)
    page = client.get("/admin/tutor/conversation/", {"q": "eigenvalues"}).content.decode()
    assert "Eigenvalues" in page
    assert client.get("/admin/tutor/conversation/add/").status_code == 403
    assert client.get("/admin/tutor/message/", {"q": "eigenvalues"}).status_code == 200
    detail = client.get(f"/admin/tutor/conversation/{conversation.pk}/change/")
    assert detail.status_code == 200 and "What are eigenvalues?" in detail.content.decode()
