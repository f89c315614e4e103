"""A stored passage's vectors, filled in batch by batch once its text is searchable.

The embedder's vectors where the search ranks by them, then the multilingual
ones (crosslingual), each batch written as it is done and fenced by the run's
attempt, so a superseded run stops at its next batch.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import transaction

from eduplatform.embeddings import LOCAL_MODEL_NAME, current_model_name, get_embedder
from materials.index import crosslingual
from materials.models import Chunk, ChunkCrossVector, Material
from materials.progress import material_lock_attempt

INSERT_BATCH = 500
EMBED_BATCH = 64  # passages per write: the progress bar moves every second or so

ProgressFn = Callable[[float], None]


def uses_vectors(language: str) -> bool:
    """Whether chunks in this language are ever ranked by the embedder's vectors.

    Not Russian ones offline: MiniLM is English-only, a Russian question does
    not use it (search.ranking weighs it 0), and an English question finds
    Russian passages through the multilingual vectors. So ingest does not
    make them.
    """
    return not (current_model_name() == LOCAL_MODEL_NAME and language == "ru")


def index_meaning(
    material: Material,
    chunks: list[Chunk],
    *,
    on_progress: ProgressFn,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Fill in the stored chunks' vectors, batch by batch, on every core.

    First the embedder's vectors, where the search ranks by them (not for
    Russian chunks offline: see uses_vectors), each batch spread over
    its sessions; then the multilingual parts, on as many threads, while
    this thread runs `meanwhile` (work that reads the embedder's vectors,
    not the multilingual ones). Each batch is written as it is done.
    """
    embedder = get_embedder()
    wanted = [chunk for chunk in chunks if uses_vectors(chunk.language)]
    total = len(wanted) + len(chunks)
    done = 0
    for start in range(0, len(wanted), EMBED_BATCH):
        batch = wanted[start : start + EMBED_BATCH]
        for chunk, vector in zip(batch, embedder.embed([c.text for c in batch]), strict=True):
            chunk.embedding, chunk.embedding_model = vector, embedder.model_name
        with transaction.atomic():
            material_lock_attempt(material=material)
            Chunk.objects.bulk_update(batch, ["embedding", "embedding_model"])
        done += len(batch)
        on_progress(done / total)
    cross_batches = [chunks[i : i + EMBED_BATCH] for i in range(0, len(chunks), EMBED_BATCH)]
    pool = ThreadPoolExecutor(settings.EMBEDDING_SESSIONS, thread_name_prefix="crosslingual")
    try:
        pending = [pool.submit(crosslingual.embed_parts, batch) for batch in cross_batches]
        if meanwhile is not None:
            meanwhile()
        for batch, future in zip(cross_batches, pending, strict=True):
            rows = crosslingual.cross_vector_rows(batch, future.result())
            with transaction.atomic():
                material_lock_attempt(material=material)
                ChunkCrossVector.objects.bulk_create(rows, batch_size=INSERT_BATCH)
            done += len(batch)
            if meanwhile is None:
                on_progress(done / total)
    finally:
        # A superseded run stops here, without encoding what is still queued.
        pool.shutdown(wait=True, cancel_futures=True)
