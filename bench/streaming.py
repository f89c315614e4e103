"""Pages while tutor answers stream: gunicorn's old sync workers against gthread.

`python -m bench.streaming` (under a minute). gunicorn is started twice on the
benchmarks' own database (bench.db): as the image ran it before (3 sync
workers) and with eduplatform/gunicorn_conf.py (gthread). In each, STREAMS
tutor answers are opened at once, written slowly by the local model
stand-in (tests/support/stub_openai.py: STREAM_SECONDS per answer), and meanwhile a
page (the login page) is fetched again and again; its latency is what a
student browsing beside those streams waits. Writes bench-results/streaming.json.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STREAMS = int(os.environ.get("STREAMS", "3"))
STREAM_SECONDS = float(os.environ.get("STREAM_SECONDS", "6"))
ANSWER_WORDS = 30
SETUPS = {
    "sync, 3 workers (before)": ["--workers", "3", "--timeout", "120"],
    "gthread (eduplatform/gunicorn_conf.py)": ["--config", "python:eduplatform.gunicorn_conf"],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _seed() -> tuple[str, int]:
    """A student with a session, and a conversation about an indexed passage."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User
    from eduplatform.embeddings import current_model_name, get_embedder
    from materials.models import Chunk, Material
    from tutor.models import Conversation

    user = User.objects.create_user(email=f"stream-{secrets.token_hex(4)}@example.org")
    text = "Chlorophyll is the green pigment that absorbs red and blue light in the chloroplast."
    material = Material.objects.create(
        owner=user, title="Plants", kind="pdf", status="ready", language="en"
    )
    Chunk.objects.create(
        material=material,
        owner=user,
        position=0,
        text=text,
        page_start=1,
        page_end=1,
        language="en",
        embedding=get_embedder().embed([text])[0],
        embedding_model=current_model_name(),
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    conversation = Conversation.objects.create(owner=user, material=material)
    return session.session_key, conversation.pk


def _get_page(port: int) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/accounts/login/")
    conn.getresponse().read()
    conn.close()
    return time.perf_counter() - started


def _stream(port: int, session: str, conversation: int, done: list[float]) -> None:
    csrf = secrets.token_hex(16)  # 32 characters: Django takes an unmasked secret
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request(
        "POST",
        f"/tutor/{conversation}/stream/",
        body="content=Which+pigment+absorbs+light%3F",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"sessionid={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Referer": f"http://127.0.0.1:{port}/",
        },
    )
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200 or b"event: done" not in body:
        raise SystemExit(f"stream failed: {response.status} {body[:200]!r}")
    done.append(time.perf_counter() - started)


def _measure(name: str, args: list[str], session: str, conversation: int) -> dict:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *args, "eduplatform.wsgi:application"]
        + ["--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                idle = _get_page(port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name}: gunicorn did not answer") from None
                time.sleep(0.5)
        idle = min(_get_page(port) for _ in range(5))
        streams_done: list[float] = []
        threads = [
            threading.Thread(target=_stream, args=(port, session, conversation, streams_done))
            for _ in range(STREAMS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # the streams are open
        pages = []
        while any(thread.is_alive() for thread in threads):
            pages.append(_get_page(port))
            time.sleep(0.25)
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "setup": name,
        "streams": STREAMS,
        "stream_seconds": round(statistics.median(streams_done), 2),
        "page_idle_ms": round(idle * 1000, 1),
        "page_p50_ms": round(statistics.median(pages) * 1000, 1),
        "page_max_ms": round(max(pages) * 1000, 1),
        "pages_fetched": len(pages),
    }


def main() -> None:
    from tests.support.stub_openai import StubOpenAI

    stub = StubOpenAI().start()
    stub.stream_word_delay = STREAM_SECONDS / ANSWER_WORDS
    stub.default_content = " ".join(["Chlorophyll absorbs red and blue light."] * 6)[:400]
    stub.default_content = " ".join(stub.default_content.split()[: ANSWER_WORDS - 1]) + " [1]"
    os.environ.update(
        OPENAI_API_KEY="bench-stand-in", OPENAI_BASE_URL=stub.base_url, LOG_LEVEL="WARNING"
    )
    from bench.db import use_database

    use_database("bench_streaming")
    session, conversation = _seed()
    rows = [_measure(name, args, session, conversation) for name, args in SETUPS.items()]
    stub.stop()
    print(f"\n{STREAMS} tutor answers streaming for about {STREAM_SECONDS:.0f} s each:")
    print("| setup | page alone (ms) | page p50 beside the streams (ms) | page max (ms) |")
    print("|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['setup']} | {row['page_idle_ms']} | {row['page_p50_ms']} "
            f"| {row['page_max_ms']} |"
        )
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "streaming.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
