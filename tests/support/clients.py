"""Test clients signed in as a user: a browser session, or an API token."""

from __future__ import annotations

from django.test import Client
from rest_framework.test import APIClient

from accounts.services import api_token_create


def signed_in(user, language: str = "en") -> Client:
    """A browser session of `user`, asking for pages in `language`."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def token_client(user) -> APIClient:
    """An integration's client: `user`'s API token, no session."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user).key}")
    return client
