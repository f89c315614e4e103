"""`make help` lists every target with one line, and `make` alone shows that list.

A newcomer's first `make` should say what there is to run, not start an
install; a target added without its `## ` line would be missing from the list.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(*args: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def _phony_targets() -> set[str]:
    text = MAKEFILE.read_text().replace("\\\n", " ")
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith(".PHONY:"):
            names.update(line.removeprefix(".PHONY:").split())
    return names


def _listed(output: str) -> set[str]:
    return {line.split()[0] for line in output.splitlines() if line.strip()}


def test_help_lists_every_target_with_a_line_of_its_own():
    listed = _listed(_make("help"))

    assert {"run", "test", "lint", "help"} <= listed
    assert _phony_targets() - listed == set()


def test_help_lines_say_what_each_target_does():
    for line in _make("help").splitlines():
        name, _, text = line.strip().partition(" ")
        assert text.strip(), f"{name} has no description"
        assert "$(" not in text, f"{name}'s description shows an unexpanded variable"


def test_make_alone_lists_the_targets_and_installs_nothing():
    dry_run = _make("-n")

    assert "pip install" not in dry_run
    assert re.search(r"grep .*## ", dry_run)
