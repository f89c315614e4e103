"""Locust users for `make load`: students reading pages and the API, and one noisy one.

bench/load.py seeds the accounts and passes them in LOAD_ACCOUNTS (a JSON
file: session cookie, API token and material ids per student, and the noisy
student's token and cards). Every request is named by its kind ("page: …",
"api: …", "stream: …" or "noisy: …"), and each response time and status is
kept so load.py can report p95 per kind from the raw samples (LOAD_SAMPLES).
"""

from __future__ import annotations

import json
import os
import random
import secrets

from locust import HttpUser, between, constant, events, task

SEEDED = json.loads(open(os.environ["LOAD_ACCOUNTS"]).read())
ACCOUNTS = SEEDED["students"]
NOISY = SEEDED["noisy"]
QUERIES = ["photosynthesis", "mitochondria energy", "cell division", "chlorophyll light"]
# Seconds the noisy student's script waits between two requests.
NOISY_WAIT = float(os.environ.get("NOISY_WAIT", "0.1"))
SAMPLES: list[tuple[str, float, bool, int]] = []


@events.request.add_listener
def _keep(
    name: str, response_time: float, exception: object, response: object = None, **kwargs: object
) -> None:
    status = getattr(response, "status_code", 0) or 0
    SAMPLES.append((name, response_time, exception is not None, status))


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


class Noisy(HttpUser):
    """One student whose script rates cards and uploads PDFs through the API, without pause.

    Its own limits answer it with 429 (reviews and uploads a minute and a day):
    expected, so not a failure, and counted by load.py; anything else but a
    success is a failure.
    """

    fixed_count = 1  # one, however many users the profile has
    wait_time = constant(NOISY_WAIT)

    def on_start(self) -> None:
        self.api = {"Authorization": f"Token {NOISY['token']}"}
        with open(NOISY["pdf"], "rb") as lecture:
            self.pdf = lecture.read()

    def send(self, method: str, url: str, name: str, **kwargs: object) -> None:
        with self.client.request(
            method, url, name=name, headers=self.api, catch_response=True, **kwargs
        ) as response:
            if response.status_code == 429 or response.ok:
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:120]!r}")

    @task(5)
    def review(self) -> None:
        if not NOISY["cards"]:
            self.upload()
            return
        card = random.choice(NOISY["cards"])
        body = {"rating": random.randint(1, 4)}
        self.send("POST", f"/api/flashcards/{card}/review/", "noisy: review", json=body)

    @task(1)
    def upload(self) -> None:
        files = {"file": ("noise.pdf", self.pdf, "application/pdf")}
        self.send("POST", "/api/materials/", "noisy: upload", files=files)
