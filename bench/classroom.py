"""Classroom figures: the teacher's progress page, and search over shared materials.

`python -m bench.classroom [--json FILE] [--students N] [--cards N] [--days N]
[--pages N] [--requests N] [--queries N] [--rebuild]`

Runs against its own database, `bench_classroom`, on the app's PostgreSQL
server (never the app's data); every request goes through the Django test
client, so URL routing, middleware, views and templates are timed with the
queries.

- **Progress page**: a teacher's course with one unit and one material of
  500 cards and 20 quiz questions, 200 students, each with a schedule
  (CardState) for every card and 60 days of reviews (ReviewLog: each card
  first seen in the first 36 days, then reviewed when due, intervals growing,
  "Again" one time in ten) plus three quiz attempts; bulk-loaded once and
  reused while its sizes match. Timed: `GET /courses/<pk>/progress/` as the
  teacher, p50/p95 of 20 requests after two untimed ones, with the slowest
  SQL statement of one request and its plan.
- **Shared search**: a student owns one material and is in a course of three
  more; another user owns one copy of the student's material. Both ask the
  same phrases of it, alternately: `GET /api/search/?q=` over everything
  they may see, and the offline tutor
  (`POST /api/tutor/conversations/{id}/messages/`, a fresh conversation per
  question, over all their materials). The materials are real English prose
  (the standard library's documentation, bench.pipeline.lecture_pages), cut,
  stored and embedded by the worker's own functions.

Smaller sizes for a quick try: the arguments, or CLASSROOM_STUDENTS,
CLASSROOM_CARDS, CLASSROOM_DAYS, CLASSROOM_PAGES in the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from bench.db import use_database

DB_NAME = "bench_classroom"
STUDENTS = int(os.environ.get("CLASSROOM_STUDENTS", 200))
CARDS = int(os.environ.get("CLASSROOM_CARDS", 500))
DAYS = int(os.environ.get("CLASSROOM_DAYS", 60))
PAGES = int(os.environ.get("CLASSROOM_PAGES", 60))  # per material, in the search part
QUESTIONS = 20
ATTEMPTS = 3
REQUESTS = 20
QUERIES = 30
BATCH = 5000
TARGETS = {"progress_p95_ms": 300.0, "shared_ratio": 1.2}
HOST = {"SERVER_NAME": "localhost"}  # one of ALLOWED_HOSTS (the test client's is not)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def figures(times: list[float]) -> dict:
    return {
        "n": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "max_ms": round(max(times), 1),
    }


# --- progress: the seed ----------------------------------------------------------------


def _tag(students: int, cards: int, days: int) -> str:
    return f"s{students}-c{cards}-d{days}"


def seeded_course(students: int, cards: int, days: int, rebuild: bool, log: dict):
    """The teacher's course at these sizes: found when complete, else (re)made."""
    from courses.models import Course

    title = f"Classroom {_tag(students, cards, days)}"
    found = Course.objects.filter(title=title).first()
    if found and not rebuild:
        log["reused"] = True
        return found
    return seed_progress(students, cards, days, title, log)


def _history(rng: random.Random, start, now, days: int) -> tuple[list[tuple], tuple]:
    """One student's reviews of one card: (rating, at, due after), and its final state."""
    at = start + timedelta(days=rng.uniform(0, days * 0.6))
    interval = 1.0
    rows: list[tuple] = []
    rating = 0
    while at < now:
        rating = rng.choices((1, 2, 3, 4), (0.1, 0.15, 0.65, 0.1))[0]
        interval = 1.0 if rating == 1 else interval * (3.0 if rating == 4 else 2.5)
        due = at + timedelta(days=interval * rng.uniform(0.9, 1.1))
        rows.append((rating, at, due))
        at = due + timedelta(hours=rng.uniform(0, 12))
    if rating == 1:
        state = 3  # relearning
    else:
        state = 2 if len(rows) >= 2 else 1  # review, else still learning
    return rows, (state, interval, rows[-1][2], rows[-1][1])


def seed_progress(students: int, cards: int, days: int, title: str, log: dict):
    """Bulk-load the course: one unit, one material, its cards and questions, the students'
    memberships, schedules, reviews and quiz attempts."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from courses.models import Course, CourseMaterial, Membership, Unit
    from materials.models import (
        CardState,
        Flashcard,
        Material,
        QuizAttempt,
        QuizQuestion,
        ReviewLog,
    )

    started = time.perf_counter()
    tag = _tag(students, cards, days)
    Course.objects.filter(title=title).delete()
    User.objects.filter(email__endswith=f"-{tag}@classroom.bench.localhost").delete()
    now = timezone.now()
    start = now - timedelta(days=days)
    rng = random.Random(5)
    password = make_password(None)
    teacher = User.objects.create(email=f"teacher-{tag}@classroom.bench.localhost")
    material = Material.objects.create(
        owner=teacher, kind="pdf", title=f"Biology {tag}", status="ready", progress=100
    )
    deck = Flashcard.objects.bulk_create(
        Flashcard(
            owner=teacher,
            material=material,
            front=f"Question {n} about cells?",
            back=f"Answer {n}.",
            position=n,
            page=1 + n // 10,
            due=start,
        )
        for n in range(cards)
    )
    quiz = QuizQuestion.objects.bulk_create(
        QuizQuestion(
            owner=teacher,
            material=material,
            position=n,
            question=f"Which is true of cells ({n})?",
            choices=["Right", "Lure", "Other", "None"],
            answer_index=0,
            generator="bench",
        )
        for n in range(QUESTIONS)
    )
    # The course is made under a temporary title: a seed cut short is never reused.
    course = Course.objects.create(owner=teacher, title=f"{title} (seeding)")
    Membership.objects.create(course=course, user=teacher, role=Membership.Role.OWNER)
    unit = Unit.objects.create(course=course, title="Cells", due_date=now.date() - timedelta(1))
    CourseMaterial.objects.create(unit=unit, material=material)
    people = User.objects.bulk_create(
        User(email=f"student{n:03d}-{tag}@classroom.bench.localhost", password=password)
        for n in range(students)
    )
    Membership.objects.bulk_create(Membership(course=course, user=user) for user in people)
    reviews = states = 0
    for user in people:
        logs, schedule = [], []
        for card in deck:
            history, (state, interval, due, last) = _history(rng, start, now, days)
            logs += [
                ReviewLog(card=card, user=user, rating=r, reviewed_at=at, due_after=after)
                for r, at, after in history
            ]
            schedule.append(
                CardState(
                    user=user,
                    card=card,
                    state=state,
                    step=None if state == 2 else 0,
                    stability=interval,
                    difficulty=5.0,
                    due=due,
                    last_review=last,
                )
            )
        ReviewLog.objects.bulk_create(logs, batch_size=BATCH)
        CardState.objects.bulk_create(schedule, batch_size=BATCH)
        reviews, states = reviews + len(logs), states + len(schedule)
        attempts = []
        for _ in range(ATTEMPTS):
            results = []
            for question in quiz:
                chosen = 0 if rng.random() < 0.7 else rng.randint(1, 3)
                results.append(
                    {
                        "card": None,
                        "question": question.pk,
                        "text": question.question,
                        "choices": question.choices,
                        "chosen": chosen,
                        "answer_index": 0,
                        "correct": chosen == 0,
                        "explanation": "",
                        "source": {"page": None, "start_seconds": None},
                    }
                )
            score = sum(r["correct"] for r in results)
            attempts.append(
                QuizAttempt(
                    owner=user, material=material, score=score, total=len(quiz), results=results
                )
            )
        QuizAttempt.objects.bulk_create(attempts)
    with connection.cursor() as cursor:
        for table in ("reviewlog", "cardstate", "flashcard", "quizattempt"):
            cursor.execute(f"VACUUM ANALYZE materials_{table}")
        cursor.execute("ANALYZE courses_membership")
    Course.objects.filter(pk=course.pk).update(title=title)
    course.title = title
    log.update(
        reviews=reviews,
        card_states=states,
        quiz_attempts=students * ATTEMPTS,
        seed_s=round(time.perf_counter() - started, 1),
    )
    return course


# --- progress: the page ----------------------------------------------------------------


def slowest_statement(client, url: str) -> dict:
    """One request's statements: how many, the slowest one's time and its plan."""
    from django.db import connection

    timed: list[tuple[float, str, object]] = []

    def capture(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append(((time.perf_counter() - started) * 1000, sql, params))

    with connection.execute_wrapper(capture):
        client.get(url)
    ms, sql, params = max(timed, key=lambda row: row[0])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    return {
        "statements": len(timed),
        "sql_ms_total": round(sum(row[0] for row in timed), 1),
        "slowest_ms": round(ms, 1),
        "slowest_sql": sql,
        "slowest_plan": plan,
    }


def measure_progress(course, requests: int) -> dict:
    from django.test import Client

    client = Client(**HOST)
    client.force_login(course.owner)
    url = f"/courses/{course.pk}/progress/"
    for _ in range(2):  # untimed: the first request's imports and template loading
        assert client.get(url).status_code == 200
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return {**figures(times), "url": url, **slowest_statement(client, url)}


# --- shared search ---------------------------------------------------------------------


def _material(owner, title: str, pages: list[str]):
    """A ready material cut, stored and embedded by the worker's own functions."""
    from materials.index.vectors import index_meaning
    from materials.ingest import Extracted, store_text
    from materials.models import Material
    from materials.pipeline.chunking import Segment, split_passages

    material = Material.objects.create(
        owner=owner, kind="pdf", title=title, status="ready", language="en", progress=100
    )
    segments = [Segment(text=text, page=n) for n, text in enumerate(pages, start=1)]
    passages = split_passages(segments, language="en")
    extracted = Extracted(segments=segments, page_count=len(pages))
    chunks = store_text(material, passages, extracted)
    index_meaning(material, chunks, on_progress=lambda share: None)
    return material


def seeded_search(pages: int, rebuild: bool, log: dict) -> tuple:
    """(student, solo user, the student's own material): made once per page count."""
    from accounts.models import User
    from bench.pipeline import lecture_pages
    from courses.models import Course, CourseMaterial, Membership, Unit
    from materials.models import Material

    tag = f"p{pages}"
    student_email = f"student-{tag}@search.bench.localhost"
    solo_email = f"solo-{tag}@search.bench.localhost"
    title = f"Shared search {tag}"
    course = Course.objects.filter(title=title).first()
    if course and not rebuild:
        log["reused"] = True
        student = User.objects.get(email=student_email)
        own = Material.objects.get(owner=student)
        return student, User.objects.get(email=solo_email), own
    started = time.perf_counter()
    Course.objects.filter(title__startswith=title).delete()
    User.objects.filter(email__endswith=f"-{tag}@search.bench.localhost").delete()
    text = lecture_pages(pages * 4)
    student = User.objects.create(email=student_email)
    solo = User.objects.create(email=solo_email)
    teacher = User.objects.create(email=f"teacher-{tag}@search.bench.localhost")
    own = _material(student, "My notes", text[:pages])
    _material(solo, "My notes", text[:pages])
    course = Course.objects.create(owner=teacher, title=f"{title} (seeding)")
    Membership.objects.create(course=course, user=teacher, role=Membership.Role.OWNER)
    Membership.objects.create(course=course, user=student)
    unit = Unit.objects.create(course=course, title="Reading")
    for n in range(1, 4):
        shared = _material(teacher, f"Reading {n}", text[n * pages : (n + 1) * pages])
        CourseMaterial.objects.create(unit=unit, material=shared, position=n)
    Course.objects.filter(pk=course.pk).update(title=title)
    log["seed_s"] = round(time.perf_counter() - started, 1)
    return student, solo, own


def phrases(material, count: int, seed: int) -> list[str]:
    """4-9 word phrases of the material's own passages, as a student would ask."""
    rng = random.Random(seed)
    texts = list(material.chunks.values_list("text", flat=True))
    out: list[str] = []
    while len(out) < count:
        words = re.findall(r"[A-Za-z][\w'-]*", rng.choice(texts))
        if len(words) < 12:
            continue
        length = rng.randint(4, 9)
        first = rng.randint(0, len(words) - length)
        out.append(" ".join(words[first : first + length]))
    return out


def measure_search(student, solo, own, queries: int) -> dict:
    from rest_framework.test import APIClient

    from materials.selectors import material_list_visible

    clients = {}
    for name, user in (("shared", student), ("one_material", solo)):
        client = APIClient(**HOST)
        client.force_login(user)
        clients[name] = client
    times: dict[str, dict[str, list[float]]] = {
        name: {"search": [], "tutor": []} for name in clients
    }
    hits = {name: 0 for name in clients}

    def ask(name: str, question: str, timed: bool) -> None:
        client = clients[name]
        started = time.perf_counter()
        found = client.get("/api/search/", {"q": question})
        elapsed = (time.perf_counter() - started) * 1000
        assert found.status_code == 200, found.status_code
        conversation = client.post("/api/tutor/conversations/", {"material": None}, format="json")
        path = f"/api/tutor/conversations/{conversation.json()['id']}/messages/"
        started = time.perf_counter()
        answer = client.post(path, {"content": question}, format="json")
        answered = (time.perf_counter() - started) * 1000
        assert answer.status_code == 201, answer.status_code
        if timed:
            times[name]["search"].append(elapsed)
            times[name]["tutor"].append(answered)
            results = found.json()["results"]
            hits[name] += bool(results) and results[0]["material"] in own_ids[name]

    own_ids = {
        "shared": {own.pk},
        "one_material": set(solo.materials.values_list("pk", flat=True)),
    }
    for question in phrases(own, 5, seed=1):  # untimed warm-up, other phrases
        for name in clients:
            ask(name, question, timed=False)
    for question in phrases(own, queries, seed=2):
        for name in clients:  # alternately, so both see the same load
            ask(name, question, timed=True)
    result: dict = {
        "chunks": {
            "shared": sum(m.chunks.count() for m in material_list_visible(user=student)),
            "one_material": sum(m.chunks.count() for m in solo.materials.all()),
        },
        "top_hit_in_own_material": hits,
    }
    for part in ("search", "tutor"):
        shared, alone = figures(times["shared"][part]), figures(times["one_material"][part])
        result[part] = {
            "shared": shared,
            "one_material": alone,
            "ratio_p50": round(shared["p50_ms"] / alone["p50_ms"], 2),
            "ratio_p95": round(shared["p95_ms"] / alone["p95_ms"], 2),
        }
    return result


def run(args: argparse.Namespace) -> dict:
    # The bench asks far more often than a student may: no throttles here.
    for name in ("SEARCH_PER_MINUTE", "TUTOR_OFFLINE_PER_MINUTE", "TUTOR_OFFLINE_PER_DAY"):
        os.environ[name] = "0"
    use_database(DB_NAME)
    from eduplatform.embeddings import get_embedder

    get_embedder().embed(["warm-up"])
    result: dict = {
        "database": DB_NAME,
        "sizes": {
            "students": args.students,
            "cards": args.cards,
            "days": args.days,
            "quiz_questions": QUESTIONS,
            "attempts_per_student": ATTEMPTS,
            "pages_per_material": args.pages,
        },
        "seed": {"progress": {}, "search": {}},
        "targets": TARGETS,
    }
    course = seeded_course(
        args.students, args.cards, args.days, args.rebuild, result["seed"]["progress"]
    )
    result["progress"] = measure_progress(course, args.requests)
    student, solo, own = seeded_search(args.pages, args.rebuild, result["seed"]["search"])
    result["shared_search"] = measure_search(student, solo, own, args.queries)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--students", type=int, default=STUDENTS)
    parser.add_argument("--cards", type=int, default=CARDS)
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--pages", type=int, default=PAGES)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--queries", type=int, default=QUERIES)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
