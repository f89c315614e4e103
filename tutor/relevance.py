"""Whether a passage answers a question: one calibrated score per language pair.

Search always returns passages, however unrelated the question. The tutor
says "not found" unless the search's best passage answers, judged by two
signals of that passage, both computed offline whatever model writes:

- lexical: the share of the question's term weight (idf in the searched
  scope) that the passage holds (`coverage`);
- meaning: the multilingual encoder's cosine of the question and the
  passage's nearest page part (`meaning`), the one signal that works in
  Russian, in English and across the two.

They are combined by a logistic model whose coefficients were fitted for
each language pair on the tune half of `make eval` (answerable questions
against off-topic ones: `python -m bench.eval_tune --calibrate`); the
untouched half only ever reports it. A pair it was not fitted on uses the
same-language English one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Calibration:
    intercept: float
    coverage: float
    meaning: float
    threshold: float = 0.5  # the probability at and above which a passage counts

    def probability(self, coverage: float, meaning: float) -> float:
        z = self.intercept + self.coverage * coverage + self.meaning * meaning
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# Fitted by `python -m bench.eval_tune --relevance-only` on the tune half
# (272 answerable questions, 46 off-topic ones asked of each of 15 documents);
# the threshold 0.4 was chosen there: answerable questions kept en 49/50,
# ru 113/113, ru→en 69/70, en→ru 38/39; off-topic declined 157/161, 183/184,
# 157/161, 181/184 (pairs are those of the top passage's language).
CALIBRATIONS: dict[str, Calibration] = {
    "en": Calibration(intercept=-6.35, coverage=5.285, meaning=22.781, threshold=0.4),
    "ru": Calibration(intercept=-10.872, coverage=19.133, meaning=23.979, threshold=0.4),
    "ru→en": Calibration(intercept=-8.522, coverage=16.237, meaning=30.581, threshold=0.4),
    "en→ru": Calibration(intercept=-8.533, coverage=12.286, meaning=26.076, threshold=0.4),
}


def pair(question_language: str, passage_language: str) -> str:
    """ "en", "ru", "ru→en" or "en→ru"; a question of unknown language is the passage's."""
    passage = passage_language if passage_language in ("ru", "en") else "en"
    question = question_language if question_language in ("ru", "en") else passage
    return question if question == passage else f"{question}→{passage}"


def calibration(name: str) -> Calibration:
    return CALIBRATIONS.get(name, CALIBRATIONS["en"])


def probability(name: str, coverage: float, meaning: float) -> float:
    """The calibrated chance that a passage with these signals answers the question."""
    return calibration(name).probability(coverage, meaning)


def is_relevant(name: str, chance: float) -> bool:
    return chance >= calibration(name).threshold
