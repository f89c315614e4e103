"""The offline generator: summary, notes, flashcards and quiz from one reading of the material."""

from __future__ import annotations

import random
from collections.abc import Callable

from materials.study.offline.cards import (
    cloze_candidates,
    definition_cards,
    quiz_questions,
    term_vectors,
)
from materials.study.offline.notes import note_sections
from materials.study.offline.reading import Digest, read
from materials.study.summary import summary_sections, summary_text
from materials.study.types import MaterialText, Section, StudyContent
from materials.text.words import normalize

NAME = "offline"


class OfflineGenerator:
    """Extractive generation on the machine, with no model server."""

    name = NAME

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed

    def summary(self, material: MaterialText) -> list[Section]:
        """The extractive summary alone, section by section (what a hosted model rewrites)."""
        if not material.sources:
            return []
        return self._summary_sections(material, read(material))

    def _summary_sections(self, material: MaterialText, reading: Digest) -> list[Section]:
        return summary_sections(
            material,
            reading.sentences,
            language=reading.language,
            name_segment=lambda first, stop: self._segment_name(reading, first, stop),
        )

    @staticmethod
    def _segment_name(reading: Digest, first: int, stop: int) -> str:
        """A topic's most frequent key term, or its first words."""
        text = " ".join(reading.chunk_norms[first:stop])
        ranked = sorted(reading.terms, key=lambda t: -text.count(normalize(t)))
        if ranked and normalize(ranked[0]) in text:
            return ranked[0][:1].upper() + ranked[0][1:]
        return ""

    def generate(
        self, material: MaterialText, beat: Callable[[], None] | None = None
    ) -> StudyContent:
        beat = beat or (lambda: None)
        sources = material.sources
        if not sources:
            return StudyContent(summary="", sections=[], cards=[], questions=[], generator=NAME)
        # Seeded: the same material always gets its choices in the same order.
        rng = random.Random(self.seed if self.seed is not None else material.material_id)  # noqa: S311
        reading = read(material)
        language, terms, chunk_norms = reading.language, reading.terms, reading.chunk_norms
        all_sentences = reading.sentences
        beat()
        summary = self._summary_sections(material, reading)
        sections = note_sections(material, all_sentences, terms, chunk_norms, language)
        definitions = definition_cards(
            all_sentences,
            language,
            sources,
            stopwords=reading.stopwords,
            term_stems=reading.term_stems,
            raw_text="\n".join(s.text for s in sources),
        )
        clozes = cloze_candidates(all_sentences, terms, sources, language)
        beat()
        card_target = max(10, min(60, len(sources) // 3))
        cards = (definitions + [card for card, _ in clozes])[: card_target + 10]
        questions = quiz_questions(
            clozes,
            terms,
            language,
            rng,
            target=max(5, min(20, len(sources) // 6)),
            term_vectors=term_vectors(terms, chunk_norms, material.embeddings),
        )
        return StudyContent(
            summary=summary_text(summary),
            sections=sections,
            cards=cards,
            questions=questions,
            generator=NAME,
            stats={"key_terms": len(terms), "target_cards": card_target},
            summary_sections=summary,
        )
