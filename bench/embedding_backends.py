"""Compare embedding backends for all-MiniLM-L6-v2 on real book passages.

Run:  .venv/bin/python bench/embedding_backends.py [--models DIR] [--reps 3]

Prints for the sentence-transformers fp32 baseline and each kept candidate:
passages/s (median of --reps runs, all backends interleaved in each round so a
busy neighbour slows them alike), speed-up vs the baseline of the same run,
CPU seconds per passage (steadier than wall time on a shared machine), mean and
min cosine to the baseline vectors, and top-1 agreement for 20 queries taken
from sentences of the passages.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from eduplatform import fast_embedding as fe  # noqa: E402

BOOKS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdf" / "books"


def passages(pdf: Path, words: int = 220) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    text = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    tokens = re.sub(r"\s+", " ", text).split(" ")
    chunks = [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]
    return [c for c in chunks if len(c.split()) > 40]


def queries(texts: list[str], n: int = 20) -> list[str]:
    """One mid-passage sentence (6-30 words) from n passages spread over the corpus."""
    out = []
    step = max(1, len(texts) // n)
    for text in texts[::step] + texts[step // 2 :: step]:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if 6 <= len(s.split()) <= 30]
        if sentences:
            out.append(sentences[len(sentences) // 2])
    return out[:n]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build_fp32_fused(target: Path) -> Path:
    """The fused but unquantised model, for comparison only."""
    import shutil

    if not (target / fe.MODEL_FILE).exists():
        target.mkdir(parents=True, exist_ok=True)
        fe._export(fe._source_dir(), target / "fp32.onnx")
        fe._fuse(target / "fp32.onnx", target / fe.MODEL_FILE)
        (target / "fp32.onnx").unlink()
        shutil.copy2(fe._source_dir() / fe.TOKENIZER_FILE, target / fe.TOKENIZER_FILE)
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=Path, default=Path(tempfile.gettempdir()) / "minilm-bench")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    texts = passages(BOOKS / "R-data.pdf") + passages(BOOKS / "mpman-ru.pdf")
    qs = queries(texts)
    print(f"{len(texts)} passages (R-data.pdf + mpman-ru.pdf), {len(qs)} queries")

    started = time.perf_counter()
    int8_dir = fe.build_onnx_model(args.models / "int8")
    size = (int8_dir / fe.MODEL_FILE).stat().st_size / 2**20
    print(f"build_onnx_model: {time.perf_counter() - started:.1f} s, model.onnx {size:.1f} MiB")
    fp32_dir = build_fp32_fused(args.models / "fp32-fused")

    st = SentenceTransformer(str(fe._source_dir()), device="cpu")
    int8 = fe.OnnxMiniLM(int8_dir, threads=args.threads)
    fp32 = fe.OnnxMiniLM(fp32_dir, threads=args.threads)
    backends = {
        "st-torch-fp32 (baseline)": lambda x: st.encode(
            x, batch_size=32, normalize_embeddings=True
        ),
        "ort-fp32-fused": lambda x: fp32.encode(x, batch_size=32),
        "ort-int8 bs32 (chosen)": lambda x: int8.encode(x, batch_size=32),
        "ort-int8 bs8": lambda x: int8.encode(x, batch_size=8),
    }
    for encode in backends.values():  # warm-up
        encode(texts[:8])
    wall = {k: [] for k in backends}
    cpu = {k: [] for k in backends}
    vecs = {}
    for _ in range(args.reps):
        for name, encode in backends.items():
            t, c = time.perf_counter(), cpu_seconds()
            vecs[name] = encode(texts)
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(cpu_seconds() - c)

    base_name = next(iter(backends))
    base, base_q = vecs[base_name], backends[base_name](qs)
    base_top = (base_q @ base.T).argmax(axis=1)
    base_wall = statistics.median(wall[base_name])
    print(
        "\n| backend | passages/s | speed-up | CPU s/passage | cos mean | cos min | top-1 agree |"
        "\n|---|---|---|---|---|---|---|"
    )
    for name, encode in backends.items():
        med = statistics.median(wall[name])
        cos = (vecs[name] * base).sum(axis=1)
        top = (encode(qs) @ vecs[name].T).argmax(axis=1)
        print(
            f"| {name} | {len(texts) / med:.1f} | {base_wall / med:.2f}x "
            f"| {statistics.median(cpu[name]) / len(texts):.3f} | {cos.mean():.4f} "
            f"| {cos.min():.4f} | {(top == base_top).mean():.2f} |"
        )
    print("\nwall times (s):", {k: [round(t, 1) for t in v] for k, v in wall.items()})


if __name__ == "__main__":
    main()
