"""The evaluation's questions and how an answer to one is scored.

A question names its document, page and an evidence phrase; a hit counts only
when the page a link opens holds that phrase (`holds`). The naive baseline
(`PageBM25`) and the rank figures (`Scores`) are measured the same way. Read
by `make eval` (bench/eval.py) and the trials beside it; no Django here.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.eval_docs import DOCUMENTS

SETS = Path(__file__).resolve().parent / "eval_sets"

# Off-topic questions, asked of every document: the tutor must decline them.
# The first six of each language are the older set; bench/eval_sets/off_topic.json
# adds more. Even positions form the tune half, odd ones the untouched half.
OFF_TOPIC_FILE = SETS / "off_topic.json"
_OLD_OFF_TOPIC = {
    "en": [
        "How do I bake sourdough bread at home?",
        "Who won the football world cup in 1998?",
        "What is the boiling point of ethanol?",
        "How do vaccines train the immune system?",
        "What causes the seasons on Earth?",
        "Who painted the Mona Lisa?",
    ],
    "ru": [
        "Как испечь хлеб на закваске?",
        "Кто написал роман «Война и мир»?",
        "Почему небо голубое?",
        "Сколько лап у паука?",
        "Когда началась Вторая мировая война?",
        "Как приготовить борщ?",
    ],
}


def off_topic() -> dict[str, list[tuple[str, str]]]:
    """language -> [(question, half)], the older questions first."""
    extra = json.loads(OFF_TOPIC_FILE.read_text()) if OFF_TOPIC_FILE.exists() else {}
    found = {}
    for language, old in _OLD_OFF_TOPIC.items():
        texts = old + [t for t in extra.get(language, []) if t not in old]
        found[language] = [
            (text, "tune" if index % 2 == 0 else "untouched") for index, text in enumerate(texts)
        ]
    return found


@dataclass(frozen=True)
class Question:
    document: str
    text: str
    language: str
    page: int
    evidence: str
    half: str  # "tune" / "untouched" (new sets); "tuned" / "held-out" (older sets)

    @property
    def cross(self) -> bool:
        return self.language != DOCUMENTS[self.document].language

    @property
    def group(self) -> str:
        """The row this question counts in: its language, or its direction across languages."""
        if self.cross:
            return f"{self.language}→{DOCUMENTS[self.document].language}"
        return self.language


def load_questions() -> list[Question]:
    questions = []
    for path in sorted(SETS.glob("*.json")):
        data = json.loads(path.read_text())
        if "document" not in data:
            continue  # the off-topic questions
        for index, item in enumerate(data["questions"]):
            half = item.get("half") or ("tune" if index % 2 == 0 else "untouched")
            questions.append(
                Question(
                    document=data["document"],
                    text=item["text"],
                    language=item["language"],
                    page=item["page"],
                    evidence=item["evidence"],
                    half=half,
                )
            )
    return questions


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def holds(page_texts: dict[int, str], page: int | None, evidence: str) -> bool:
    """Whether the page a link opens holds the evidence (page texts already normalised)."""
    return page is not None and normalise(evidence) in page_texts.get(page, "")


# --------------------------------------------------------------------------
# The naive baseline: per-page text, 1,000-character passages, BM25
# --------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE)


class PageBM25:
    """BM25 (k1 1.5, b 0.75) over 1,000-character passages that never cross a page."""

    def __init__(self, pages: dict[int, str], size: int = 1000) -> None:
        self.passages: list[tuple[int, Counter]] = []
        for number, text in sorted(pages.items()):
            for start in range(0, max(len(text), 1), size):
                tokens = _TOKEN.findall(text[start : start + size].casefold())
                if tokens:
                    self.passages.append((number, Counter(tokens)))
        self.lengths = [sum(counts.values()) for _, counts in self.passages]
        self.average = sum(self.lengths) / max(len(self.lengths), 1)
        self.frequency: Counter = Counter()
        for _, counts in self.passages:
            self.frequency.update(counts.keys())

    def pages(self, query: str, k: int = 10) -> list[int]:
        terms = set(_TOKEN.findall(query.casefold()))
        n = len(self.passages)
        scores = []
        for index, (number, counts) in enumerate(self.passages):
            score = 0.0
            for term in terms:
                tf = counts.get(term, 0)
                if not tf:
                    continue
                df = self.frequency[term]
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                norm = tf + 1.5 * (1 - 0.75 + 0.75 * self.lengths[index] / self.average)
                score += idf * tf * 2.5 / norm
            if score > 0:
                scores.append((score, index, number))
        scores.sort(key=lambda item: (-item[0], item[1]))
        return [number for _, _, number in scores[:k]]


# --------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------


@dataclass
class Scores:
    ranks: list[int | None]
    lenient: list[bool]  # hit@5 if any page of the passage's range held it (the old measure)
    empty: int = 0  # questions that came back with no result at all

    @property
    def n(self) -> int:
        return len(self.ranks)

    def hit(self, k: int) -> float:
        return sum(r is not None and r <= k for r in self.ranks) / max(self.n, 1)

    @property
    def mrr(self) -> float:
        return sum(1 / r for r in self.ranks if r is not None) / max(self.n, 1)


def first_hit(pages: list[int | None], page_texts: dict[int, str], evidence: str) -> int | None:
    for rank, page in enumerate(pages, start=1):
        if holds(page_texts, page, evidence):
            return rank
    return None
