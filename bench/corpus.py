"""Real passages for the benchmarks: corpus PDFs cut by the product's own chunker."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"


def corpus_pdfs() -> list[Path]:
    """Every corpus PDF, books first (the longest real prose)."""
    books = sorted((CORPUS / "books").glob("*.pdf"))
    rest = sorted(p for p in CORPUS.rglob("*.pdf") if p.parent.name != "books")
    return books + rest


def pdf_passages(path: Path) -> tuple[str, list]:
    """(language, passages) of one PDF, the way the worker reads and cuts it."""
    from materials.pipeline.chunking import Segment, split_passages
    from materials.pipeline.pdf import clean_pages, extract_pages
    from materials.text.language import detect_language

    try:
        pages = clean_pages(list(extract_pages(path, timeout=120, memory_limit_mb=1536)))
    except Exception:  # password-protected or broken samples are skipped
        return "", []
    segments = [s for s in (Segment(text=p.text, page=p.number) for p in pages) if s.text.strip()]
    if not segments:
        return "", []
    language = detect_language(" ".join(s.text for s in segments[:40])[:20000])
    return language, split_passages(segments, language=language)


def real_passages(limit: int | None = None, min_words: int = 40) -> list[tuple[str, str]]:
    """Up to `limit` (language, text) passages of at least min_words words from the corpus."""
    out: list[tuple[str, str]] = []
    for path in corpus_pdfs():
        language, passages = pdf_passages(path)
        out += [(language, p.text) for p in passages if len(p.text.split()) >= min_words]
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out
