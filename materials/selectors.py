"""Reads on materials and chunks. Every selector takes the owner."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from accounts.models import User
from eduplatform.embeddings import LOCAL_MODEL_NAME, current_model_name, get_embedder
from materials.models import Chunk, Material
from materials.pipeline.chunking import detect_language


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


# Each chunk is matched with the text-search configuration of its own language.
_TSQUERY_BY_LANGUAGE = (
    "CASE c.language"
    " WHEN 'ru' THEN websearch_to_tsquery('pg_catalog.russian'::regconfig, %(q)s)"
    " WHEN 'en' THEN websearch_to_tsquery('pg_catalog.english'::regconfig, %(q)s)"
    " ELSE websearch_to_tsquery('pg_catalog.simple'::regconfig, %(q)s) END"
)
# Any of the words, for when no chunk holds all of them (natural questions,
# Russian inflection): ranked by how many of them a chunk has and how close.
_ANY_TERM_BY_LANGUAGE = (
    "CASE c.language"
    " WHEN 'ru' THEN to_tsquery('pg_catalog.russian'::regconfig, replace("
    "plainto_tsquery('pg_catalog.russian'::regconfig, %(q)s)::text, ' & ', ' | '))"
    " WHEN 'en' THEN to_tsquery('pg_catalog.english'::regconfig, replace("
    "plainto_tsquery('pg_catalog.english'::regconfig, %(q)s)::text, ' & ', ' | '))"
    " ELSE to_tsquery('pg_catalog.simple'::regconfig, replace("
    "plainto_tsquery('pg_catalog.simple'::regconfig, %(q)s)::text, ' & ', ' | ')) END"
)
# Only constant SQL is ever formatted into these queries; values are bound parameters.
_CHUNKS_IN_SCOPE = (
    "SELECT c.id FROM materials_chunk c JOIN materials_material m ON m.id = c.material_id"
)
RRF_K = 60  # the constant of Cormack et al.; dampens the weight of the very top ranks


def _vector_weight(query: str) -> float:
    """How much the vector ranking counts in the fusion.

    The offline MiniLM is English-only: for a Russian question its neighbours
    are close to noise (make eval: vector hit@5 0.43 on the Russian book, full
    text 0.79), so full text leads there. A hosted multilingual model counts fully.
    """
    if current_model_name() == LOCAL_MODEL_NAME and detect_language(query) == "ru":
        return 0.25
    return 1.0


def _ranked_ids(sql: str, params: dict) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def chunk_search(
    *,
    owner: User,
    query: str,
    material: Material | None = None,
    k: int = 5,
    mode: str = "hybrid",
) -> list[SearchHit]:
    """Hybrid search: vector nearest neighbours and full text, fused by reciprocal rank.

    Full text finds exact terms and works for Russian (MiniLM is English-only);
    vectors find paraphrases. Both halves are limited to the owner's own chunks
    inside the SQL itself.
    """
    query = query.strip()
    if not query:
        return []
    depth = max(20, k * 4)
    scope = "c.owner_id = %(owner)s AND NOT m.is_hidden"
    params: dict = {"owner": owner.pk, "q": query, "depth": depth}
    if material is not None:
        scope += " AND c.material_id = %(material)s"
        params["material"] = material.pk

    vector_ids: list[int] = []
    text_ids: list[int] = []
    if mode in ("hybrid", "vector"):
        params["vector"] = str(get_embedder().embed([query])[0])
        params["model"] = current_model_name()
        _set_iterative_scan()
        vector_ids = _ranked_ids(
            f"{_CHUNKS_IN_SCOPE} WHERE {scope} AND c.embedding_model = %(model)s"
            " ORDER BY c.embedding <=> %(vector)s::vector LIMIT %(depth)s",
            params,
        )
    if mode in ("hybrid", "text"):
        # Chunks with all the words (websearch syntax: quotes, -word) rank first;
        # chunks with only some of them follow.
        for tsquery in (_TSQUERY_BY_LANGUAGE, _ANY_TERM_BY_LANGUAGE):
            if len(text_ids) >= depth:
                break
            found = _ranked_ids(
                f"{_CHUNKS_IN_SCOPE} WHERE {scope} AND c.search_vector @@ ({tsquery})"
                f" ORDER BY ts_rank_cd(c.search_vector, ({tsquery})) DESC, c.id"
                " LIMIT %(depth)s",
                params,
            )
            text_ids += [chunk_id for chunk_id in found if chunk_id not in text_ids]
        text_ids = text_ids[:depth]
    scores: dict[int, float] = {}
    for ranked, weight in ((vector_ids, _vector_weight(query)), (text_ids, 1.0)):
        for rank, chunk_id in enumerate(ranked, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (RRF_K + rank)
    best = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))[:k]
    chunks = Chunk.objects.filter(pk__in=best, owner=owner).select_related("material")
    by_id = {chunk.pk: chunk for chunk in chunks}
    return [
        SearchHit(chunk=by_id[chunk_id], score=round(scores[chunk_id], 5))
        for chunk_id in best
        if chunk_id in by_id
    ]


# Control characters cannot occur in extracted text, so they mark highlights
# safely until the snippet has been HTML-escaped.
HEADLINE_START, HEADLINE_STOP = "\x02", "\x03"


def chunk_headlines(*, owner: User, query: str, chunk_ids: list[int]) -> dict[int, str]:
    """Short snippets of the owner's chunks around the query's terms (ts_headline).

    Terms are wrapped in HEADLINE_START/HEADLINE_STOP; a chunk that matched
    only by meaning gets its opening words without marks.
    """
    query = query.strip()
    if not query or not chunk_ids:
        return {}
    options = (
        f"StartSel={HEADLINE_START}, StopSel={HEADLINE_STOP}, MaxWords=35, MinWords=15,"
        ' MaxFragments=2, FragmentDelimiter=" … "'
    )
    sql = (
        "SELECT c.id, CASE c.language"
        " WHEN 'ru' THEN ts_headline('pg_catalog.russian'::regconfig, c.text,"
        " websearch_to_tsquery('pg_catalog.russian'::regconfig, %(q)s), %(options)s)"
        " WHEN 'en' THEN ts_headline('pg_catalog.english'::regconfig, c.text,"
        " websearch_to_tsquery('pg_catalog.english'::regconfig, %(q)s), %(options)s)"
        " ELSE ts_headline('pg_catalog.simple'::regconfig, c.text,"
        " websearch_to_tsquery('pg_catalog.simple'::regconfig, %(q)s), %(options)s) END"
        " FROM materials_chunk c WHERE c.owner_id = %(owner)s AND c.id = ANY(%(ids)s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"q": query, "options": options, "owner": owner.pk, "ids": chunk_ids})
        return {row[0]: row[1] for row in cursor.fetchall()}
