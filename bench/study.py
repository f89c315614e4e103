"""Offline study-content generation time and counts, on top of indexing.

`python -m bench.study [PDF ...]`: each PDF is extracted, chunked and embedded
the way the worker does it (not timed), then the offline generator runs on
those passages and vectors, with the outline read and the grounding and
duplicate checks (timed). Defaults to the corpus's 117-page lecture script and
its two books when ../shared/corpus is present.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared/corpus/pdf"
DEFAULT_PDFS = [
    CORPUS / "py-pdf-sample-files/009-pdflatex-geotopo_GeoTopo-komprimiert.pdf",
    CORPUS / "books/R-data.pdf",
    CORPUS / "books/mpman-ru.pdf",
]


def measure(path: Path) -> dict:
    import numpy as np

    from eduplatform.embeddings import get_embedder
    from materials.pipeline.chunking import Segment, split_passages
    from materials.pipeline.outline import read_outline
    from materials.pipeline.pdf import clean_pages, extract_pages
    from materials.study.generation import check_content
    from materials.study.offline import OfflineGenerator
    from materials.study.types import MaterialText, Source
    from materials.text.language import detect_language

    pages = clean_pages(list(extract_pages(path, timeout=300, memory_limit_mb=1536)))
    segments = [Segment(text=p.text, page=p.number) for p in pages if p.text.strip()]
    language = detect_language(" ".join(s.text for s in segments[:40])[:20000])
    passages = split_passages(segments, language=language)
    vectors = np.asarray(get_embedder().embed([p.text for p in passages]), dtype=np.float32)

    started = time.perf_counter()
    text = MaterialText(
        material_id=1,
        title=path.stem,
        language=language,
        kind="pdf",
        sources=[
            Source(p.position, p.text, p.page_start, p.page_end, p.start_seconds) for p in passages
        ],
        embeddings=vectors,
        outline=read_outline(path),
    )
    content = OfflineGenerator().generate(text)
    produced_cards, produced_questions = len(content.cards), len(content.questions)
    content = check_content(content)
    seconds = time.perf_counter() - started
    return {
        "pdf": path.name,
        "pages": len(pages),
        "passages": len(passages),
        "language": language,
        "generate_seconds": round(seconds, 2),
        "sections": len(content.sections),
        "cards": len(content.cards),
        "questions": len(content.questions),
        "cards_before_checks": produced_cards,
        "questions_before_checks": produced_questions,
        **{k: v for k, v in content.stats.items() if k.startswith(("ungrounded", "duplicate"))},
    }


def main(argv: list[str] | None = None) -> int:
    import django

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pdfs", nargs="*", type=Path)
    args = parser.parse_args(argv)
    django.setup()
    pdfs = args.pdfs or [p for p in DEFAULT_PDFS if p.exists()]
    if not pdfs:
        print("no PDFs given and ../shared/corpus is absent", file=sys.stderr)
        return 1
    for path in pdfs:
        print(json.dumps(measure(path), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
