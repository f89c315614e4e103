"""Search latency and recall at 200,000 chunks across 50 users.

`python -m bench.search [--json FILE] [--rebuild]`

Runs against its own database, `bench_scale`, on the same PostgreSQL server as
the app (never the app's data). The first run fills it: real passages from
../shared/corpus (cut by the product's chunker) plus real English prose from
the Python standard library's documentation, embedded with the product's
LocalEmbedder; each of the 200,000 chunks is one of those passages with its
vector perturbed by small Gaussian noise and renormalised (the same text
uploaded by many students, each copy a little different), spread over 50 users
with 20 materials each, bulk-loaded with binary COPY, then the HNSW and GIN
indexes are built. Later runs find the data and skip all of that.

Timed: `materials.search.selectors.search` (the function behind GET
/api/search/, query embedding included) for one material and across one
user's materials, p50/p95 over 200 queries. Recall@10 compares the vector
query that search ran (captured as executed) with the same query run
exactly (index scans off, so no HNSW).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

from bench.db import use_database

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "bench_scale"
USERS = 50
MATERIALS_PER_USER = 20
TOTAL_CHUNKS = 200_000
NOISE_SIGMA = 0.02  # per dimension: each copy keeps cosine ~0.93 to its source passage
MODEL_TAG = "bench-scale-v2"  # stored as the material title suffix: marks a complete fill
QUERIES = 200
K = 10
# How search's statements are told apart in the timing breakdown.
STATEMENTS = (
    ("vector", "<=>"),
    ("full_text_and_terms", "WITH langs"),
    ("hnsw_settings", "hnsw."),
)
TARGETS = {"material_p95_ms": 20.0, "user_p95_ms": 50.0, "recall_at_10": 0.95}


def base_passages() -> list[tuple[str, str]]:
    """(language, text) of a few thousand real passages, cached in the data folder."""
    from django.conf import settings

    cache = settings.DATA_DIR / "bench" / "scale-passages.json"
    if cache.exists():
        return [tuple(item) for item in json.loads(cache.read_text())]
    from bench.corpus import real_passages
    from bench.pipeline import lecture_pages
    from materials.pipeline.chunking import Segment, split_passages

    passages = real_passages()
    pages = lecture_pages(1200)
    segments = [Segment(text=text, page=number) for number, text in enumerate(pages, start=1)]
    passages += [("en", p.text) for p in split_passages(segments, language="en")]
    # The stdlib pages repeat after the docs run out; keep each text once.
    seen: set[str] = set()
    unique = [p for p in passages if not (p[1] in seen or seen.add(p[1]))]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(unique, ensure_ascii=False))
    return unique


def is_filled() -> bool:
    from materials.models import Chunk, Material

    return (
        Material.objects.filter(title__endswith=MODEL_TAG).count() == USERS * MATERIALS_PER_USER
        and Chunk.objects.count() == TOTAL_CHUNKS
    )


def fill(log: dict) -> None:
    """Create users, materials and 200k chunks; rebuild the indexes after a binary COPY."""
    import numpy as np
    from django.db import connection
    from pgvector.psycopg import register_vector
    from psycopg.types.json import Jsonb

    from accounts.models import User
    from eduplatform.embeddings import current_model_name, get_embedder
    from materials.models import Chunk, Material
    from materials.text.sentences import sentence_index

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE materials_material, materials_chunk CASCADE")
    log["migrate_s"] = round(time.perf_counter() - started, 1)

    mark = time.perf_counter()
    passages = base_passages()
    log["base_passages"] = len(passages)
    log["passages_s"] = round(time.perf_counter() - mark, 1)
    mark = time.perf_counter()
    base = np.asarray(get_embedder().embed([text for _, text in passages]), dtype=np.float32)
    log["embed_s"] = round(time.perf_counter() - mark, 1)
    mark = time.perf_counter()
    # Each passage's sentences as ingest stores them, its page filled in per copy.
    sentences = sentence_index(
        [Chunk(text=text, language=language, page_start=0) for language, text in passages]
    )
    log["sentences_s"] = round(time.perf_counter() - mark, 1)

    rng = np.random.default_rng(8)
    model = current_model_name()
    users = [
        User.objects.get_or_create(email=f"scale{i:02d}@bench.localhost")[0] for i in range(USERS)
    ]
    per_user = TOTAL_CHUNKS // USERS
    rows_done = 0
    mark = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'materials_chunk'"
            " AND indexname IN ('chunk_embedding_hnsw', 'chunk_search_vector_gin')"
        )
        index_defs = [row[0] for row in cursor.fetchall()]
        cursor.execute("DROP INDEX IF EXISTS chunk_embedding_hnsw, chunk_search_vector_gin")
    raw = connection.connection
    register_vector(raw)
    for user in users:
        # Materials of different lengths (a handout to a book), summing to per_user.
        sizes = rng.integers(60, 340, MATERIALS_PER_USER).astype(float)
        sizes = np.floor(sizes / sizes.sum() * per_user).astype(int)
        sizes[-1] += per_user - sizes.sum()
        materials = Material.objects.bulk_create(
            Material(
                owner=user,
                kind="pdf",
                title=f"{user.email} #{n} {MODEL_TAG}",
                status="ready",
                stage="ready",
                progress=100,
                embedding_model=model,
            )
            for n in range(MATERIALS_PER_USER)
        )
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY materials_chunk (material_id, owner_id, position, text, page_start, page_end,"
                " language, anchors, embedding, embedding_model, sentences)"
                " FROM STDIN WITH (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(
                ["int8", "int8", "int4", "text", "int4", "int4", "varchar", "jsonb", "vector"]
                + ["varchar", "jsonb"]
            )
            for material, size in zip(materials, sizes, strict=True):
                # A material is a run of consecutive passages, like one book.
                first = int(rng.integers(0, len(passages)))
                index = (first + np.arange(size)) % len(passages)
                noisy = base[index] + rng.normal(0, NOISE_SIGMA, (size, base.shape[1]))
                noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
                for position, (i, vector) in enumerate(zip(index, noisy, strict=True)):
                    language, text = passages[i]
                    page = position + 1
                    found = [
                        [start, end, [[a, b, page, words] for a, b, _, words in cuts]]
                        for start, end, cuts in sentences[i]
                    ]
                    copy.write_row(
                        (material.pk, user.pk, position, text, page, page, language, Jsonb([]))
                        + (vector, model, Jsonb(found))
                    )
                rows_done += size
    log["copy_s"] = round(time.perf_counter() - mark, 1)

    mark = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 2")
        for definition in index_defs:
            cursor.execute(definition)
        cursor.execute("VACUUM ANALYZE materials_chunk")
        cursor.execute("ANALYZE materials_material")
    log["index_s"] = round(time.perf_counter() - mark, 1)
    log["chunks"] = int(rows_done)
    log["fill_s"] = round(time.perf_counter() - started, 1)


def make_queries(rng, n: int) -> list[tuple[int, int, str]]:
    """(user id, material id, query): a 4-9 word phrase from a chunk of that material."""
    from materials.models import Chunk, Material

    materials = list(Material.objects.filter(title__endswith=MODEL_TAG).values_list("pk", "owner"))
    out = []
    while len(out) < n:
        material_id, owner_id = materials[int(rng.integers(0, len(materials)))]
        texts = list(Chunk.objects.filter(material_id=material_id).values_list("text", flat=True))
        words = re.findall(r"\w[\w'-]*", texts[int(rng.integers(0, len(texts)))])
        if len(words) < 12:
            continue
        length = int(rng.integers(4, 10))
        start = int(rng.integers(0, len(words) - length))
        out.append((owner_id, material_id, " ".join(words[start : start + length])))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(
    queries: list[tuple[int, int, str]],
    *,
    scope: str,
    exact: bool = False,
    force_hnsw: bool = False,
) -> dict:
    """Time search per query; capture its vector SQL and score recall@10 against exact.

    exact=True is the baseline: the same searches with index scans off, so the
    vector half reads every chunk in scope (and recall is 1 by definition).
    force_hnsw=True turns explicit sorts off, so the planner takes the HNSW
    index for the vector half even where the owner or material btree is cheaper
    (as it will be for users with many more chunks): its recall and its SQL
    time are the figures of interest there, not the whole search's time.
    """
    from django.db import connection, transaction

    from accounts.models import User
    from materials.models import Material
    from materials.search import selectors

    users = {u.pk: u for u in User.objects.filter(pk__in={q[0] for q in queries})}
    materials = {m.pk: m for m in Material.objects.filter(pk__in={q[1] for q in queries})}
    captured: list[tuple[str, object]] = []
    parts: dict[str, list[float]] = {}

    def capture(execute, sql, params, many, context):
        if "<=>" in sql:
            captured.append((sql, params))
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = next((k for k, mark in STATEMENTS if mark in sql), "other")
            parts.setdefault(kind, []).append((time.perf_counter() - started) * 1000)

    times, recalls, empty = [], [], 0
    if exact or force_hnsw:
        with connection.cursor() as cursor:
            cursor.execute(f"SET {'enable_indexscan' if exact else 'enable_sort'} = off")
    for owner_id, material_id, query in queries:
        material = materials[material_id] if scope == "material" else None
        captured.clear()
        before = {kind: len(values) for kind, values in parts.items()}
        with connection.execute_wrapper(capture):
            started = time.perf_counter()
            hits = selectors.search(owner=users[owner_id], query=query, material=material, k=K).hits
            times.append((time.perf_counter() - started) * 1000)
        for kind, values in parts.items():  # one query's statements of a kind, summed
            first = before.get(kind, 0)
            if len(values) > first:
                values[first:] = [sum(values[first:])]
        empty += not hits
        if exact or not captured:
            continue
        sql, params = captured[-1]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)  # what the search itself got (same settings)
            approximate = [row[0] for row in cursor.fetchall()][:K]
            with transaction.atomic():
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute(sql, params)
                exact_ids = [row[0] for row in cursor.fetchall()][:K]
        if exact_ids:
            recalls.append(len(set(approximate) & set(exact_ids)) / len(exact_ids))
    if exact or force_hnsw:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_indexscan; RESET enable_sort")
    return {
        "queries": len(queries),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "max_ms": round(max(times), 2),
        "recall_at_10": round(statistics.fmean(recalls), 4) if recalls else None,
        "recall_min": round(min(recalls), 2) if recalls else None,
        "empty_results": empty,
        "sql_p50_ms": {kind: round(statistics.median(v), 2) for kind, v in parts.items()},
        "sql_p95_ms": {kind: round(percentile(v, 95), 2) for kind, v in parts.items()},
    }


def embed_time(queries: list[tuple[int, int, str]]) -> float:
    """p50 of embedding one query alone: the part of search time that is not SQL."""
    from eduplatform.embeddings import get_embedder

    embedder = get_embedder()
    times = []
    for _, _, query in queries:
        started = time.perf_counter()
        embedder.embed([query])
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def plan(query: tuple[int, int, str], *, scope: str) -> str:
    """The plan of the vector half for one query: which index answers it."""
    from django.db import connection

    from accounts.models import User
    from materials.models import Material
    from materials.search import selectors

    captured = []

    def capture(execute, sql, params, many, context):
        if "<=>" in sql:
            captured.append((sql, params))
        return execute(sql, params, many, context)

    owner = User.objects.get(pk=query[0])
    material = Material.objects.get(pk=query[1]) if scope == "material" else None
    with connection.execute_wrapper(capture):
        selectors.search(owner=owner, query=query[2], material=material, k=K)
    if not captured:
        return ""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + captured[-1][0], captured[-1][1])
        lines = [row[0].strip() for row in cursor.fetchall()]
    text = " / ".join(line for line in lines if "Scan" in line or "Sort" in line)
    return re.sub(r"'\[[^\]]*\]'::vector", "'[…]'::vector", text)


def run(rebuild: bool = False, queries: int = QUERIES, ef_values: list[int] | None = None) -> dict:
    import numpy as np

    use_database(DB_NAME)
    from eduplatform.embeddings import get_embedder
    from materials.search import ranking

    result: dict = {"database": DB_NAME, "fill": {}}
    if rebuild or not is_filled():
        fill(result["fill"])
    else:
        result["fill"] = {"reused": True}
    from materials.models import Chunk

    result["chunks"] = Chunk.objects.count()
    result["users"] = USERS
    result["materials"] = USERS * MATERIALS_PER_USER
    get_embedder().embed(["warm-up"])
    qs = make_queries(np.random.default_rng(21), queries)
    # Steady state: an untimed pass of *other* queries over the same students
    # first brings their chunks into PostgreSQL's buffers (as a student's
    # first search of the day would), so the timed pass measures search work
    # rather than the page cache. The timed queries themselves are never run twice.
    warm = make_queries(np.random.default_rng(22), queries)
    for scope in ("material", "user"):
        measure(warm, scope=scope)
    result["query_embed_p50_ms"] = embed_time(qs)
    shipped = ranking.HNSW_EF_SEARCH
    for ef in ef_values or []:  # tuning: the HNSW path itself at several ef_search values
        ranking.HNSW_EF_SEARCH = ef
        result[f"hnsw_forced_ef_search={ef}"] = {
            scope: measure(qs, scope=scope, force_hnsw=True) for scope in ("material", "user")
        }
    ranking.HNSW_EF_SEARCH = shipped
    result["ef_search"] = shipped
    result["material"] = measure(qs, scope="material")
    result["user"] = measure(qs, scope="user")
    result["exact"] = {
        scope: measure(qs, scope=scope, exact=True) for scope in ("material", "user")
    }
    result["plan"] = {scope: plan(qs[0], scope=scope) for scope in ("material", "user")}
    result["targets"] = TARGETS
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--queries", type=int, default=QUERIES)
    parser.add_argument("--ef", help="also measure these hnsw.ef_search values, e.g. 40,200")
    args = parser.parse_args(argv)
    ef_values = [int(v) for v in args.ef.split(",")] if args.ef else None
    result = run(rebuild=args.rebuild, queries=args.queries, ef_values=ef_values)
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
