"""Do pymorphy3 lemmas beat stems for Russian full text? `python -m bench.lemma_trial`.

A measurement, not a product change. Each Russian
document of bench/eval_sets that has a PDF text layer is read with the app's
own extractor (materials.pipeline.pdf, OCR off, so scans drop out and are
named), its pages are ranked by BM25 for every Russian question under three
tokenisations, and strict page hits are counted: the ranked page must be the
page the question lists. Halves come from bench.eval_questions.load_questions, the
project's own split; the untouched half is the one that decides.

Tokenisations:
- stem: the app's own stemmer (materials.text.words: a 6-letter prefix);
- lemma: pymorphy3's most likely normal form;
- union: both, as separate terms;
- snowball: PostgreSQL's own Snowball stems (ts_lexize in the embedded
  server under var/, as its 'russian' configuration stems), and
  lemma+snowball; skipped when the server will not start.

Whole pages are the BM25 documents (the app's passages never cross a page,
so a page is their union). No worker, no embeddings; the database only
stems words.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from bench.eval_docs import DOCUMENTS, ROOT, document_path
from bench.eval_questions import load_questions
from materials.text.words import stem, words

CACHE = ROOT / "var" / "eval-docs"
RESULTS = Path(__file__).resolve().parent / "lemma_trial.json"

# PostgreSQL's russian stop list drops these (a short subset), and the app
# drops question words before the full-text rankings (materials/search/ranking).
STOP = frozenset(
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только"
    " ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни"
    " быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где"
    " есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж"
    " тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее"
    " сейчас были куда зачем всех никогда можно при наконец два об другой хоть после над больше"
    " тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой"
    " перед иногда лучше чуть том нельзя такой им более всегда конечно всю между такое такая"
    " такие делает делают нужно почему сколько каков какова каковы какие каким какими каких какую"
    " это как".split()
)


def content_words(text: str) -> list[str]:
    """The words a full-text query would keep: no stop words, no single letters."""
    return [w for w in words(text) if w not in STOP and (len(w) > 1 or w.isdigit())]


def stem_tokens(text: str) -> list[str]:
    return [stem(w) for w in content_words(text)]


@cache
def _analyzer():  # pymorphy3 is optional (bench group) and untyped
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@cache
def lemma(word: str) -> str:
    """The most likely normal form, ё folded to е as words.normalize does."""
    return _analyzer().parse(word)[0].normal_form.replace("ё", "е")


def lemma_tokens(text: str) -> list[str]:
    return [lemma(w) for w in content_words(text)]


def union_tokens(text: str) -> list[str]:
    found = content_words(text)
    return [f"s:{stem(w)}" for w in found] + [f"l:{lemma(w)}" for w in found]


# PostgreSQL's own stems, filled by snowball_fill from the embedded server:
# word -> stem, or "" for a word its stop list drops.
SNOWBALL: dict[str, str] = {}
_SNOWBALL_SQL = """
SELECT w, CASE WHEN w ~ '^[a-z0-9]+$' THEN ts_lexize('english_stem', w)
               ELSE ts_lexize('russian_stem', w) END
FROM unnest(%s::text[]) AS w
"""


def snowball_fill(connection, texts: list[str]) -> None:
    """Ask PostgreSQL for the Snowball stems of the texts' words not seen yet.

    As its 'russian' configuration does: english_stem for ASCII words,
    russian_stem for the rest.
    """
    wanted = sorted({w for text in texts for w in words(text)} - SNOWBALL.keys())
    for word, lexemes in connection.execute(_SNOWBALL_SQL, (wanted,)).fetchall():
        SNOWBALL[word] = lexemes[0] if lexemes else ""


def snowball_tokens(text: str) -> list[str]:
    found = (SNOWBALL.get(w, w) for w in content_words(text))
    return [token for token in found if token]


def lemma_snowball_tokens(text: str) -> list[str]:
    return [f"s:{t}" for t in snowball_tokens(text)] + [f"l:{t}" for t in lemma_tokens(text)]


TOKENISERS: dict[str, Callable[[str], list[str]]] = {
    "stem": stem_tokens,
    "lemma": lemma_tokens,
    "union": union_tokens,
    "snowball": snowball_tokens,
    "lemma+snowball": lemma_snowball_tokens,
}


def _snowball_connection():
    try:
        import psycopg

        from eduplatform.embedded import database_url

        return psycopg.connect(database_url(ROOT / "var"), autocommit=True)
    except Exception as error:
        print(f"no PostgreSQL, Snowball columns skipped: {error}", file=sys.stderr)
        return None


class BM25:
    """Okapi BM25 (k1 1.5, b 0.75), the same constants as bench.eval_questions.PageBM25."""

    def __init__(self, documents: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.n = len(documents)
        lengths = np.array([len(d) for d in documents], dtype=float)
        self.norm = k1 * (1 - b + b * lengths / max(lengths.mean(), 1.0))
        self.k1 = k1
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        rows: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for index, tokens in enumerate(documents):
            for term, tf in Counter(tokens).items():
                rows[term][0].append(index)
                rows[term][1].append(tf)
        for term, (ids, tfs) in rows.items():
            self.postings[term] = (np.array(ids), np.array(tfs, dtype=float))

    def scores(self, query: list[str]) -> np.ndarray:
        total = np.zeros(self.n)
        for term in set(query):
            if term not in self.postings:
                continue
            ids, tf = self.postings[term]
            idf = math.log(1 + (self.n - len(ids) + 0.5) / (len(ids) + 0.5))
            total[ids] += idf * tf * (self.k1 + 1) / (tf + self.norm[ids])
        return total

    def ranking(self, query: list[str]) -> list[int]:
        """Document indices by score, ties by position; only those that match."""
        scores = self.scores(query)
        order = np.lexsort((np.arange(self.n), -scores))
        return [int(i) for i in order if scores[i] > 0]


def coverage(question: str, page: str, name: str) -> float:
    """Share of the question's content words whose token is on the page."""
    asked = content_words(question)
    if not asked:
        return 0.0
    tokens = set(TOKENISERS[name](page))
    found = sum(bool(set(TOKENISERS[name](w)) & tokens) for w in asked)
    return found / len(asked)


def read_pages(path: Path) -> dict[int, str]:
    """Page texts through the app's extractor and cleaner, text layer only."""
    from materials.pipeline.pdf import OcrOptions, clean_pages, extract_pages

    pages = clean_pages(list(extract_pages(path, ocr=OcrOptions(enabled=False), timeout=300)))
    return {p.number: p.text for p in pages if p.text.strip()}


def lemma_cost(sample: list[str]) -> dict[str, float]:
    """Seconds per 1,000 words: cold (every word parsed) and with the word cache."""
    analyzer = _analyzer()
    start = time.perf_counter()
    for word in sample:
        analyzer.parse(word)[0].normal_form  # noqa: B018 - timing the parse
    cold = time.perf_counter() - start
    lemma.cache_clear()
    start = time.perf_counter()
    for word in sample:
        lemma(word)
    cached = time.perf_counter() - start
    per = 1000 / max(len(sample), 1)
    return {"cold_s_per_1000": cold * per, "cached_s_per_1000": cached * per, "words": len(sample)}


def _rank(ranking: list[int], numbers: list[int], page: int) -> int | None:
    for position, index in enumerate(ranking[:10], start=1):
        if numbers[index] == page:
            return position
    return None


def _summary(ranks: list[int | None], cover: list[float]) -> dict[str, float]:
    n = max(len(ranks), 1)
    return {
        "n": len(ranks),
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
        "coverage": sum(cover) / n,
    }


def main() -> int:
    questions = [q for q in load_questions() if q.language == "ru"]
    by_document: dict[str, list] = defaultdict(list)
    for q in questions:
        if DOCUMENTS[q.document].language == "ru":
            by_document[q.document].append(q)
    ranks: dict[tuple[str, str, str], list[int | None]] = defaultdict(list)
    cover: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    skipped: dict[str, str] = {}
    sample: list[str] = []
    connection = _snowball_connection()
    tokenisers = dict(TOKENISERS)
    if connection is None:
        del tokenisers["snowball"], tokenisers["lemma+snowball"]
    for key, asked in sorted(by_document.items()):
        path, why = document_path(DOCUMENTS[key], CACHE)
        if path is None:
            skipped[key] = why
            continue
        pages = read_pages(path)
        missing = sum(q.page not in pages for q in asked)
        if missing > len(asked) / 2:
            skipped[key] = f"no text layer on {missing} of {len(asked)} answer pages (scan)"
            continue
        numbers = sorted(pages)
        if connection is not None:
            snowball_fill(connection, [*pages.values(), *(q.text for q in asked)])
        sample += [w for n in numbers for w in content_words(pages[n])][:5000]
        for name, tokenise in tokenisers.items():
            index = BM25([tokenise(pages[n]) for n in numbers])
            for q in asked:
                for group in (key, "all"):
                    ranks[group, q.half, name].append(
                        _rank(index.ranking(tokenise(q.text)), numbers, q.page)
                    )
                    cover[group, q.half, name].append(coverage(q.text, pages.get(q.page, ""), name))
        print(f"{key}: {len(pages)} pages, {len(asked)} questions", file=sys.stderr)
    table = {
        f"{group}|{half}|{name}": _summary(ranks[group, half, name], cover[group, half, name])
        for group, half, name in sorted(ranks)
    }
    result = {"table": table, "skipped": skipped, "cost": lemma_cost(sample[:20000])}
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    for row, s in table.items():
        print(
            f"{row:40} n={s['n']:3} hit@1 {s['hit@1']:.2f} hit@5 {s['hit@5']:.2f}"
            f" MRR {s['mrr']:.2f} coverage {s['coverage']:.2f}"
        )
    print("skipped:", skipped)
    print("cost:", result["cost"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
