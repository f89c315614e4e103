"""Locust users for `make load`: students reading pages and the API.

bench/load.py seeds the accounts and passes them in LOAD_ACCOUNTS (a JSON
file: session cookie, API token and material ids per student). Every request
is named by its kind ("page: …", "api: …" or "stream: …"), and each response time is kept
so load.py can report p95 per kind from the raw samples (LOAD_SAMPLES).
"""

from __future__ import annotations

import json
import os
import random
import secrets

from locust import HttpUser, between, events, task

ACCOUNTS = json.loads(open(os.environ["LOAD_ACCOUNTS"]).read())
QUERIES = ["photosynthesis", "mitochondria energy", "cell division", "chlorophyll light"]
SAMPLES: list[tuple[str, float, bool]] = []


@events.request.add_listener
def _keep(name: str, response_time: float, exception: object, **kwargs: object) -> None:
    SAMPLES.append((name, response_time, exception is not None))


@events.quitting.add_listener
def _write(environment: object, **kwargs: object) -> None:
    with open(os.environ["LOAD_SAMPLES"], "w") as out:
        json.dump(SAMPLES, out)


class Student(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.account = random.choice(ACCOUNTS)
        self.client.cookies.set("sessionid", self.account["session"])
        self.api = {"Authorization": f"Token {self.account['token']}"}

    def material(self) -> int:
        return random.choice(self.account["materials"])

    def page(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as response:
            # A page that bounced to the login form would be a silent failure.
            if response.status_code != 200 or "/accounts/login/" in response.url:
                response.failure(f"{response.status_code} at {response.url}")

    @task(3)
    def materials_page(self) -> None:
        self.page("/materials/", "page: materials list")

    @task(3)
    def material_page(self) -> None:
        self.page(f"/materials/{self.material()}/", "page: material")

    @task(2)
    def flashcards_page(self) -> None:
        self.page(f"/materials/{self.material()}/flashcards/", "page: flashcards")

    @task(2)
    def quiz_page(self) -> None:
        self.page(f"/materials/{self.material()}/quiz/", "page: quiz")

    @task(3)
    def api_materials(self) -> None:
        self.client.get("/api/materials/", headers=self.api, name="api: materials list")

    @task(3)
    def api_material(self) -> None:
        self.client.get(
            f"/api/materials/{self.material()}/", headers=self.api, name="api: material"
        )

    @task(2)
    def api_search(self) -> None:
        self.client.get(
            "/api/search/",
            params={"q": random.choice(QUERIES), "material": self.material()},
            headers=self.api,
            name="api: search",
        )


class Tutee(HttpUser):
    """A student asking the tutor and reading the answer as it streams."""

    wait_time = between(1, 2)

    def on_start(self) -> None:
        self.account = random.choice(ACCOUNTS)
        self.client.cookies.set("sessionid", self.account["session"])
        self.csrf = secrets.token_hex(16)  # Django accepts an unmasked 32-character secret
        self.client.cookies.set("csrftoken", self.csrf)

    @task
    def ask(self) -> None:
        with self.client.post(
            f"/tutor/{self.account['conversation']}/stream/",
            data={"content": "Which pigment absorbs light?"},
            headers={"X-CSRFToken": self.csrf, "Referer": self.host + "/"},
            name="stream: tutor answer",
            catch_response=True,
            timeout=60,
        ) as response:
            if response.status_code != 200 or b"event: done" not in response.content:
                response.failure(f"{response.status_code}: {response.content[:120]!r}")
