import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_signup_with_email_and_password_logs_the_student_in(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "Anna@Example.org",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(email="anna@example.org").exists()
    assert client.get(reverse("materials:list")).status_code == 200


def test_login_and_logout(client, user):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert client.get(reverse("materials:list")).status_code == 200
    client.post(reverse("account_logout"))
    assert client.get(reverse("materials:list")).status_code == 302


def test_wrong_password_is_refused_with_a_message(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": "nope"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_pages_speak_russian_after_switching_language(client):
    client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert "Войти" in page


def test_login_page_in_russian_from_accept_language(client):
    page = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'lang="ru"' in page
    assert "Войти" in page


def test_createsuperuser_makes_a_staff_user_with_email_login(db):
    from django.core.management import call_command

    call_command("createsuperuser", email="admin@example.org", interactive=False, verbosity=0)
    admin = User.objects.get(email="admin@example.org")
    assert admin.is_superuser and admin.is_staff


def test_user_manager_requires_an_email(db):
    with pytest.raises(ValueError):
        User.objects.create_user(email="", password="x")


def test_token_endpoint_returns_a_token_for_right_credentials(client, user):
    response = client.post(
        "/api/auth/token/",
        {"email": user.email, "password": "correct horse battery"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_token_endpoint_refuses_wrong_credentials(client, user):
    response = client.post(
        "/api/auth/token/",
        {"email": user.email, "password": "wrong"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["non_field_errors"]


def test_admin_lists_users_with_search(client, user):
    admin = User.objects.create_superuser(email="root@example.org", password="pw-root-123")
    client.force_login(admin)
    response = client.get(reverse("admin:accounts_user_changelist"), {"q": user.email})
    assert response.status_code == 200
    assert user.email in response.content.decode()
