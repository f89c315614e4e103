"""Generalisation check on documents no ranking code was tuned on, through the front door.

Measures search and the offline tutor the way an outside reviewer would: over
HTTP against a running `make run` server, as a freshly signed-up student.
Each document of bench/eval_sets/fresh/*.json (its `source`: a Debian
package=version, the member inside it and its SHA-256) is fetched with
`apt-get download`, uploaded with `POST /api/materials/` and waited on until
ready. Then, for every question of the set:

- search: `GET /api/search/?q=…&material=…&k=5`, the rank of the first result
  whose `page` holds the evidence (hit@1, hit@5);
- tutor: a new conversation, `POST …/messages/`; whether any citation's page
  holds the evidence ("cited"), whether the first citation's does ("first"),
  and whether it answered "not found" (no citation);

and every off-topic question (bench/eval_sets/off_topic.json with the older
six, both languages) is asked of every document: declined = no citation.

A page holds the evidence when the evidence, whitespace-normalised and
case-folded, is in that page's text as `pdftotext -f N -l N` extracts it: the
reviewer's own reading, not the app's. The questions were committed before
any run; this script changes nothing in the product.

    python -m bench.fresh_check --url http://127.0.0.1:8123 --json out.json
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.eval import off_topic
from bench.eval_docs import Document, document_path

SETS = Path(__file__).resolve().parent / "eval_sets" / "fresh"


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def page_texts(pdf: Path, pages: int) -> dict[int, str]:
    """Each page's text as pdftotext reads it, normalised."""
    texts = {}
    for number in range(1, pages + 1):
        done = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-f", str(number), "-l", str(number), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        )
        texts[number] = normalise(done.stdout)
    return texts


class Client:
    """A student of the running server: signs up, then speaks the API with a token."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def sign_up(self) -> None:
        email = f"fresh-{secrets.token_hex(4)}@example.org"
        password = secrets.token_urlsafe(12)
        self.http.get(f"{self.url}/accounts/signup/").raise_for_status()
        form = {
            "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
            "email": email,
            "password1": password,
            "password2": password,
        }
        made = self.http.post(
            f"{self.url}/accounts/signup/", data=form, allow_redirects=False, timeout=60
        )
        if made.status_code not in (301, 302, 303):
            raise SystemExit(f"sign-up refused: HTTP {made.status_code}")
        token = self.call("POST", "/api/auth/token/", json={"email": email, "password": password})
        self.http = requests.Session()  # the token alone from here on, as an API client would
        self.http.headers["Authorization"] = f"Token {token['token']}"

    def call(self, method: str, path: str, **kwargs) -> dict:
        """One API call; waits out a rate refusal (429) instead of counting it."""
        while True:
            response = self.http.request(method, f"{self.url}{path}", timeout=300, **kwargs)
            if response.status_code != 429:
                break
            time.sleep(float(response.headers.get("Retry-After") or 5))
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def upload(self, pdf: Path, title: str) -> dict:
        with pdf.open("rb") as handle:
            material = self.call(
                "POST",
                "/api/materials/",
                files={"file": (pdf.name, handle, "application/pdf")},
                data={"title": title},
            )
        started = time.monotonic()
        while material["status"] not in ("ready", "failed"):
            time.sleep(3)
            material = self.call("GET", f"/api/materials/{material['id']}/")
        material["seconds"] = round(time.monotonic() - started, 1)
        return material

    def search(self, material: int, question: str) -> list[int | None]:
        found = self.call(
            "GET", "/api/search/", params={"q": question, "material": material, "k": 5}
        )
        return [result["page"] for result in found["results"]]

    def ask(self, material: int, question: str) -> list[int | None]:
        """The pages the tutor's answer cites, in order ([] for "not found")."""
        conversation = self.call("POST", "/api/tutor/conversations/", json={"material": material})
        answer = self.call(
            "POST",
            f"/api/tutor/conversations/{conversation['id']}/messages/",
            json={"content": question},
        )
        return [citation["page"] for citation in answer["citations"]]


@dataclass
class Row:
    n: int = 0
    hit1: int = 0
    hit5: int = 0
    cited: int = 0
    first: int = 0
    not_found: int = 0
    misses: list[dict] = field(default_factory=list)


def check_document(client: Client, path: Path, cache: Path) -> dict:
    data = json.loads(path.read_text())
    source = data["source"]
    doc = Document(
        data["document"],
        data["language"],
        source["sha256"],
        package=source["package"],
        member=source["member"],
    )
    pdf, why = document_path(doc, cache)
    if pdf is None:
        raise SystemExit(f"{doc.key}: {why}")
    texts = page_texts(pdf, source["pages"])

    def holds(page: int | None, evidence: str) -> bool:
        return page is not None and normalise(evidence) in texts.get(page, "")

    wrong = [q for q in data["questions"] if not holds(q["page"], q["evidence"])]
    if wrong:
        raise SystemExit(f"{doc.key}: evidence not on its page: {wrong}")
    material = client.upload(pdf, doc.key)
    print(
        f"{doc.key}: {material['status']}, {material['page_count']} pages,"
        f" ready in {material['seconds']}s",
        flush=True,
    )
    if material["status"] != "ready":
        raise SystemExit(f"{doc.key}: processing failed: {material['error']}")
    rows: dict[str, Row] = {}
    for question in data["questions"]:
        group = (
            question["language"]
            if question["language"] == doc.language
            else f"{question['language']}→{doc.language}"
        )
        row = rows.setdefault(group, Row())
        evidence = question["evidence"]
        pages = client.search(material["id"], question["text"])
        rank = next((i for i, page in enumerate(pages, 1) if holds(page, evidence)), None)
        cited = client.ask(material["id"], question["text"])
        row.n += 1
        row.hit1 += rank == 1
        row.hit5 += rank is not None
        row.cited += any(holds(page, evidence) for page in cited)
        row.first += bool(cited) and holds(cited[0], evidence)
        row.not_found += not cited
        if not any(holds(page, evidence) for page in cited):
            row.misses.append(
                {
                    "question": question["text"],
                    "page": question["page"],
                    "cited": cited,
                    "search": pages,
                }
            )
    declined = {}
    for language, items in off_topic().items():
        answered = {}
        for text, _half in items:
            cited = client.ask(material["id"], text)
            if cited:
                answered[text] = cited
        declined[language] = {
            "asked": len(items),
            "declined": len(items) - len(answered),
            "answered": answered,
        }
    return {
        "document": doc.key,
        "pages": material["page_count"],
        "ready_seconds": material["seconds"],
        "rows": {group: vars(row) for group, row in rows.items()},
        "off_topic": declined,
    }


def report(results: list[dict]) -> None:
    print(
        "\n| document | questions | n | search hit@1 | hit@5 | tutor cited | first |"
        " not found | off-topic declined ru | en |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        off = result["off_topic"]
        for group, row in result["rows"].items():
            n = row["n"]
            print(
                f"| {result['document']} | {group} | {n} | {row['hit1'] / n:.0%} |"
                f" {row['hit5'] / n:.0%} | {row['cited'] / n:.0%} | {row['first'] / n:.0%} |"
                f" {row['not_found'] / n:.0%} |"
                f" {off['ru']['declined']}/{off['ru']['asked']} |"
                f" {off['en']['declined']}/{off['en']['asked']} |"
            )
    print("\nTutor misses (no citation's page holds the evidence):")
    for result in results:
        for group, row in result["rows"].items():
            for miss in row["misses"]:
                print(
                    f"- {result['document']} [{group}] p.{miss['page']}: {miss['question']}"
                    f" | cited {miss['cited'] or 'none (not found)'}"
                    f" | search top 5 {miss['search']}"
                )
    print("\nOff-topic questions answered (with a citation) instead of declined:")
    for result in results:
        for language, counts in result["off_topic"].items():
            for text, cited in counts["answered"].items():
                print(f"- {result['document']} [{language}] {text} | cited {cited}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
    parser.add_argument(
        "--cache", type=Path, default=Path("var/fresh-docs"), help="downloaded packages and PDFs"
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    client = Client(args.url)
    client.sign_up()
    results = [check_document(client, path, args.cache) for path in sorted(SETS.glob("*.json"))]
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
