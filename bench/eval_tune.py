"""Trying ranking and relevance settings on the tune half only: `python -m bench.eval_tune`.

Reads only the questions of the "tune" half (bench/eval_sets, even positions)
and the off-topic questions; the untouched half is never looked at here, so
`make eval` can report it as a check that nothing was fitted to it. Prints,
for each setting, strict hit@1 / hit@5 / MRR by language and direction, then
the tutor's relevance evidence (best passage's term coverage and cosine) of
answerable and off-topic questions, for choosing TUTOR_MIN_COVERAGE.
"""

from __future__ import annotations

import argparse
import itertools
import sys

from bench.eval import OFF_TOPIC, in_throwaway_database, prepare

GRID = {
    "FUSION_WEIGHT": (1.0,),
    "NEIGHBOUR_SHARE": (0.35,),
    "MAX_SENTENCE_WORDS": (40,),
    "CROSS_WEIGHT": (2.0,),
    "CANDIDATES": (20,),
}


def _search_rows(prepared, questions) -> dict[str, tuple[float, float, float]]:
    from bench.eval import holds
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


def _relevance(prepared, questions) -> None:
    from django.conf import settings

    from tutor.selectors import passage_retrieve

    def evidence(material, text: str) -> tuple[float, float, float]:
        passages = passage_retrieve(owner=prepared.owner, query=text, material=material).passages
        cosine = max((p.cosine for p in passages if p.cosine is not None), default=0.0)
        cross = max((p.cross_cosine for p in passages if p.cross_cosine is not None), default=0.0)
        return max((p.coverage for p in passages), default=0.0), cosine, cross

    answerable = {}
    for question in questions:
        group = question.group
        answerable.setdefault(group, []).append(
            evidence(prepared.materials[question.document], question.text)
        )
    asked = [
        (key, text) for key in prepared.materials for texts in OFF_TOPIC.values() for text in texts
    ]
    off_topic = [evidence(prepared.materials[key], text) for key, text in asked]

    def relevant(e: tuple[float, float, float], t: float, tx: float) -> bool:
        return e[0] >= t or e[1] >= settings.TUTOR_MIN_COSINE or e[2] >= tx

    print("\nTutor relevance: share judged relevant (coverage >= t, cosine >= the setting,")
    print("or multilingual cosine >= tx)")
    print(
        "| t    | tx   | " + " | ".join(f"{g:>6}" for g in answerable) + " | off-topic declined |"
    )
    for threshold in (0.3, 0.35, 0.4):
        for cross in (0.25, 0.3, 0.35, 0.4, 0.45, 1.1):
            cells = []
            for found in answerable.values():
                kept = sum(relevant(e, threshold, cross) for e in found)
                cells.append(f"{kept / len(found):6.3f}")
            declined = sum(not relevant(e, threshold, cross) for e in off_topic) / len(off_topic)
            print(
                f"| {threshold:.2f} | {cross:.2f} | " + " | ".join(cells) + f" | {declined:.3f} |"
            )
    print("off-topic (coverage, cosine, multilingual cosine), highest first:")
    ranked = sorted(zip(off_topic, asked, strict=True), reverse=True)
    for (coverage, cosine, cross), (key, text) in ranked[:8]:
        print(f"  {coverage:.2f} {cosine:.2f} {cross:.2f} {key}: {text}")
    print(
        "highest multilingual cosines of off-topic questions:", sorted(e[2] for e in off_topic)[-5:]
    )


def _tutor_misses(prepared, questions) -> None:
    """Tune-half questions whose offline tutor answer cites no page holding the answer."""
    from bench.eval import holds
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
    "OVERLAP_WEIGHT": (0.0, 0.3),
    "RANK_PENALTY": (0.05, 0.2),
    "COSINE_WEIGHT": (0.3, 1.0),
}


def _tutor_grid(prepared, questions) -> None:
    """The share of tune-half answers citing a page that holds the answer, per setting."""
    from bench.eval import holds
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

    prepared = prepare(args.documents)
    if prepared is None:
        return 0
    tune = [q for q in prepared.questions if q.half == "tune"]
    print(f"tune half: {len(tune)} questions")
    modules = {"FUSION_WEIGHT": selectors, "NEIGHBOUR_SHARE": evidence}
    modules["MAX_SENTENCE_WORDS"] = evidence
    modules["CROSS_WEIGHT"] = ranking
    modules["CANDIDATES"] = selectors
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
    _relevance(prepared, tune)
    if args.tutor_grid:
        _tutor_grid(prepared, tune)
    if args.tutor_misses:
        _tutor_misses(prepared, tune)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", help="comma-separated keys (default: all)")
    parser.add_argument("--relevance-only", action="store_true")
    parser.add_argument("--tutor-misses", action="store_true", help="list the tutor's misses")
    parser.add_argument("--tutor-grid", action="store_true", help="try the tutor's settings")
    args = parser.parse_args()
    return in_throwaway_database(lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
