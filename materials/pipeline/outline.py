"""A PDF's outline (bookmarks) as section headings, read in a child process.

PDFium is C++ and hostile files can hang or blow up, so the outline is read the
way the text is: in a separate process with a memory limit and a deadline.
Any failure just means "no outline"; notes then use detected headings.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from materials.pipeline.pdf import resource_limiter

logger = logging.getLogger(__name__)

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_ENTRIES = 400


def read_outline(
    path: Path, *, timeout: float = 20.0, memory_limit_mb: int = 1024
) -> list[tuple[int, str, int]]:
    """(level, title, physical page from 1) for each outline entry with a page."""
    try:
        # Fixed argv, no shell: the path is only ever an argument.
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "materials.pipeline.outline", str(path)],
            capture_output=True,
            timeout=timeout,
            cwd=_PROJECT_ROOT,
            preexec_fn=resource_limiter(memory_limit_mb),
            check=False,
        )
        if done.returncode != 0:
            return []
        entries = json.loads(done.stdout or b"[]")
    except (subprocess.TimeoutExpired, OSError, ValueError):
        logger.warning("could not read the outline of %s", path.name)
        return []
    return [
        (int(level), str(title)[:300], int(page))
        for level, title, page in entries[:MAX_ENTRIES]
        if str(title).strip() and int(page) >= 1
    ]


def _main(path: str) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    entries = []
    try:
        for item in document.get_toc(max_depth=3):
            destination = item.get_dest()
            index = destination.get_index() if destination is not None else None
            if index is None:
                continue
            entries.append([item.level, " ".join(item.get_title().split()), index + 1])
            if len(entries) >= MAX_ENTRIES:
                break
    finally:
        document.close()
    sys.stdout.write(json.dumps(entries))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1]))
