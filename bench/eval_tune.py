"""Trying ranking and relevance settings on the tune half only: `python -m bench.eval_tune`.

Reads only the questions of the "tune" half (bench/eval_sets, even positions)
and the off-topic questions; the untouched half is never looked at here, so
`make eval` can report it as a check that nothing was fitted to it. Prints,
for each setting, strict hit@1 / hit@5 / MRR by language and direction, then
the tutor's relevance evidence (best passage's term coverage and cosine) of
answerable and off-topic questions, fitted into the tutor's calibrated
"not found" (tutor/relevance.py) per language pair.
"""

from __future__ import annotations

import argparse
import itertools
import sys

from bench.eval import in_throwaway_database, keep_database, prepare

GRID = {
    "FUSION_WEIGHT": (1.0,),
    "NEIGHBOUR_SHARE": (0.35,),
    "MAX_SENTENCE_WORDS": (40,),
    "CROSS_WEIGHT": (2.0,),
    "SAME_LANGUAGE_WEIGHT": (0.25,),
    "CROSS_READ": (2,),
    "CANDIDATES": (20,),
    "CONTENTS_SHARE": (1.0, 0.5, 0.0),
}


def _search_rows(prepared, questions) -> dict[str, tuple[float, float, float]]:
    from bench.eval_questions import holds
    from materials.search.selectors import search

    ranks: dict[str, list[int | None]] = {}
    for question in questions:
        hits = search(
            owner=prepared.owner,
            query=question.text,
            material=prepared.materials[question.document],
            k=10,
        ).hits
        texts = prepared.page_texts[question.document]
        rank = next(
            (n for n, hit in enumerate(hits, 1) if holds(texts, hit.page, question.evidence)),
            None,
        )
        ranks.setdefault(question.group, []).append(rank)
    rows = {}
    for group, found in ranks.items():
        n = len(found)
        rows[group] = (
            sum(r == 1 for r in found) / n,
            sum(r is not None and r <= 5 for r in found) / n,
            sum(1 / r for r in found if r is not None) / n,
        )
    return rows


def _signals(prepared, questions) -> list[tuple[str, float, float, int]]:
    """(language pair, coverage, meaning, answerable) of the top passage for each question.

    Answerable: the tune half's questions, each asked of its document.
    Not: the tune half's off-topic questions, asked of every document.
    """
    from bench.eval_questions import off_topic
    from tutor.selectors import passage_retrieve

    def top(material, text: str, label: int) -> tuple[str, float, float, int] | None:
        passages = passage_retrieve(owner=prepared.owner, query=text, material=material).passages
        if not passages:
            return None
        best = passages[0]
        return best.pair, best.coverage, best.meaning or 0.0, label

    asked = [(prepared.materials[q.document], q.text, 1) for q in questions]
    asked += [
        (material, text, 0)
        for material in prepared.materials.values()
        for items in off_topic().values()
        for text, half in items
        if half == "tune"
    ]
    return [found for found in (top(*item) for item in asked) if found is not None]


def fit_logistic(x, y, *, l2: float = 0.01) -> tuple[float, list[float]]:
    """(intercept, weights) of a logistic model, classes weighed equally, L2 penalty `l2`."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1 / l2, class_weight="balanced", tol=1e-10, max_iter=10_000)
    model.fit(x, y)
    return float(model.intercept_[0]), [float(w) for w in model.coef_[0]]


def _calibrate(prepared, questions) -> None:
    """Fit relevance.CALIBRATIONS on the tune half and show what each threshold keeps."""
    from tutor.relevance import Calibration

    signals = _signals(prepared, questions)
    print("\nCalibration of 'not found' (tune half only): paste into tutor/relevance.py")
    for pair in ("en", "ru", "ru→en", "en→ru"):
        rows = [row for row in signals if row[0] == pair]
        answerable = sum(row[3] for row in rows)
        if not answerable or answerable == len(rows):
            print(f"{pair}: {answerable} answerable of {len(rows)}: not fitted")
            continue
        intercept, (coverage, meaning) = fit_logistic(
            [(row[1], row[2]) for row in rows], [row[3] for row in rows]
        )
        fitted = Calibration(round(intercept, 3), round(coverage, 3), round(meaning, 3))
        print(f'    "{pair}": {fitted!r},')
        for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            kept = sum(fitted.probability(row[1], row[2]) >= threshold for row in rows if row[3])
            declined = sum(
                fitted.probability(row[1], row[2]) < threshold for row in rows if not row[3]
            )
            print(
                f"      threshold {threshold:.1f}: answerable kept {kept}/{answerable},"
                f" off-topic declined {declined}/{len(rows) - answerable}"
            )


def _tutor_misses(prepared, questions) -> None:
    """Tune-half questions whose offline tutor answer cites no page holding the answer."""
    from bench.eval_questions import holds
    from tutor.services import conversation_create, message_ask

    misses = 0
    for question in questions:
        material = prepared.materials[question.document]
        conversation = conversation_create(owner=prepared.owner, material=material)
        message = message_ask(conversation=conversation, content=question.text)
        texts = prepared.page_texts[question.document]
        if any(holds(texts, c["page"], question.evidence) for c in message.citations):
            continue
        misses += 1
        cited = [(c["page"], c["quote"][:70]) for c in message.citations]
        print(f"- [{question.group}] {question.text} (p.{question.page}): {cited or 'not found'}")
    print(f"tutor misses on the tune half: {misses}/{len(questions)}")


TUTOR_GRID = {
    "ADD_SHARE": (0.0,),
    "QUOTES": (3,),
    "CLOSE_SHARE": (9.0, 0.95, 0.9, 0.8),  # 9: never
}


def _tutor_grid(prepared, questions) -> None:
    """The share of tune-half answers citing a page that holds the answer, per setting."""
    from bench.eval_questions import holds
    from tutor import answers
    from tutor.services import conversation_create, message_ask

    shipped = {name: getattr(answers, name) for name in TUTOR_GRID}
    for values in itertools.product(*TUTOR_GRID.values()):
        for name, value in zip(TUTOR_GRID, values, strict=True):
            setattr(answers, name, value)
        cited: dict[str, list[bool]] = {}
        for question in questions:
            material = prepared.materials[question.document]
            conversation = conversation_create(owner=prepared.owner, material=material)
            message = message_ask(conversation=conversation, content=question.text)
            texts = prepared.page_texts[question.document]
            cited.setdefault(question.group, []).append(
                any(holds(texts, c["page"], question.evidence) for c in message.citations)
            )
        cells = "  ".join(f"{g} {sum(v) / len(v):.3f}" for g, v in sorted(cited.items()))
        mark = " (shipped)" if values == tuple(shipped.values()) else ""
        print(f"tutor {dict(zip(TUTOR_GRID, values, strict=True))}{mark}: {cells}")
    for name, value in shipped.items():
        setattr(answers, name, value)


def _run(args: argparse.Namespace) -> int:
    from materials.search import evidence, ranking, selectors
    from materials.text import sentences

    prepared = prepare(args.documents)
    if prepared is None:
        return 0
    tune = [q for q in prepared.questions if q.half == "tune"]
    print(f"tune half: {len(tune)} questions")
    modules = {"FUSION_WEIGHT": selectors, "NEIGHBOUR_SHARE": evidence}
    modules["MAX_SENTENCE_WORDS"] = sentences
    modules["CROSS_WEIGHT"] = ranking
    modules["SAME_LANGUAGE_WEIGHT"] = ranking
    modules["CROSS_READ"] = selectors
    modules["CANDIDATES"] = selectors
    modules["CONTENTS_SHARE"] = selectors
    shipped = {name: getattr(modules[name], name) for name in GRID}
    if not args.relevance_only:
        for values in itertools.product(*GRID.values()):
            for name, value in zip(GRID, values, strict=True):
                setattr(modules[name], name, value)
            rows = _search_rows(prepared, tune)
            cells = "  ".join(
                f"{g} {h1:.3f}/{h5:.3f}/{m:.3f}" for g, (h1, h5, m) in sorted(rows.items())
            )
            mark = " (shipped)" if values == tuple(shipped.values()) else ""
            print(f"{dict(zip(GRID, values, strict=True))}{mark}: {cells}")
        for name, value in shipped.items():
            setattr(modules[name], name, value)
    if not args.no_calibration:
        _calibrate(prepared, tune)
    if args.tutor_grid:
        _tutor_grid(prepared, tune)
    if args.tutor_misses:
        _tutor_misses(prepared, tune)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", help="comma-separated keys (default: all)")
    parser.add_argument("--relevance-only", action="store_true", help="calibration only")
    parser.add_argument("--no-calibration", action="store_true", help="skip the calibration")
    parser.add_argument("--tutor-misses", action="store_true", help="list the tutor's misses")
    parser.add_argument("--tutor-grid", action="store_true", help="try the tutor's settings")
    args = parser.parse_args()
    return in_throwaway_database(lambda: _run(args), keep=keep_database())


if __name__ == "__main__":
    sys.exit(main())
