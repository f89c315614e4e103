"""Page texts of the evaluation's documents, as `make eval` checks evidence against them.

For whoever writes a question set: dump a document's pages to read them,
then check that every question's evidence phrase is on its page, without
processing anything or touching a database.

    python -m bench.eval_pages dump KEY [FOLDER]   # one FOLDER/NNN.txt per page
    python -m bench.eval_pages check [KEY ...]     # every set's evidence on its page
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.eval_docs import DOCUMENTS, document_path


def page_texts(key: str) -> dict[int, str] | None:
    """The document's pages as the evaluation reads them (text layer, cleaned); None if absent."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DATABASE_URL", "postgres://unused/db")
    os.environ.setdefault("REDIS_URL", "redis://unused:1/0")
    import django

    django.setup()
    from django.conf import settings

    from materials.pipeline.pdf import OcrOptions, clean_pages, extract_pages

    path, why = document_path(DOCUMENTS[key], Path(settings.DATA_DIR) / "eval-docs")
    if path is None:
        print(f"SKIP {key}: {why}")
        return None
    pages = clean_pages(list(extract_pages(path, ocr=OcrOptions(enabled=False))))
    return {page.number: page.text for page in pages}


def main(argv: list[str] | None = None) -> int:
    from bench.eval_questions import holds, load_questions, normalise

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    dump = sub.add_parser("dump")
    dump.add_argument("key", choices=sorted(DOCUMENTS))
    dump.add_argument("folder", nargs="?", type=Path)
    check = sub.add_parser("check")
    check.add_argument("keys", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "dump":
        texts = page_texts(args.key)
        if texts is None:
            return 1
        folder = args.folder or Path(f"eval-pages-{args.key}")
        folder.mkdir(parents=True, exist_ok=True)
        for number, text in texts.items():
            (folder / f"{number:03d}.txt").write_text(text)
        print(f"{len(texts)} pages in {folder}/")
        return 0
    questions = load_questions()
    keys = args.keys or sorted({q.document for q in questions})
    bad = 0
    for key in keys:
        texts = page_texts(key)
        if texts is None:
            continue
        normalised = {number: normalise(text) for number, text in texts.items()}
        mine = [q for q in questions if q.document == key]
        for q in mine:
            if not holds(normalised, q.page, q.evidence):
                bad += 1
                print(f"{key} p.{q.page}: {q.evidence!r} is not on the page")
        print(f"{key}: {len(mine)} questions checked")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
