"""`make load`: Locust headless against `make run`'s own stack, started and stopped here.

The app runs exactly as `make run` runs it (eduplatform.runner: gunicorn, an
RQ worker, rqcron) but on its own PORT and in a fresh DATA_DIR, so it gets
its own embedded PostgreSQL and Valkey and never touches ./var. Students are
seeded through the real pipeline (small text PDFs processed by the runner's
worker), then each profile (users, seconds) runs bounded and headless. The
table gives the failure ratio and p50/p95 of page reads and API reads from
the raw samples; bench-results/load.json keeps the figures.

Targets: 50 users for 2 minutes, failures < 1 %, p95 < 300 ms; 20 users,
p95 <= 100 ms; the same 20 users beside one noisy student whose script rates
cards and uploads PDFs through the API without pause, their p95 within 20 %
of the quiet run's (the noisy student's 429s are counted, not failures); 20
students streaming tutor answers beside 20 reading pages, page p95 <= 300 ms
and no stream timing out.
The last profile runs on a second stack whose model is the local stand-in
(tests/support/stub_openai.py, writing each answer over about STREAM_SECONDS), so
the streams last as a hosted model's do; the first two keep the offline app.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (name, users, seconds, p95 target in ms, Locust user classes, stack)
PROFILES = [
    ("50 users", 50, 120, 300.0, ["Student"], "offline"),
    ("20 users", 20, 60, 100.0, ["Student"], "offline"),
    # Right after the quiet run it is compared with, on the same stack; its
    # uploads keep the worker busy after it, so nothing runs after it there.
    ("20 users + noisy", 21, 60, 100.0, ["Student", "Noisy"], "offline"),
    ("20+20 streams", 40, 90, 300.0, ["Student", "Tutee"], "model"),
]
# The noisy run's students: p95 within this factor of the quiet run's, per kind.
NOISY_PROFILE, QUIET_PROFILE, NOISY_MARGIN = "20 users + noisy", "20 users", 1.2
STREAM_SECONDS = float(os.environ.get("STREAM_SECONDS", "6"))
STUDENTS = int(os.environ.get("LOAD_STUDENTS", "5"))
# LOAD_SECONDS shortens every profile, for a quick try of the harness only.
SECONDS = int(os.environ.get("LOAD_SECONDS", "0"))
# LOAD_PROFILES: the profiles to run, by name, comma-separated (default: all),
# e.g. "20 users,20 users + noisy" to repeat only the noisy comparison.
ONLY = {name.strip() for name in os.environ.get("LOAD_PROFILES", "").split(",") if name.strip()}
MATERIALS_EACH = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(base: str, runner: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if runner.poll() is not None:
            raise SystemExit("the app stopped while starting")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit("the app did not become healthy in time")


def seed() -> None:
    """Run inside the app's DATA_DIR: students, sessions, tokens and processed materials."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import User
    from accounts.services import api_token_create
    from materials.models import Flashcard, Material
    from materials.services import material_create_pdf
    from tests.support.lectures import lecture_pages
    from tests.support.pdfs import make_pdf
    from tutor.models import Conversation

    pdf = make_pdf(lecture_pages(4))
    accounts = []
    for n in range(STUDENTS):
        user = User.objects.create_user(email=f"load{n}@example.org", password=None)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        materials = [
            material_create_pdf(
                owner=user,
                file=SimpleUploadedFile(f"lecture{m}.pdf", pdf, content_type="application/pdf"),
                title=f"Biology {m}",
            ).pk
            for m in range(MATERIALS_EACH)
        ]
        conversation = Conversation.objects.create(owner=user, material_id=materials[0])
        accounts.append(
            {
                "session": session.session_key,
                "token": api_token_create(user=user).key,
                "materials": materials,
                "conversation": conversation.pk,
            }
        )
    # The noisy student: its own account, so that only its own limits answer it.
    noisy = User.objects.create_user(email="load-noisy@example.org", password=None)
    noisy_materials = [
        material_create_pdf(
            owner=noisy,
            file=SimpleUploadedFile(f"noisy{m}.pdf", pdf, content_type="application/pdf"),
            title=f"Biology {m}",
        ).pk
        for m in range(MATERIALS_EACH)
    ]
    ids = [pk for account in accounts for pk in account["materials"]] + noisy_materials
    deadline = time.monotonic() + 600
    while Material.objects.filter(pk__in=ids, status__in=["pending", "processing"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit("seeded materials were not processed in time")
        time.sleep(1)
    failed = Material.objects.filter(pk__in=ids).exclude(status="ready").count()
    if failed:
        raise SystemExit(f"{failed} seeded materials failed")
    cards = list(Flashcard.objects.filter(material__owner=noisy).values_list("pk", flat=True))
    # The lecture the noisy student uploads again and again (Locust's process has no Django).
    noise = Path(os.environ["LOAD_WORK"]) / "noise.pdf"
    noise.write_bytes(pdf)
    noisy_account = {"token": api_token_create(user=noisy).key, "cards": cards, "pdf": str(noise)}
    print(json.dumps({"students": accounts, "noisy": noisy_account}))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _summarise(samples: list[list]) -> dict:
    """p50/p95 and failures per kind; the noisy student's answers counted by outcome."""
    result: dict = {}
    for kind in ("page", "api", "stream"):
        rows = [s for s in samples if s[0].startswith(kind)]
        if kind == "stream" and not rows:
            continue
        times = [s[1] for s in rows]
        failures = sum(1 for s in rows if s[2])
        result[kind] = {
            "requests": len(rows),
            "failures": failures,
            "failure_ratio": failures / len(rows) if rows else float("nan"),
            "p50_ms": round(_percentile(times, 50), 1),
            "p95_ms": round(_percentile(times, 95), 1),
        }
    noisy = {}
    for name in sorted({s[0] for s in samples if s[0].startswith("noisy")}):
        rows = [s for s in samples if s[0] == name]
        statuses = [s[3] if len(s) > 3 else 0 for s in rows]
        noisy[name.removeprefix("noisy: ")] = {
            "requests": len(rows),
            "accepted": sum(1 for code in statuses if 200 <= code < 300),
            "refused_429": statuses.count(429),
            "failures": sum(1 for s in rows if s[2]),
            "p95_ms": round(_percentile([s[1] for s in rows], 95), 1),
        }
    if noisy:
        result["noisy"] = noisy
    return result


def _noisy_targets(results: dict) -> None:
    """The noisy run's target per kind: the quiet run's p95, plus NOISY_MARGIN."""
    quiet, noisy = results.get(QUIET_PROFILE), results.get(NOISY_PROFILE)
    if not quiet or not noisy:
        return
    for kind in ("page", "api"):
        if kind in quiet and kind in noisy:
            noisy[kind]["p95_target_ms"] = round(NOISY_MARGIN * quiet[kind]["p95_ms"], 1)
            noisy[kind]["quiet_p95_ms"] = quiet[kind]["p95_ms"]
            noisy[kind]["p95_ratio"] = round(noisy[kind]["p95_ms"] / quiet[kind]["p95_ms"], 2)


def _warm_up(base: str, accounts: Path) -> None:
    """Every web worker loads the query embedder once; that first load is not a page read."""
    account = json.loads(accounts.read_text())["students"][0]
    material = account["materials"][0]
    for n in range(30):
        request = urllib.request.Request(
            f"{base}/api/search/?q=photosynthesis+{n}&material={material}",
            headers={"Authorization": f"Token {account['token']}"},
        )
        with urllib.request.urlopen(request, timeout=60):
            pass


def _run_profile(
    base: str, accounts: Path, work: Path, users: int, seconds: int, classes: list[str]
) -> dict:
    samples = work / f"samples-{users}-{'-'.join(classes)}.json"
    env = dict(os.environ, LOAD_ACCOUNTS=str(accounts), LOAD_SAMPLES=str(samples))
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--host",
        base,
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1, users // 5)),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--only-summary",
        "--loglevel",
        "WARNING",
        *classes,
    ]
    subprocess.run(command, env=env, cwd=ROOT, check=False, timeout=seconds + 120)
    return _summarise(json.loads(samples.read_text()))


def launch_app(work: Path, env: dict[str, str]) -> subprocess.Popen:
    """`make run`'s runner with this environment, its output in work/app.log."""
    log = open(work / "app.log", "w")  # kept open while the app runs
    return subprocess.Popen(
        [sys.executable, "-m", "eduplatform.runner"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _start_app(work: Path, extra_env: dict[str, str]) -> tuple[subprocess.Popen, str, Path]:
    """The app as `make run` runs it, in its own DATA_DIR and port, seeded and warm."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DATA_DIR=str(work / "data"), PORT=str(port), **extra_env)
    # Locust's users share the STUDENTS seeded accounts (50 users on 5 accounts),
    # so one account stands for several students: its per-student search rate
    # and open-stream cap would refuse them as one. The noisy student keeps the
    # limits it is measured against (reviews, uploads).
    env.update(SEARCH_PER_MINUTE="0", TUTOR_STREAMS_PER_USER="0")
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    runner = launch_app(work, env)
    try:
        _wait_healthy(base, runner)
        print(f"app up on {base} (DATA_DIR {work / 'data'}); seeding {STUDENTS} students")
        started = time.monotonic()
        seeded = subprocess.run(
            [sys.executable, "-m", "bench.load", "--seed"],
            cwd=ROOT,
            env=dict(env, LOAD_WORK=str(work)),
            capture_output=True,
            text=True,
            check=False,
        )
        if seeded.returncode:
            raise SystemExit(f"seeding failed:\n{seeded.stderr[-3000:]}")
        accounts = work / "accounts.json"
        accounts.write_text(seeded.stdout.strip().splitlines()[-1])
        print(f"seeded in {time.monotonic() - started:.0f} s (real pipeline)")
        _warm_up(base, accounts)
    except BaseException:
        _stop_app(runner)
        raise
    return runner, base, accounts


def _stop_app(runner: subprocess.Popen) -> None:
    runner.send_signal(signal.SIGTERM)
    try:
        runner.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(runner.pid, signal.SIGKILL)


def _print_noisy(row: dict | None) -> bool:
    """The quiet and noisy p95s side by side, and what the noisy student got; whether
    its script was answered only with successes and 429s."""
    if not row:
        return True
    print(f"\n{NOISY_PROFILE} against {QUIET_PROFILE} (target: p95 within {NOISY_MARGIN:.2f}×):")
    for kind in ("page", "api"):
        fig = row.get(kind, {})
        if "quiet_p95_ms" in fig:
            print(
                f"  {kind:<5} p95 quiet {fig['quiet_p95_ms']:.1f} ms, with the noisy student "
                f"{fig['p95_ms']:.1f} ms: ×{fig['p95_ratio']:.2f}"
            )
    clean = True
    for name, fig in row.get("noisy", {}).items():
        clean &= fig["failures"] == 0
        print(
            f"  noisy {name:<7} {fig['requests']} requests: {fig['accepted']} accepted, "
            f"{fig['refused_429']} refused with 429, {fig['failures']} failed, "
            f"p95 {fig['p95_ms']:.1f} ms"
        )
    return clean


def main() -> int:
    if sys.argv[1:] == ["--seed"]:
        seed()
        return 0
    results = {}
    for stack in ("offline", "model"):
        profiles = [p for p in PROFILES if p[5] == stack and (not ONLY or p[0] in ONLY)]
        if not profiles:
            continue
        work = Path(tempfile.mkdtemp(prefix=f"eduplatform-load-{stack}-"))
        extra_env: dict[str, str] = {}
        stub = None
        if stack == "model":
            from tests.support.stub_openai import StubOpenAI

            stub = StubOpenAI().start()
            words = 30
            stub.stream_word_delay = STREAM_SECONDS / words
            stub.default_content = " ".join(["Chlorophyll absorbs light."] * 10).split()
            stub.default_content = " ".join(stub.default_content[: words - 1]) + " [1]"
            extra_env = {"OPENAI_API_KEY": "load-stand-in", "OPENAI_BASE_URL": stub.base_url}
        runner, base, accounts = _start_app(work, extra_env)
        try:
            for name, users, seconds, target, classes, _ in profiles:
                seconds = SECONDS or seconds
                print(f"running {name} for {seconds} s ...", flush=True)
                before = os.getloadavg()[0]
                figures = _run_profile(base, accounts, work, users, seconds, classes)
                results[name] = {"users": users, "seconds": seconds, "p95_target_ms": target}
                # What else the machine was doing: 1-minute load average before and after.
                results[name]["load_average"] = [round(before, 1), round(os.getloadavg()[0], 1)]
                results[name].update(figures)
        finally:
            _stop_app(runner)
            if stub is not None:
                stub.stop()
            subprocess.run(["rm", "-rf", str(work)], check=False)
    _noisy_targets(results)
    print()
    header = f"{'profile':<20} {'kind':<5} {'requests':>8} {'fail %':>7} {'p50 ms':>7} "
    print(header + f"{'p95 ms':>7} {'target':>7}  met")
    all_met = True
    for name, row in results.items():
        for kind in ("page", "api", "stream"):
            if kind not in row:
                continue
            fig = row[kind]
            target = fig.get("p95_target_ms", row["p95_target_ms"])
            if kind == "stream":  # a stream lasts by design; it must only never fail
                met = fig["failures"] == 0
            else:
                met = fig["failure_ratio"] < 0.01 and fig["p95_ms"] <= target
            all_met &= met
            print(
                f"{name:<20} {kind:<5} {fig['requests']:>8} {100 * fig['failure_ratio']:>7.2f} "
                f"{fig['p50_ms']:>7.1f} {fig['p95_ms']:>7.1f} {target:>7.0f}  "
                f"{'yes' if met else 'NO'}"
            )
    all_met &= _print_noisy(results.get(NOISY_PROFILE))
    loads = {name: row["load_average"] for name, row in results.items()}
    print(f"\nmachine: {os.cpu_count()} cores; 1-min load average before/after: {loads}")
    out = ROOT / "bench-results" / "load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"cores": os.cpu_count(), "profiles": results}, indent=2) + "\n")
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
