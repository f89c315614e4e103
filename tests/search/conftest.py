"""Materials with real, embedded chunks for the tests of search and the tutor."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from materials.models import Material
from tests.factories import MaterialFactory


@pytest.fixture
def indexed() -> Callable[..., Material]:
    """A ready material whose chunks (one per text) are embedded by the current embedder.

    Faster than the worker for tests about the tutor itself; the worker's own
    path is exercised by the upload in test_injection.
    """
    from eduplatform.embeddings import current_model_name, get_embedder
    from materials.models import Chunk
    from materials.search.crosslingual import crosslingual_fill

    def build(
        owner,
        texts: list[str],
        *,
        title: str = "Lecture",
        kind: str = "pdf",
        language: str = "en",
        pages: list[int] | None = None,
        seconds: list[float] | None = None,
        multilingual: bool = True,
    ) -> Material:
        material = MaterialFactory(
            owner=owner,
            title=title,
            kind=kind,
            status="ready",
            language=language,
            video_id="GJLlxj_dtq8" if kind == "youtube" else "",
        )
        vectors = get_embedder().embed(texts)
        model = current_model_name()
        for position, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            page = (pages or list(range(1, len(texts) + 1)))[position] if kind == "pdf" else None
            Chunk.objects.create(
                material=material,
                owner=owner,
                position=position,
                text=text,
                page_start=page,
                page_end=page,
                start_seconds=seconds[position] if seconds else None,
                end_seconds=seconds[position] + 30 if seconds else None,
                language=language,
                embedding=vector,
                embedding_model=model,
            )
        # The multilingual vectors, as the pipeline stores them for every chunk.
        if multilingual:
            crosslingual_fill(material_ids=[material.pk])
        return material

    return build
