"""Progressive ingest: text first (searchable at once), vectors after, study content last."""

import django_rq
import pytest
from django.db.models import F
from django.utils import translation

from eduplatform.worker import EduWorker
from materials.errors import Superseded
from materials.index.vectors import index_meaning
from materials.ingest import extract_material, store_text
from materials.models import ChunkCrossVector, Material
from materials.pipeline.chunking import split_passages
from materials.search.selectors import search
from materials.study.generation import material_text
from tests.support.lectures import LECTURE, pdf_material
from tests.support.pdfs import make_pdf, unicode_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_after():
    """A Russian page request leaves Russian active in this thread: later tests read English."""
    yield
    translation.deactivate()


RUSSIAN = [
    "Фотосинтез превращает энергию света в химическую энергию органических веществ. " * 20,
    "Цикл Кребса проходит в матриксе митохондрий и даёт восстановленные переносчики. " * 20,
    "Второй закон Ньютона гласит, что сила равна произведению массы на ускорение. " * 20,
]


def stored_text(material: Material, language: str) -> list:
    """The pipeline up to the point where the text is in (no vectors yet)."""
    extracted = extract_material(material)
    material.language = language
    return store_text(material, split_passages(extracted.segments, language=language), extracted)


@pytest.mark.slow
def test_text_is_searchable_before_any_vector_is_made(user, api, logged_in):
    material = pdf_material(user, make_pdf(LECTURE))
    chunks = stored_text(material, "en")
    material.refresh_from_db()
    assert material.is_searchable and material.is_in_flight
    assert all(chunk.embedding is None for chunk in material.chunks.all())

    hits = search(owner=user, query="force equals mass times acceleration", k=1).hits
    assert hits and hits[0].chunk.material_id == material.pk
    assert api.get(f"/api/materials/{material.pk}/").json()["searchable"] is True
    page = logged_in.get(f"/materials/{material.pk}/").content.decode()
    assert "Searchable" in page and "Search it now" in page

    shares: list[float] = []
    index_meaning(material, chunks, on_progress=shares.append)
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert all(chunk.embedding is not None for chunk in material.chunks.all())
    assert ChunkCrossVector.objects.filter(material_id=material.pk).count() >= len(chunks)


def test_material_page_says_searchable_in_russian(user, client):
    material = pdf_material(user, make_pdf(LECTURE))
    stored_text(material, "en")
    client.force_login(user)
    page = client.get(f"/materials/{material.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Можно искать" in page and "Искать сейчас" in page


def test_a_failed_material_is_not_called_searchable(user):
    material = pdf_material(user, make_pdf(LECTURE))
    stored_text(material, "en")
    Material.objects.filter(pk=material.pk).update(status=Material.Status.FAILED)
    material.refresh_from_db()
    assert not material.is_searchable


@pytest.mark.slow
def test_russian_chunks_get_multilingual_vectors_only_and_study_reads_them(user):
    material = pdf_material(user, unicode_pdf(RUSSIAN))
    chunks = stored_text(material, "ru")
    index_meaning(material, chunks, on_progress=lambda share: None)

    assert all(chunk.embedding is None for chunk in material.chunks.all())
    assert ChunkCrossVector.objects.filter(material_id=material.pk).exists()
    vectors = material_text(material).embeddings
    assert vectors is not None and vectors.shape == (len(chunks), 512)
    hits = search(owner=user, query="закон Ньютона сила масса ускорение", k=1).hits
    assert hits and hits[0].chunk.material_id == material.pk


def test_a_newer_attempt_stops_the_vectors_of_an_older_one(user):
    material = pdf_material(user, make_pdf(LECTURE))
    chunks = stored_text(material, "en")
    Material.objects.filter(pk=material.pk).update(attempts=F("attempts") + 1)
    with pytest.raises(Superseded):
        index_meaning(material, chunks, on_progress=lambda share: None)
    assert not material.chunks.filter(embedding__isnull=False).exists()


warmed: list[str] = []


def record_warm_up() -> None:
    warmed.append("loaded")


def test_the_worker_loads_its_models_before_the_first_job(settings):
    settings.WORKER_WARM_UP = ["tests.materials.test_progressive.record_warm_up"]
    warmed.clear()
    queue = django_rq.get_queue("default")
    EduWorker([queue], connection=queue.connection).work(burst=True)
    assert warmed == ["loaded"]


@pytest.mark.slow
def test_a_scan_is_searchable_while_it_is_being_read(user):
    from materials.ingest import extract_pdf
    from tests.support.pdfs import scan_pdf

    material = pdf_material(user, scan_pdf(make_pdf(LECTURE), max_skew=0, noise=0))
    partials = []
    extracted = extract_pdf(material, on_partial=partials.append, partial_every=1)
    assert [len({s.page for s in p.segments}) for p in partials] == [1, 2]
    assert {s.page for s in extracted.segments} == {1, 2, 3}


@pytest.mark.slow
def test_a_scan_read_in_batches_ends_with_the_whole_text_once(user, settings):
    from materials.ingest import material_process
    from tests.support.pdfs import scan_pdf

    settings.OCR_SEARCHABLE_EVERY = 1
    material = pdf_material(user, scan_pdf(make_pdf(LECTURE), max_skew=0, noise=0))
    timings = material_process(material=material)
    material.refresh_from_db()
    assert material.status == "ready" and material.is_searchable
    assert 0 < timings.searchable < timings.elapsed()
    positions = list(material.chunks.order_by("position").values_list("position", flat=True))
    assert positions == list(range(len(positions)))
    pages = {page for chunk in material.chunks.all() for page in (chunk.page_start, chunk.page_end)}
    assert (min(pages), max(pages)) == (1, 3)
    hits = search(owner=user, query="force equals mass times acceleration", k=1).hits
    assert hits and hits[0].chunk.material_id == material.pk
