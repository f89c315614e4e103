"""Materials with real chunks, made by the real worker job."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.base import ContentFile

from materials.models import Material
from materials.services import material_enqueue
from tests.conftest import make_pdf
from tests.factories import MaterialFactory

# Pages written so that each fact sits on a known page.
LINEAR_ALGEBRA = [
    "Matrices in R. A matrix is created with the function matrix, which fills the values "
    "column by column. The dimensions of a matrix are returned by dim. " * 6,
    "Solving linear systems. The function solve(a, b) solves the equation a %*% x = b for x. "
    "It uses an LU decomposition from LAPACK. When b is missing, solve returns the inverse "
    "of the matrix a. " * 6,
    "Eigenvalues. The function eigen computes the eigenvalues and eigenvectors of a square "
    "matrix. Symmetric matrices have real eigenvalues. " * 6,
]


@pytest.fixture
def processed(run_jobs, django_capture_on_commit_callbacks) -> Callable[..., Material]:
    """A PDF material of the given pages, processed by the real RQ job."""

    def build(owner, pages: list[str], title: str = "Linear algebra in R") -> Material:  # noqa: ANN001
        material = MaterialFactory(owner=owner, kind=Material.Kind.PDF, title=title)
        material.file.save("doc.pdf", ContentFile(make_pdf(pages)))
        with django_capture_on_commit_callbacks(execute=True):
            material_enqueue(material=material)
        run_jobs()
        material.refresh_from_db()
        assert material.status == "ready", material.error_detail
        return material

    return build


@pytest.fixture
def algebra(user, processed) -> Material:  # noqa: ANN001
    return processed(user, LINEAR_ALGEBRA)


@pytest.fixture
def indexed() -> Callable[..., Material]:
    """A ready material whose chunks (one per text) are embedded by the current embedder.

    Faster than the worker for tests about the tutor itself; the worker's own
    path is exercised by `processed`.
    """
    from eduplatform.embeddings import current_model_name, get_embedder
    from materials.models import Chunk

    def build(
        owner,  # noqa: ANN001
        texts: list[str],
        *,
        title: str = "Lecture",
        kind: str = "pdf",
        language: str = "en",
        pages: list[int] | None = None,
        seconds: list[float] | None = None,
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
        return material

    return build
