"""Hostile slides and handouts: what reading or checking one costs the worker and the web process.

``python -m bench.office_limits`` builds each file (tests/support/office_files.py),
then reads it as the worker does (`extract_office`) or checks it as the
upload does (`office_inspect`), each in a fresh process, and prints wall
seconds, CPU seconds and peak resident memory (VmHWM) of that process and,
where the text is read in the reader's child process, of the child alone,
run again on its own under GNU time (`/usr/bin/time`; a dash without it).
Names of files on the command line keep to those (`runs-2m`, ...).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "merged-table-400x10": lambda f: f.merged_table_docx(400),
    "runs-2m": lambda f: f.many_runs_docx(2_000_000),
    "zip-300k-entries": lambda f: f.zip_listing(300_000),
}
RUNS = [
    ("merged-table-400x10", "extract"),
    ("runs-2m", "extract"),
    ("runs-2m", "inspect"),
    ("zip-300k-entries", "inspect"),
]


def _peak_mb() -> int:
    """This process's peak resident memory; unlike ru_maxrss, not inherited across exec."""
    with open("/proc/self/status") as status:
        return round(next(int(line.split()[1]) for line in status if "VmHWM" in line) / 1024)


def _one(call: str, path: str) -> dict:
    """Run in a fresh process: one call, measured from inside."""
    import django

    django.setup()
    from materials.errors import ProcessingError
    from materials.pipeline import office

    start_mb = _peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        if call == "inspect":
            outcome = f"ok ({office.office_inspect(Path(path)).count})"
        else:
            read = office.extract_office(Path(path), office.DOCX)
            outcome = f"ok ({sum(len(s.text) for s in read.segments)} characters)"
    except ProcessingError as exc:
        outcome = exc.code
    return {
        "outcome": outcome,
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "peak_mb": _peak_mb(),
        "start_mb": start_mb,
    }


def _child(path: Path) -> dict | None:
    """The reader's child process alone on the same file, measured by GNU time."""
    from django.conf import settings

    if not (ROOT / "materials/pipeline/office_child.py").exists():
        return None
    if not Path("/usr/bin/time").exists():
        return None
    report = path.with_suffix(".time")
    args = ["/usr/bin/time", "-o", str(report), "-f", "%e %U %S %M", sys.executable]
    args += ["-m", "materials.pipeline.office_child", str(path), "docx"]
    args += ["word/document.xml", "--max-elements", str(settings.MAX_OFFICE_XML_ELEMENTS)]
    args += ["--max-text-bytes", str(settings.MAX_OFFICE_TEXT_MB * 1024 * 1024)]
    args += ["--max-length", str(settings.MAX_DOCX_PARAGRAPHS)]
    subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    wall, user, system, peak_kb = report.read_text().split()[-4:]
    return {
        "wall_s": float(wall),
        "cpu_s": round(float(user) + float(system), 2),
        "peak_mb": round(int(peak_kb) / 1024),
    }


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(_one(sys.argv[2], sys.argv[3])))
        return
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
    django.setup()
    from tests.support import office_files

    print(
        "| file | call | outcome | wall s | CPU s | peak MB (at start) "
        "| reader child: wall s, CPU s, peak MB |"
    )
    print("|---|---|---|---|---|---|---|")
    chosen = sys.argv[1:] or list(CASES)
    with tempfile.TemporaryDirectory() as folder:
        for name in chosen:
            (Path(folder) / f"{name}.docx").write_bytes(CASES[name](office_files))
        for name, call in [(name, call) for name, call in RUNS if name in chosen]:
            path = Path(folder) / f"{name}.docx"
            done = subprocess.run(
                [sys.executable, "-m", "bench.office_limits", "--one", call, str(path)],
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
            one = json.loads(done.stdout.decode().strip().splitlines()[-1])
            child = _child(path) if call == "extract" else None
            alone = f"{child['wall_s']}, {child['cpu_s']}, {child['peak_mb']}" if child else "—"
            print(
                f"| {name} ({path.stat().st_size // 1024} KB) | {call} | {one['outcome']} "
                f"| {one['wall_s']} | {one['cpu_s']} | {one['peak_mb']} ({one['start_mb']}) "
                f"| {alone} |"
            )


if __name__ == "__main__":
    main()
