"""Trying other second-stage orders on the tune half only: `python -m bench.rerank_fit`.

Measurements, not product changes (docs/benchmarks.md, "Second-stage
trials"). For each tune-half question, every first-stage candidate of
search (materials.search.selectors.candidates) is described by FEATURES and
labelled by whether the page its link opens holds the answer. Then:

- a conditional logit (softmax over a question's candidates) is fitted, and
  five-fold cross-validation over the tune questions says whether it orders
  better than the shipped score on questions it was not fitted on;
- `--grid`: the shipped score plus the multilingual cosine (across languages
  and within one), and plus the scores of other candidates opening the same
  page.

The untouched half is never read. Run with EVAL_KEEP_DB=1 (documents
processed once).
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass

import numpy as np

from bench.eval import in_throwaway_database, keep_database, prepare

FEATURES = (
    "fused",  # fused reciprocal-rank score, as a share of the top candidate's
    "evidence",  # the best sentence's share of the query's term weight
    "contents",  # 1 when the passage reads as a table of contents
    "full_text",  # 5 / (5 + rank) in each first-stage ranking, 0 when absent
    "coverage_rank",
    "vector",
    "cross",
    "same",
    "coverage",  # the passage's share of the query's term weight
    "meaning",  # multilingual cosine of the question and the passage's nearest part
    "words",  # the best sentence's length, up to 40 words, as a share of 40
    "across",  # 1 when the passage is in another language than the question
    "across_evidence",
    "across_meaning",
)
FOLDS = 5


@dataclass
class Asked:
    group: str
    x: np.ndarray  # candidates × FEATURES
    y: np.ndarray  # 1 where the candidate's page holds the answer
    shipped: np.ndarray  # the shipped score of each candidate
    pages: list  # (material, page) each candidate's link opens


def _features(hit, ranking, meaning: float, language: str | None) -> list[float]:
    from materials.search.selectors import reads_as_contents

    def rank(name: str) -> float:
        found = ranking.ranks.get(name, {}).get(hit.chunk.pk)
        return 5 / (5 + found) if found else 0.0

    sentence = hit.sentence
    evidence = sentence.score if sentence else 0.0
    words = min(len(sentence.text.split()), 40) / 40 if sentence else 0.0
    across = 1.0 if language and hit.chunk.language != language else 0.0
    fused = dict(ranking.scores)[hit.chunk.pk] / ranking.scores[0][1]
    return [
        fused,
        evidence,
        1.0 if reads_as_contents(hit.chunk.text) else 0.0,
        rank("full_text"),
        rank("coverage"),
        rank("vector"),
        rank("cross"),
        rank("same"),
        ranking.coverage.get(hit.chunk.pk, 0.0),
        meaning,
        words,
        across,
        across * evidence,
        across * meaning,
    ]


def _meanings(owner, hits, ranking) -> dict[int, float]:
    """Each candidate's multilingual cosine to the question, when the question has that vector."""
    from materials.index import crosslingual

    if ranking.cross_vector is None:
        return {}
    found = dict(ranking.cross_similarity)
    missing = [hit.chunk.pk for hit in hits if hit.chunk.pk not in found]
    owners = sorted({hit.chunk.owner_id for hit in hits})
    found.update(
        crosslingual.chunk_similarities(
            owner_ids=owners, chunk_ids=missing, vector=ranking.cross_vector
        )
    )
    return found


def _page(hit, ranking):
    """The page the hit's link opens: across languages, its nearest part's (selectors)."""
    anchor = ranking.cross_anchors.get(hit.chunk.pk)
    if hit.chunk.pk in ranking.cross_anchors and (hit.sentence is None or hit.sentence.score <= 0):
        if any(p.anchor == anchor for s in hit.sentences for p in s.pieces):
            return anchor
    return hit.page


def _collect(prepared, questions) -> list[Asked]:
    from bench.eval import holds
    from materials.search.selectors import candidates
    from materials.text.language import question_language

    asked = []
    for question in questions:
        material = prepared.materials[question.document]
        hits, ranking = candidates(owner=prepared.owner, query=question.text, material=material)
        if not hits:
            continue
        meanings = _meanings(prepared.owner, hits, ranking)
        language = question_language(question.text)
        texts = prepared.page_texts[question.document]
        pages = [(hit.chunk.material_id, _page(hit, ranking)) for hit in hits]
        y = np.array([holds(texts, page, question.evidence) for _, page in pages], dtype=float)
        x = np.array([_features(h, ranking, meanings.get(h.chunk.pk, 0.0), language) for h in hits])
        shipped = np.array([hit.score for hit in hits])
        asked.append(Asked(question.group, x, y, shipped, pages))
    return asked


def _loss(w: np.ndarray, asked: list[Asked], l2: float) -> tuple[float, np.ndarray]:
    """The conditional logit's negative log-likelihood of the right candidates, with L2."""
    total, grad = 0.0, np.zeros_like(w)
    for item in asked:
        if not item.y.any():
            continue
        s = item.x @ w
        s -= s.max()
        p = np.exp(s) / np.exp(s).sum()
        right = item.y > 0
        q = p * right / p[right].sum()
        total -= np.log(p[right].sum())
        grad -= (q - p) @ item.x
    n = max(len(asked), 1)
    return total / n + l2 * float(w @ w), grad / n + 2 * l2 * w


def fit(asked: list[Asked], l2: float) -> np.ndarray:
    from scipy.optimize import minimize

    start = np.zeros(asked[0].x.shape[1])
    return minimize(_loss, start, args=(asked, l2), jac=True, method="L-BFGS-B").x


def _ranks(scores: np.ndarray, y: np.ndarray) -> tuple[bool, bool, float]:
    order = np.argsort(-scores, kind="stable")
    right = [n for n, index in enumerate(order, 1) if y[index] > 0]
    first = right[0] if right else None
    return first == 1, first is not None and first <= 5, 1 / first if first else 0.0


def _table(asked: list[Asked], scores: list[np.ndarray]) -> str:
    """hit@1/hit@5/MRR by question group."""
    by_group: dict[str, list[tuple[bool, bool, float]]] = {}
    for item, score in zip(asked, scores, strict=True):
        by_group.setdefault(item.group, []).append(_ranks(score, item.y))
    cells = []
    for group, found in sorted(by_group.items()):
        n = len(found)
        h1, h5, mrr = (sum(f[i] for f in found) / n for i in range(3))
        cells.append(f"{group} {h1:.3f}/{h5:.3f}/{mrr:.3f}")
    return "  ".join(cells)


def _learned(asked: list[Asked]) -> None:
    for l2 in (0.03, 0.01, 0.003, 0.001, 0.0001):
        order = list(range(len(asked)))
        random.Random(7).shuffle(order)
        predicted: list[np.ndarray] = [np.zeros(0)] * len(asked)
        for fold in range(FOLDS):
            held = set(order[fold::FOLDS])
            w = fit([a for i, a in enumerate(asked) if i not in held], l2)
            for i in held:
                predicted[i] = asked[i].x @ w
        print(f"conditional logit, L2 {l2}, {FOLDS}-fold CV: {_table(asked, predicted)}")


def _grid(asked: list[Asked]) -> None:
    col = {name: i for i, name in enumerate(FEATURES)}
    for alpha in (0.5, 1.0, 2.0, 3.0):
        for beta in (0.0, 0.5, 1.0):
            scores = []
            for a in asked:
                across, meaning = a.x[:, col["across"]], a.x[:, col["meaning"]]
                scores.append(a.shipped + alpha * across * meaning + beta * (1 - across) * meaning)
            print(f"+ cosine × {alpha} across, × {beta} within: {_table(asked, scores)}")
    for gamma in (0.1, 0.2, 0.5, 1.0):
        for among in (3, 20):
            scores = []
            for a in asked:
                order = np.argsort(-a.shipped, kind="stable")[:among]
                votes = [
                    sum(a.shipped[j] for j in order if j != i and a.pages[j] == a.pages[i])
                    for i in range(len(a.shipped))
                ]
                scores.append(a.shipped + gamma * np.array(votes))
            print(f"+ same-page votes × {gamma} among {among}: {_table(asked, scores)}")


def _run(args: argparse.Namespace) -> int:
    prepared = prepare(None)
    if prepared is None:
        return 0
    tune = [q for q in prepared.questions if q.half == "tune"]
    asked = _collect(prepared, tune)
    print(f"tune half: {len(asked)} questions with candidates")
    print(f"shipped score: {_table(asked, [a.shipped for a in asked])}")
    if args.grid:
        _grid(asked)
    else:
        _learned(asked)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", action="store_true", help="hand-made additions, not a fit")
    args = parser.parse_args()
    return in_throwaway_database(lambda: _run(args), keep=keep_database())


if __name__ == "__main__":
    sys.exit(main())
