"""Reads on materials and chunks. Every selector takes the owner."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet
from pgvector.django import CosineDistance

from accounts.models import User
from eduplatform.embeddings import current_model_name, get_embedder
from materials.models import Chunk, Material


def material_list(*, owner: User) -> QuerySet[Material]:
    return Material.objects.filter(owner=owner, is_hidden=False)


def material_get(*, owner: User, pk: int | str) -> Material:
    """The owner's material, or Material.DoesNotExist (a 404 to the caller)."""
    return material_list(owner=owner).get(pk=pk)


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float

    @property
    def material_id(self) -> int:
        return self.chunk.material_id


def _set_iterative_scan() -> None:
    # Without it, HNSW returns its ef_search nearest rows *before* the owner
    # filter, so a filtered search could come back with fewer than k rows.
    with connection.cursor() as cursor:
        cursor.execute("SET hnsw.iterative_scan = relaxed_order")


def chunk_vector_search(
    *, owner: User, query: str, material: Material | None = None, k: int = 5
) -> list[SearchHit]:
    """Nearest chunks of the owner's own materials by cosine similarity."""
    vector = get_embedder().embed([query])[0]
    chunks = Chunk.objects.filter(
        owner=owner, embedding_model=current_model_name(), material__is_hidden=False
    )
    if material is not None:
        chunks = chunks.filter(material=material)
    _set_iterative_scan()
    rows = (
        chunks.annotate(distance=CosineDistance("embedding", vector))
        .order_by("distance")
        .select_related("material")[:k]
    )
    return [SearchHit(chunk=row, score=round(1.0 - float(row.distance), 4)) for row in rows]
