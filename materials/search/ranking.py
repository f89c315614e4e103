"""First stage of search: the user's chunks ranked by vectors, full text and term coverage.

Every statement is limited in its SQL to the chunks of the materials the user
may read (materials.selectors.material_list_visible: their own and their
courses').
"""

from __future__ import annotations

import contextvars
import os
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from accounts.models import User
from eduplatform.ai import AIUnavailable
from eduplatform.embeddings import LOCAL_MODEL_NAME, current_model_name, get_embedder
from materials.index import crosslingual
from materials.models import Chunk, Material
from materials.selectors import material_list_visible, material_scope
from materials.text.language import question_language


def chunks_by_id(*, owner: User, chunk_ids: list[int]) -> dict[int, Chunk]:
    """The chunks of materials the owner may read, with their materials, for showing ranked ids.

    Without the vector and the tsvector: parsing 384 floats per row into
    Python cost more than the whole search SQL (bench/search.py), and no
    result shows them. No ordering either: the caller has the ranked order.
    """
    chunks = (
        Chunk.objects.filter(pk__in=chunk_ids, material__in=material_list_visible(user=owner))
        .select_related("material")
        .defer("embedding", "search_vector")
        .order_by()
    )
    return {chunk.pk: chunk for chunk in chunks}


# Candidates the HNSW scan keeps (pgvector's default is 40), a margin for
# filtered scans, not a tuned value: at 200,000 chunks over 50 users
# (bench/search.py) the planner answered one material and one student's
# materials exactly from the btree indexes, where ef_search has no effect.
HNSW_EF_SEARCH = 100


def _set_iterative_scan() -> None:
    # Without it, HNSW returns its ef_search nearest rows *before* the owner
    # filter, so a filtered search could come back with fewer than k rows.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SET hnsw.iterative_scan = relaxed_order; SET hnsw.ef_search = {int(HNSW_EF_SEARCH)}"
        )


# Both full-text rankings in one statement and one pass over the scope's
# chunks: only chunks holding one of the query's lexemes (stemmed by each
# chunk's own language) are scored, and each of them once. So a query of
# exclusions only ("-word") finds nothing here rather than everything else.
#
# Full text: chunks with all the words (websearch syntax: quotes, -word)
# first, ranked by ts_rank_cd (how close together they are), then chunks with
# only some of them, ranked by ts_rank (how often they occur: five times
# cheaper per chunk, and better on `make eval` than ts_rank_cd there).
#
# Term coverage: websearch_to_tsquery wants every term in one chunk, which a
# natural question ("Кто перевёл руководство на русский язык?") almost never
# satisfies, and ts_rank_cd counts every word alike. Here each of the query's
# lexemes weighs its inverse document frequency within the searched chunks,
# and a chunk scores the share of the query's weight it contains: rare terms
# decide, words found everywhere barely count, and a word found nowhere
# ("sourdough") weighs like the rarest word, so an unrelated question scores
# low while a one-page material still scores its own words fully. The tutor
# also uses the score as relevance evidence. A chunk holding a lexeme is
# always a candidate, so counting lexemes among candidates gives the same
# document frequencies as counting them among all chunks in scope.
#
# Only constant SQL is ever formatted into this query; values are bound parameters.
_TEXT_RANKINGS_SQL = """
WITH langs(lang, config) AS (
    VALUES ('ru', 'pg_catalog.russian'::regconfig), ('en', 'pg_catalog.english'::regconfig),
           ('simple', 'pg_catalog.simple'::regconfig)
),
terms AS MATERIALIZED (
    SELECT DISTINCT l.lang, t.lexeme, quote_literal(t.lexeme)::tsquery AS one
    FROM langs l
    CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector(l.config, %(q)s))) AS t(lexeme)
),
queries AS MATERIALIZED (
    SELECT l.lang,
           (SELECT string_agg(quote_literal(t.lexeme), ' | ')::tsquery
            FROM terms t WHERE t.lang = l.lang) AS any_lexeme,
           websearch_to_tsquery(l.config, %(q)s) AS all_terms
    FROM langs l
),
total AS (
    SELECT count(*)::float AS n FROM materials_chunk c WHERE {scope}
),
candidates AS MATERIALIZED (
    SELECT c.id, q.lang,
           CASE WHEN c.search_vector @@ q.all_terms
                THEN ts_rank_cd(c.search_vector, q.all_terms) END AS rank_all,
           CASE WHEN c.search_vector @@ q.any_lexeme
                THEN ts_rank(c.search_vector, q.any_lexeme) END AS rank_any,
           ARRAY(SELECT t.lexeme FROM terms t
                 WHERE t.lang = q.lang AND c.search_vector @@ t.one) AS found
    FROM materials_chunk c
    JOIN queries q ON q.lang = CASE WHEN c.language IN ('ru', 'en') THEN c.language
                                    ELSE 'simple' END
    -- "IS TRUE" keeps the planner off the GIN index here: its posting lists
    -- span every student's chunks, and reading them cost more than testing
    -- the few thousand chunks of one student in a row.
    WHERE {scope} AND (c.search_vector @@ q.any_lexeme) IS TRUE
),
weights AS MATERIALIZED (
    SELECT t.lang, t.lexeme,
           ln((total.n + 1) / (greatest(count(f.id), 1) + 0.5)) AS idf
    FROM terms t CROSS JOIN total
    LEFT JOIN (SELECT id, lang, unnest(found) AS lexeme FROM candidates) f
        ON f.lang = t.lang AND f.lexeme = t.lexeme
    GROUP BY t.lang, t.lexeme, total.n
),
query_weights AS MATERIALIZED (SELECT lang, sum(idf) AS weight FROM weights GROUP BY lang),
ranked AS (
    SELECT c.id, c.rank_all, c.rank_any,
           round((sum(w.idf) / min(qw.weight))::numeric, 9)::float AS coverage
    FROM candidates c
    CROSS JOIN LATERAL unnest(c.found) AS f(lexeme)
    JOIN weights w ON w.lang = c.lang AND w.lexeme = f.lexeme
    JOIN query_weights qw ON qw.lang = c.lang
    GROUP BY c.id, c.rank_all, c.rank_any
),
positions AS (
    SELECT r.*,
           row_number() OVER (ORDER BY r.rank_all DESC NULLS LAST, r.id) AS all_pos,
           row_number() OVER (ORDER BY r.rank_any DESC NULLS LAST, r.id) AS any_pos,
           row_number() OVER (ORDER BY r.coverage DESC, r.id) AS coverage_pos
    FROM ranked r
)
SELECT id, rank_all IS NOT NULL, rank_any IS NOT NULL, coverage,
       all_pos, any_pos, coverage_pos,
       (SELECT json_agg(json_build_array(w.lang, w.lexeme, w.idf)) FROM weights w)
FROM positions
WHERE all_pos <= %(depth)s OR any_pos <= %(depth)s OR coverage_pos <= %(depth)s
"""

# Russian question and helper words that PostgreSQL's russian stop list keeps
# ("Что такое …", "Что делает …", "Почему …"): as rare words they would
# otherwise outweigh the question's subject in the term rankings. English
# question words are already in PostgreSQL's english stop list.
_QUESTION_WORDS = re.compile(
    r"\b(?:такое|такой|такая|такие|делает|делают|делается|делать|сделать|нужно|надо|можно"
    r"|чему|почему|зачем|сколько|каков|какова|каковы|какой|какая|какое|какие|каким|какими"
    r"|каких|какую|ли)\b",
    re.IGNORECASE,
)


def _terms_query(query: str) -> str:
    """The query for the full-text rankings: its subject without question words."""
    stripped = " ".join(_QUESTION_WORDS.sub(" ", query).split())
    return stripped or query


RRF_K = 60  # the constant of Cormack et al.; dampens the weight of the very top ranks
# The multilingual vectors rank only the chunks in the other language than the
# question's, beside the other three rankings (see crosslingual); counted
# twice, chosen on the tune half (bench/eval_tune: 1.0 and 2.0 tried).
CROSS_WEIGHT = 2.0
# Offline, a Russian question's passages in Russian are also ranked by the
# multilingual vectors (MiniLM, the offline embedder, is English-only): the
# only meaning signal for a question in a student's own words. Chosen on the
# tune half (bench/eval_tune): Russian MRR 0.752 at 0, 0.757 at 0.25, 0.749
# at 0.5, 0.736 at 1.0 (hit@1 0.664, 0.664, 0.650, 0.636).
SAME_LANGUAGE_WEIGHT = 0.25


def _scope(owner: User, material: Material | None) -> tuple[str, dict[str, Any]]:
    # The visible materials as a handful of ids, read afresh for each search
    # (a student removed from a course stops finding it at once), rather than
    # a join to the materials table for every chunk. The owners' ids keep the
    # (owner, material) index in use.
    visible = material_scope(user=owner)
    scope = "c.owner_id = ANY(%(owners)s) AND c.material_id = ANY(%(materials)s)"
    params: dict[str, Any] = {
        "owner": owner.pk,
        "owners": visible.owner_ids,
        "materials": visible.material_ids,
    }
    if material is not None:
        scope += " AND c.material_id = %(material)s"
        params["material"] = material.pk
    return scope, params


@dataclass(frozen=True)
class TextRankings:
    full_text: list[int]  # chunk ids, best first
    coverage: list[tuple[int, float]]  # (chunk id, share of the query's term weight), best first
    # language ("ru", "en", "simple") -> the query's lexeme -> its idf in scope
    weights: dict[str, dict[str, float]] = field(default_factory=dict)


def text_rankings(scope: str, params: dict[str, Any]) -> TextRankings:
    """Full text and term coverage of the chunks in scope (see _TEXT_RANKINGS_SQL)."""
    depth = params["depth"]
    with connection.cursor() as cursor:
        cursor.execute(_TEXT_RANKINGS_SQL.format(scope=scope), params)
        rows = cursor.fetchall()
    # (id, has all terms, has any term, coverage, all_pos, any_pos, coverage_pos)
    full_text = [row[0] for row in sorted(rows, key=lambda row: row[4]) if row[1]][:depth]
    if len(full_text) < depth:
        seen = set(full_text)
        some = [row[0] for row in sorted(rows, key=lambda row: row[5]) if row[2]]
        full_text += [chunk_id for chunk_id in some if chunk_id not in seen]
    coverage = [(row[0], row[3]) for row in sorted(rows, key=lambda row: row[6])]
    weights: dict[str, dict[str, float]] = {}
    for lang, lexeme, idf in (rows[0][7] or []) if rows else []:
        weights.setdefault(lang, {})[lexeme] = float(idf)
    return TextRankings(full_text=full_text[:depth], coverage=coverage[:depth], weights=weights)


def query_weights(
    *, owner: User, query: str, material: Material | None = None
) -> dict[str, dict[str, float]]:
    """The query's lexemes and their idf among the owner's chunks in scope, by language."""
    scope, params = _scope(owner, material)
    params.update(q=_terms_query(query), depth=1)
    return text_rankings(scope, params).weights


_VECTOR_SQL = """
SELECT c.id FROM materials_chunk c
WHERE {scope} AND c.embedding_model = %(model)s
ORDER BY c.embedding <=> %(vector)s::vector LIMIT %(depth)s
"""


_query_pools: dict[bool, tuple[int, ThreadPoolExecutor]] = {}

# Threads that ask a hosted model for query vectors, per process: its calls
# wait on the network, not on a core, so a process's searches overlap them
# and one slow call does not hold the next search behind it.
HOSTED_QUERY_THREADS = 8
# How long a search waits for a hosted query vector beyond the call's own
# deadline (eduplatform.ai.interactive_call), for the thread to hand it over.
HANDOVER_SECONDS = 0.25


def _query_embedding_pool(*, hosted: bool = False) -> ThreadPoolExecutor:
    """The threads of this process that embed search queries.

    So the query's vector is computed while PostgreSQL runs the full-text
    statement (ONNX Runtime and psycopg both release the GIL while they
    work). Offline one thread is enough: a process's searches share its
    cores anyway, and ONNX Runtime sessions are safe to call from any thread.
    Made per process id: a forked RQ work horse must not inherit a pool whose
    threads did not survive the fork.
    """
    made = _query_pools.get(hosted)
    if made is None or made[0] != os.getpid():
        threads = HOSTED_QUERY_THREADS if hosted else 1
        made = (os.getpid(), ThreadPoolExecutor(threads, thread_name_prefix="query-embedding"))
        _query_pools[hosted] = made
    return made[1]


def _embed_query(query: str) -> list[float]:
    return list(get_embedder(interactive=True).embed([query])[0])


def _query_vector(pending: Future[list[float]], deadline: float | None) -> list[float]:
    """The query's vector; AIUnavailable when a hosted one is not there by the deadline.

    The wait is bounded here too, not only by the call's own timeout: a
    search must not wait out the calls queued before its own.
    """
    if deadline is None:
        return pending.result()
    try:
        return pending.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout as exc:
        pending.cancel()
        raise AIUnavailable("no query vector in time", permanent=False) from exc


def _vector_ids(scope: str, params: dict[str, Any], vector: str) -> list[int]:
    params = {**params, "vector": vector, "model": current_model_name()}
    _set_iterative_scan()
    with connection.cursor() as cursor:
        cursor.execute(_VECTOR_SQL.format(scope=scope), params)
        return [row[0] for row in cursor.fetchall()]


def _vector_weight(query: str) -> float:
    """How much the vector ranking counts in the fusion.

    The offline MiniLM is English-only: for a Russian question its neighbours
    are noise (make eval: vector hit@5 0.50 on the Russian book, 0.17 on the
    held-out Russian questions) and, even down-weighted to a quarter, flipped
    the order of passages that both full-text rankings agreed on. So offline,
    a Russian question is answered by full text alone; a hosted multilingual
    model and English questions count fully.
    """
    if current_model_name() == LOCAL_MODEL_NAME and question_language(query) == "ru":
        return 0.0
    return 1.0


@dataclass(frozen=True)
class Ranking:
    scores: list[tuple[int, float]]  # (chunk id, fused score), best first
    degraded: bool = False  # the embedding endpoint failed: full text only
    # The query's lexemes and their idf, by language (see TextRankings.weights).
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    vector: list[float] | None = None  # the query's embedding, when it was made
    # The query's multilingual vector, and the page nearest it of each chunk it ranked:
    # across languages, and offline between a Russian question and Russian passages.
    cross_vector: list[float] | None = None
    cross_anchors: dict[int, float | None] = field(default_factory=dict)  # the nearest part's page
    # Each ranking fused, by name ("vector", "full_text", "coverage", "cross",
    # "same"): chunk id -> its rank there (1 = first).
    ranks: dict[str, dict[int, int]] = field(default_factory=dict)
    coverage: dict[int, float] = field(default_factory=dict)  # chunk id -> term coverage
    cross_similarity: dict[int, float] = field(default_factory=dict)  # multilingual cosine

    @property
    def ids(self) -> list[int]:
        return [chunk_id for chunk_id, _ in self.scores]


def chunk_ranking(
    *,
    owner: User,
    query: str,
    material: Material | None = None,
    depth: int = 30,
    mode: str = "hybrid",
) -> Ranking:
    """The owner's best `depth` chunks for a query, fused by reciprocal rank.

    Hybrid fuses three rankings: vector nearest neighbours (paraphrases),
    full text by ts_rank (exact terms, websearch syntax) and idf term
    coverage (natural questions, Russian). Full text is what makes Russian work
    offline. Chunks in another language than the question's are also ranked
    by the multilingual vectors (crosslingual). When nothing else finds a
    chunk, the vectors answer whatever their weight, so a question never comes
    back empty while there are passages. In hybrid mode a dead embedding
    endpoint degrades to full text only.
    """
    query = query.strip()
    if not query:
        return Ranking(scores=[])
    scope, params = _scope(owner, material)
    params.update(q=query, depth=depth)
    rankings: list[tuple[str, list[int], float]] = []
    degraded = False
    weight = _vector_weight(query) if mode == "hybrid" else 1.0
    pending, deadline = None, None
    if mode in ("hybrid", "vector"):
        # Started first, collected after the full-text statement (log context copied).
        hosted = bool(settings.OPENAI_API_KEY)
        if hosted:
            deadline = time.monotonic() + settings.AI_INTERACTIVE_TIMEOUT + HANDOVER_SECONDS
        pending = _query_embedding_pool(hosted=hosted).submit(
            contextvars.copy_context().run, _embed_query, query
        )
    text = None
    if mode in ("hybrid", "text", "terms"):
        text = text_rankings(scope, {**params, "q": _terms_query(query)})
    cross_vector, cross, same = None, [], []
    language = question_language(query)
    other = material is None or material.language != language
    alike = material is None or material.language == language
    alike = alike and weight == 0.0 and language == "ru"
    if mode == "hybrid" and language and (other or alike):
        cross_vector = crosslingual.embed([query])[0]
    if cross_vector is not None and other:
        cross = crosslingual.ranking(scope, params, cross_vector, language)
        rankings.append(("cross", [chunk_id for chunk_id, _, _ in cross], CROSS_WEIGHT))
    if cross_vector is not None and alike:
        same = crosslingual.ranking(scope, params, cross_vector, language, same=True)
        rankings.append(("same", [chunk_id for chunk_id, _, _ in same], SAME_LANGUAGE_WEIGHT))
    if text is not None and not text.coverage and not cross and not same and mode == "hybrid":
        weight = 1.0  # nothing else found anything: never come back empty
    vector = None
    if pending is not None:
        try:
            vector = _query_vector(pending, deadline)
            if weight > 0:
                rankings.append(("vector", _vector_ids(scope, params, str(vector)), weight))
        except AIUnavailable:
            if mode == "vector":
                raise
            degraded = True
    if text is not None and mode in ("hybrid", "text"):
        rankings.append(("full_text", text.full_text, 1.0))
    if text is not None and mode in ("hybrid", "terms"):
        rankings.append(("coverage", [chunk_id for chunk_id, _ in text.coverage], 1.0))
    scores: dict[int, float] = {}
    for _, ranked, share in rankings:
        for rank, chunk_id in enumerate(ranked, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + share / (RRF_K + rank)
    best = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))[:depth]
    return Ranking(
        scores=[(chunk_id, round(scores[chunk_id], 5)) for chunk_id in best],
        degraded=degraded,
        weights=text.weights if text is not None else {},
        vector=vector,
        cross_vector=cross_vector,
        cross_anchors={chunk_id: anchor for chunk_id, _, anchor in cross + same},
        ranks={
            name: {chunk_id: rank for rank, chunk_id in enumerate(ranked, start=1)}
            for name, ranked, _ in rankings
        },
        coverage=dict(text.coverage) if text is not None else {},
        cross_similarity={chunk_id: cosine for chunk_id, cosine, _ in cross + same},
    )
