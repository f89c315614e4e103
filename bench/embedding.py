"""Embedding throughput: the product's LocalEmbedder against torch fp32, same passages, same run.

`python -m bench.embedding [--json FILE] [--reps 3] [--variants]`

512 real passages from ../shared/corpus, cut by the product's chunker. The
baseline is sentence-transformers all-MiniLM-L6-v2 in torch fp32 (batch 32,
two threads: this machine's cores). Ours is eduplatform.embeddings.LocalEmbedder
exactly as the worker uses it. Backends take turns in every round, so a busy
neighbour slows them alike; passages/s is the median round, and CPU seconds
per passage are reported too (steadier on a shared machine). Agreement is the
cosine between our vector and the fp32 vector of each passage. --variants
adds the ONNX model at other batch sizes and thread counts, for tuning.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PASSAGES = 512
THREADS = 2
TARGETS = {"speedup": 3.0, "cos_mean": 0.98}


def passages(count: int = PASSAGES) -> list[str]:
    """The first `count` corpus passages of 40+ words, cached in the data folder."""
    from django.conf import settings

    cache = settings.DATA_DIR / "bench" / f"embedding-passages-{count}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    from bench.corpus import real_passages

    texts = [text for _, text in real_passages(limit=count)]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(texts, ensure_ascii=False))
    return texts


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(reps: int = 3, variants: bool = False) -> dict:
    import django

    django.setup()
    import numpy as np
    import torch
    from django.conf import settings
    from sentence_transformers import SentenceTransformer

    from eduplatform import fast_embedding as fe
    from eduplatform.embeddings import LocalEmbedder

    torch.set_num_threads(THREADS)
    texts = passages()
    baseline = SentenceTransformer(str(fe._source_dir()), device="cpu")
    ours = LocalEmbedder()
    backends = {
        "baseline": lambda x: baseline.encode(
            x, batch_size=32, normalize_embeddings=True, show_progress_bar=False
        ),
        "ours": lambda x: np.asarray(ours.embed(x), dtype=np.float32),
    }
    model_dir = fe.build_onnx_model(settings.LOCAL_EMBEDDING_MODEL_DIR)
    two = fe.OnnxMiniLM(model_dir, threads=THREADS)
    # What the product did before: one session with a two-thread team.
    backends["one session, 2 threads, bs8"] = lambda x: two.encode(x, batch_size=8)
    if variants:
        one = fe.OnnxMiniLM(model_dir, threads=1)
        for size in (1, 4, 8, 16, 32):
            backends[f"onnx int8 bs{size} t2"] = lambda x, s=size: two.encode(x, batch_size=s)
            backends[f"onnx int8 bs{size} t1"] = lambda x, s=size: one.encode(x, batch_size=s)
    for encode in backends.values():  # warm-up: first-run allocations are not throughput
        encode(texts[:16])
    wall: dict[str, list[float]] = {name: [] for name in backends}
    cpu: dict[str, list[float]] = {name: [] for name in backends}
    vectors = {}
    for _ in range(reps):
        for name, encode in backends.items():
            started, used = time.perf_counter(), cpu_seconds()
            vectors[name] = encode(texts)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(cpu_seconds() - used)

    def summary(name: str) -> dict:
        cos = (vectors[name] * vectors["baseline"]).sum(axis=1)
        seconds, used = statistics.median(wall[name]), statistics.median(cpu[name])
        return {
            "passages_per_s": round(len(texts) / seconds, 2),
            "speedup": round(statistics.median(wall["baseline"]) / seconds, 2),
            "cpu_ms_per_passage": round(1000 * used / len(texts), 1),
            "cpu_speedup": round(statistics.median(cpu["baseline"]) / used, 2),
            "cos_mean": round(float(cos.mean()), 4),
            "cos_min": round(float(cos.min()), 4),
            "wall_s": [round(t, 2) for t in wall[name]],
        }

    return {
        "where_the_time_goes": op_profile(model_dir, texts[:64]),
        "passages": len(texts),
        "threads": THREADS,
        "reps": reps,
        "ours_batch_size": LocalEmbedder.batch_size,
        **{name: summary(name) for name in backends},
        "targets": TARGETS,
    }


def op_profile(model_dir: Path, texts: list[str]) -> dict[str, float]:
    """Share of one single-threaded session's kernel time per operator type."""
    import onnxruntime as ort

    from eduplatform import fast_embedding as fe
    from eduplatform.embeddings import LocalEmbedder

    model = fe.OnnxMiniLM(model_dir, threads=1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    session = ort.InferenceSession(
        str(model_dir / fe.MODEL_FILE), options, providers=["CPUExecutionProvider"]
    )
    model._session = session
    model.encode(texts, batch_size=LocalEmbedder.batch_size)
    trace = json.loads(Path(session.end_profiling()).read_text())
    totals: dict[str, float] = {}
    for event in trace:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            op = event.get("args", {}).get("op_name", "?")
            totals[op] = totals.get(op, 0.0) + event["dur"]
    whole = sum(totals.values()) or 1.0
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return {op: round(share / whole, 3) for op, share in ranked if share / whole >= 0.005}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--variants", action="store_true")
    args = parser.parse_args(argv)
    result = run(reps=args.reps, variants=args.variants)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
