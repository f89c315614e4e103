"""Offline study content: extractive, from the material's own sentences and terms.

- Summary: key sentences of the most central passages. Centrality is LexRank
  over the vectors the pipeline already stored for each passage (no
  re-embedding), and sentences inside a passage are ranked by key terms.
- Notes: sections from the PDF outline, or from numbered headings found in the
  text, or (failing both) runs of consecutive passages named by their key term.
- Flashcards: term/definition cards from definitional sentences, and cloze
  cards that blank a key term (YAKE) out of a sentence that uses it.
- Quiz: the same blanks as multiple choice, the distractors being other key
  terms of the same material.

Everything is copied from the source, so every item is in the material's
language; only the short question stems come from a per-language table.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from materials.study.text import clip, content_stems, normalize, sentences, stem
from materials.study.types import (
    Card,
    MaterialText,
    NotePoint,
    Question,
    Section,
    Source,
    StudyContent,
)

NAME = "offline"
BLANK = "_____"
# YAKE reads about 20k characters a second; it sees this much of the most
# central text, and terms are then looked up in every passage.
YAKE_SAMPLE_CHARS = 30_000
YAKE_TOP = 80
MIN_WORDS, MAX_WORDS = 6, 45
TRANSCRIPT_WINDOW = 25
_TERMINAL = re.compile(r"[.!?…。]")

STEMS = {
    "en": {"cloze": "Fill in the blank: {sentence}", "quote": "The text says: “{sentence}”"},
    "ru": {"cloze": "Вставьте пропущенное: {sentence}", "quote": "В тексте: «{sentence}»"},
    "de": {"cloze": "Ergänzen Sie die Lücke: {sentence}", "quote": "Im Text: „{sentence}“"},
}
_COMMON_WORDS = {
    "en": {"the", "of", "and", "is", "to", "in", "that", "for", "with", "are"},
    "de": {"der", "die", "und", "ist", "das", "nicht", "ein", "eine", "mit", "von", "wir"},
    "fr": {"le", "la", "les", "et", "est", "des", "une", "pour", "dans", "que"},
    "es": {"el", "los", "las", "y", "es", "una", "para", "con", "que", "del"},
    "it": {"il", "della", "che", "è", "una", "per", "con", "sono", "gli", "delle"},
}
# Words that cannot be the subject of a definition ("It is a ...").
_NOT_TERMS = {
    "it", "this", "that", "these", "those", "there", "here", "which", "what", "he", "she",
    "they", "we", "you", "i", "one", "each", "result", "answer", "example", "following",
    "это", "он", "она", "оно", "они", "мы", "вы", "я", "что", "здесь", "там", "который",
    "которая", "которые", "результат", "пример", "ответ", "такой", "такая", "так",
}  # fmt: skip

_DEFINITION_PATTERNS = {
    "en": [
        re.compile(
            r"^(?:an?\s+|the\s+)?(?P<term>[A-Za-z][\w\s'-]{1,60}?)\s+"
            r"(?:is|are)\s+(?:defined\s+as|called|known\s+as|an?|the)\s+(?P<rest>.{12,})$",
            re.IGNORECASE,
        ),
        re.compile(
            r"^(?:an?\s+|the\s+)?(?P<term>[A-Za-z][\w\s'-]{1,60}?)\s+"
            r"(?:refers?\s+to|means|denotes|describes)\s+(?P<rest>.{12,})$",
            re.IGNORECASE,
        ),
    ],
    "ru": [
        re.compile(r"^(?P<term>[^\s—–,:;][^—–:;]{1,60}?)\s+[—–-]\s+(?:это\s+)?(?P<rest>.{12,})$"),
        re.compile(
            r"^(?P<term>[^\s,:;][^,:;]{1,60}?)\s+"
            r"(?:является|называется|означает|представляет собой)\s+(?P<rest>.{12,})$"
        ),
    ],
    "de": [
        re.compile(
            r"^(?:ein|eine|der|die|das)?\s*(?P<term>[^\s,:;][^,:;]{1,60}?)\s+"
            r"(?:ist|sind|heißt|heißen|bezeichnet)\s+(?P<rest>.{12,})$",
        ),
    ],
}


@dataclass
class _Sentence:
    chunk: int
    order: int
    text: str
    norm: str
    stems: set[str]
    score: float = 0.0


def _content_language(language: str, text: str) -> str:
    """The language for YAKE's stopwords and definition patterns."""
    if language in ("en", "ru"):
        return language
    counts = Counter(w for w in normalize(text[:20_000]).split())
    best = max(_COMMON_WORDS, key=lambda code: sum(counts[w] for w in _COMMON_WORDS[code]))
    return best if sum(counts[w] for w in _COMMON_WORDS[best]) >= 5 else "en"


def lexrank(vectors: np.ndarray, *, damping: float = 0.85, iterations: int = 40) -> np.ndarray:
    """Stationary scores of a random walk over the passages' cosine-similarity graph."""
    count = len(vectors)
    if count == 0:
        return np.zeros(0)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1, norms)
    similarity = np.clip(unit @ unit.T, 0, None)
    np.fill_diagonal(similarity, 0)
    rows = similarity.sum(axis=1, keepdims=True)
    transition = np.divide(
        similarity, rows, out=np.full_like(similarity, 1 / count), where=rows > 0
    )
    scores = np.full(count, 1 / count)
    for _ in range(iterations):
        scores = (1 - damping) / count + damping * (transition.T @ scores)
    return scores / scores.max()


def _is_candidate(sentence: str) -> bool:
    word_count = len(sentence.split())
    if not MIN_WORDS <= word_count <= MAX_WORDS:
        return False
    if not (sentence[0].isupper() or sentence[0].isdigit()) or sentence[-1] not in ".!?…»”\"')":
        return False
    letters = sum(ch.isalpha() for ch in sentence)
    return letters / len(sentence) >= 0.7 and "http" not in sentence


def _key_terms(
    text: str, language: str, chunk_norms: list[str], *, top: int = YAKE_TOP
) -> tuple[list[str], set[str]]:
    """Key terms (1-2 words) that occur in some passages but not in most of them.

    Also returns YAKE's stopwords for the language, which the definition
    cards use to reject subjects like "Such files" or "In each case".
    """
    import yake

    extractor = yake.KeywordExtractor(lan=language, n=2, top=top * 2, dedupLim=0.8)
    stopwords = {normalize(w) for w in extractor.stopword_set if w}
    terms: list[str] = []
    seen: set[str] = set()
    count = len(chunk_norms)
    for term, _ in extractor.extract_keywords(text):
        norm = normalize(term)
        if len(norm) < 3 or norm in seen or norm.replace(" ", "").isdigit():
            continue
        if norm in _NOT_TERMS or any(ch.isdigit() for ch in norm):
            continue
        parts = norm.split()
        if parts[0] in stopwords or parts[-1] in stopwords or (len(parts) == 1 and len(norm) < 4):
            continue
        # YAKE may join words across a line or paragraph break ("files Binary").
        if not re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE):
            continue
        document_frequency = sum(f" {norm} " in f" {chunk} " for chunk in chunk_norms)
        # A word on many pages ("file", "Definition") names nothing in particular.
        if document_frequency == 0 or (count >= 6 and document_frequency > 0.35 * count):
            continue
        seen.add(norm)
        terms.append(term)
        if len(terms) >= top:
            break
    # Two-word terms first: "binary file" makes a better blank than "file".
    terms.sort(key=lambda t: " " not in t.strip())
    return terms, stopwords


def _blank(sentence: str, term: str) -> tuple[str, str] | None:
    """The sentence with every occurrence of the term blanked, and the term as written."""
    pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
    found = pattern.search(sentence)
    if found is None:
        return None
    blanked = pattern.sub(BLANK, sentence)
    if len(normalize(blanked.replace(BLANK, " ")).split()) < 4:
        return None
    return blanked, found.group(0)


class OfflineGenerator:
    """Extractive generation on the machine, with no model server."""

    name = NAME

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed

    # --- entry point -----------------------------------------------------
    def generate(
        self, material: MaterialText, beat: Callable[[], None] | None = None
    ) -> StudyContent:
        beat = beat or (lambda: None)
        sources = material.sources
        if not sources:
            return StudyContent(summary="", sections=[], cards=[], questions=[], generator=NAME)
        # Seeded: the same material always gets its choices in the same order.
        rng = random.Random(self.seed if self.seed is not None else material.material_id)  # noqa: S311
        centrality = self._centrality(material)
        chunk_norms = [normalize(s.text) for s in sources]
        sample = self._sample(sources, centrality)
        language = _content_language(material.language, sample)
        terms, stopwords = _key_terms(sample, language, chunk_norms)
        term_stems = {stem(w) for term in terms for w in normalize(term).split()}

        all_sentences = self._sentences(sources, centrality, term_stems)
        beat()
        summary = self._summary(all_sentences, count=min(10, 4 + len(sources) // 25))
        sections = self._sections(material, all_sentences, terms, chunk_norms)
        definitions = self._definition_cards(
            all_sentences, language, sources, stopwords=stopwords, term_stems=term_stems
        )
        clozes = self._cloze_candidates(all_sentences, terms, sources)
        beat()
        card_target = max(10, min(60, len(sources) // 3))
        cards = (definitions + [card for card, _ in clozes])[: card_target + 10]
        questions = self._questions(
            clozes, terms, language, rng, target=max(5, min(20, len(sources) // 6))
        )
        return StudyContent(
            summary=summary,
            sections=sections,
            cards=cards,
            questions=questions,
            generator=NAME,
            stats={"key_terms": len(terms), "target_cards": card_target},
        )

    # --- scoring ----------------------------------------------------------
    @staticmethod
    def _centrality(material: MaterialText) -> np.ndarray:
        count = len(material.sources)
        vectors = material.embeddings
        if vectors is None or len(vectors) != count:
            return np.ones(count)
        return lexrank(np.asarray(vectors, dtype=np.float32))

    @staticmethod
    def _sample(sources: list[Source], centrality: np.ndarray) -> str:
        """The most central passages, in reading order, up to YAKE's budget."""
        order = np.argsort(-centrality, kind="stable")
        chosen: list[int] = []
        size = 0
        for index in order:
            if size >= YAKE_SAMPLE_CHARS:
                break
            chosen.append(int(index))
            size += len(sources[index].text)
        return "\n\n".join(sources[i].text for i in sorted(chosen))

    @staticmethod
    def _sentences(
        sources: list[Source], centrality: np.ndarray, term_stems: set[str]
    ) -> list[_Sentence]:
        found = []
        for index, source in enumerate(sources):
            candidates = [s for s in sentences(source.text) if _is_candidate(s)]
            if not candidates and not _TERMINAL.search(source.text):
                # Auto-captions have no punctuation: windows of words stand in for sentences.
                tokens = source.text.split()
                candidates = [
                    " ".join(tokens[i : i + TRANSCRIPT_WINDOW])
                    for i in range(0, len(tokens), TRANSCRIPT_WINDOW)
                    if len(tokens[i : i + TRANSCRIPT_WINDOW]) >= MIN_WORDS
                ]
            for order, sentence in enumerate(candidates):
                stems = content_stems(sentence)
                hits = len(stems & term_stems)
                # Central passage, many key terms, not too long; early sentences a little higher.
                score = float(centrality[index]) * (1 + hits) / math.sqrt(max(len(stems), 4))
                score *= 1.0 if order else 1.15
                found.append(_Sentence(index, order, sentence, normalize(sentence), stems, score))
        return found

    @staticmethod
    def _pick(
        candidates: list[_Sentence], count: int, *, redundancy: float = 0.5
    ) -> list[_Sentence]:
        """The best sentences, skipping any that repeats one already picked (MMR-like)."""
        picked: list[_Sentence] = []
        for sentence in sorted(candidates, key=lambda s: -s.score):
            if len(picked) >= count:
                break
            if any(
                len(sentence.stems & p.stems) / max(1, len(sentence.stems | p.stems)) > redundancy
                for p in picked
            ):
                continue
            picked.append(sentence)
        return sorted(picked, key=lambda s: (s.chunk, s.order))

    def _summary(self, all_sentences: list[_Sentence], *, count: int) -> str:
        # At most two sentences per passage, so the summary spans the material.
        per_chunk: Counter[int] = Counter()
        candidates = []
        for sentence in sorted(all_sentences, key=lambda s: -s.score):
            if per_chunk[sentence.chunk] < 2:
                per_chunk[sentence.chunk] += 1
                candidates.append(sentence)
        return " ".join(s.text for s in self._pick(candidates, count, redundancy=0.35))

    # --- notes --------------------------------------------------------------
    def _sections(
        self,
        material: MaterialText,
        all_sentences: list[_Sentence],
        terms: list[str],
        chunk_norms: list[str],
    ) -> list[Section]:
        sources = material.sources
        spans = self._outline_spans(material) or self._heading_spans(sources)
        if not spans:
            spans = self._even_spans(sources, terms, chunk_norms)
        by_chunk: dict[int, list[_Sentence]] = {}
        for sentence in all_sentences:
            by_chunk.setdefault(sentence.chunk, []).append(sentence)
        sections = []
        for heading, first, stop in spans:
            candidates = [s for i in range(first, stop) for s in by_chunk.get(i, [])]
            points_wanted = max(2, min(5, (stop - first + 1) // 2 + 1))
            picked = self._pick(candidates, points_wanted)
            if not picked:
                continue
            sections.append(
                Section(
                    heading=clip(heading, 300),
                    points=[NotePoint(text=s.text, source=sources[s.chunk]) for s in picked],
                    source=sources[first],
                )
            )
        return sections

    @staticmethod
    def _outline_spans(material: MaterialText) -> list[tuple[str, int, int]]:
        """(heading, first chunk, stop chunk) from the PDF outline's top levels."""
        outline = material.outline
        if len(outline) < 2:
            return []
        levels = sorted({level for level, _, _ in outline})
        chosen = [e for e in outline if e[0] <= levels[min(1, len(levels) - 1)]]
        if len(chosen) > 40:
            chosen = [e for e in outline if e[0] == levels[0]]
        starts: list[tuple[str, int]] = []
        for _, title, page in chosen:
            first = next(
                (i for i, s in enumerate(material.sources) if (s.page_end or s.page or 0) >= page),
                None,
            )
            if first is None:
                continue
            if starts and starts[-1][1] == first:
                # Several headings open in the same passage: keep the deepest, most specific.
                starts[-1] = (title, first)
            else:
                starts.append((title, first))
        if not starts:
            return []
        if starts[0][1] > 0:
            starts.insert(0, (starts[0][0], 0))
            starts.pop(1)
        bounds = [first for _, first in starts] + [len(material.sources)]
        return [(title, bounds[i], bounds[i + 1]) for i, (title, _) in enumerate(starts)]

    _NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,2}\.?|[IVX]{1,4}\.)\s+\S.{2,80}$")

    def _heading_spans(self, sources: list[Source]) -> list[tuple[str, int, int]]:
        """Numbered headings ("2.1 Linear maps") standing alone as a paragraph."""
        starts: list[tuple[str, int]] = []
        for index, source in enumerate(sources):
            for paragraph in source.text.split("\n\n"):
                line = " ".join(paragraph.split())
                if (
                    len(line.split()) <= 10
                    and self._NUMBERED_HEADING.match(line)
                    and not line.endswith((".", ",", ";", ":"))
                    and sum(ch.isalpha() for ch in line) >= 4
                ):
                    if not starts or starts[-1][1] != index:
                        starts.append((line, index))
                    break
        if len(starts) < 2:
            return []
        if starts[0][1] > 0:
            starts.insert(0, (starts[0][0], 0))
            starts.pop(1)
        bounds = [first for _, first in starts] + [len(sources)]
        return [(title, bounds[i], bounds[i + 1]) for i, (title, _) in enumerate(starts)]

    @staticmethod
    def _even_spans(
        sources: list[Source], terms: list[str], chunk_norms: list[str]
    ) -> list[tuple[str, int, int]]:
        """Runs of consecutive passages, each named by its most frequent key term."""
        count = len(sources)
        parts = max(1, min(12, math.ceil(count / 6)))
        size = math.ceil(count / parts)
        spans = []
        used: set[str] = set()
        for first in range(0, count, size):
            stop = min(count, first + size)
            text = " ".join(chunk_norms[first:stop])
            ranked = sorted(
                (t for t in terms if normalize(t) not in used),
                key=lambda t: -text.count(normalize(t)),
            )
            heading = ranked[0] if ranked and normalize(ranked[0]) in text else ""
            if not heading:
                heading = (
                    clip(sentences(sources[first].text)[0], 80) if sources[first].text else "…"
                )
            used.add(normalize(heading))
            spans.append((heading[:1].upper() + heading[1:], first, stop))
        return spans

    # --- cards and questions ---------------------------------------------------
    @staticmethod
    def _definition_cards(
        all_sentences: list[_Sentence],
        language: str,
        sources: list[Source],
        *,
        stopwords: set[str],
        term_stems: set[str],
    ) -> list[Card]:
        """Cards from "X is a ...", "X — это ..." sentences whose X is a key term."""
        cards = []
        seen_terms: set[str] = set()
        for sentence in sorted(all_sentences, key=lambda s: -s.score):
            for pattern in _DEFINITION_PATTERNS.get(language, []):
                match = pattern.match(sentence.text)
                if match is None:
                    continue
                term = match.group("term").strip(" \"'«»“”")
                norm = normalize(term)
                words = norm.split()
                if not 1 <= len(words) <= 4 or norm in seen_terms:
                    continue
                if any(w in stopwords or w in _NOT_TERMS for w in words):
                    continue
                if not {stem(w) for w in words} & term_stems:
                    continue
                if not any(ch.isalpha() for ch in term) or len(term) < 3:
                    continue
                seen_terms.add(norm)
                cards.append(
                    Card(
                        front=term[:1].upper() + term[1:],
                        back=sentence.text,
                        kind="term",
                        source=sources[sentence.chunk],
                        answer=sentence.text,
                    )
                )
                break
        return cards

    @staticmethod
    def _cloze_candidates(
        all_sentences: list[_Sentence], terms: list[str], sources: list[Source]
    ) -> list[tuple[Card, str]]:
        """One cloze per key term, in the best sentence that uses it; (card, term)."""
        used_sentences: set[int] = set()
        found = []
        ranked = sorted(range(len(all_sentences)), key=lambda i: -all_sentences[i].score)
        for term in terms:
            needle = f" {normalize(term)} "
            for index in ranked:
                sentence = all_sentences[index]
                if index in used_sentences or needle not in f" {sentence.norm} ":
                    continue
                blanked = _blank(sentence.text, term)
                if blanked is None:
                    continue
                front, written = blanked
                used_sentences.add(index)
                card = Card(
                    front=front,
                    back=written,
                    kind="cloze",
                    source=sources[sentence.chunk],
                    answer=written,
                )
                found.append((card, sentence.text))
                break
        return found

    @staticmethod
    def _questions(
        clozes: list[tuple[Card, str]],
        terms: list[str],
        language: str,
        rng: random.Random,
        *,
        target: int,
    ) -> list[Question]:
        stems = STEMS.get(language, {"cloze": "{sentence}", "quote": "“{sentence}”"})
        questions = []
        # Every other cloze, so the quiz does not repeat the first flashcards word for word.
        ordered = clozes[1::2] + clozes[0::2]
        for card, sentence in ordered:
            if len(questions) >= target:
                break
            answer_norm = normalize(card.back)
            sentence_norm = f" {normalize(sentence)} "
            answer_stems = content_stems(card.back)
            # Not the answer in another case or number ("topologischen Raum").
            pool = [
                t
                for t in terms
                if f" {normalize(t)} " not in sentence_norm and not content_stems(t) & answer_stems
            ]
            # Distractors that look like the answer: same number of words, similar length.
            size = len(answer_norm.split())
            pool.sort(
                key=lambda t: (len(normalize(t).split()) != size, abs(len(t) - len(card.back)))
            )
            distractors = []
            for term in pool:
                if all(not content_stems(term) & content_stems(d) for d in distractors):
                    distractors.append(term)
                if len(distractors) == 3:
                    break
            if len(distractors) < 3:
                continue
            written_answer = card.back
            choices = [written_answer, *(_same_case(d, written_answer) for d in distractors)]
            rng.shuffle(choices)
            questions.append(
                Question(
                    question=stems["cloze"].format(sentence=card.front),
                    choices=choices,
                    answer_index=choices.index(written_answer),
                    explanation=stems["quote"].format(sentence=sentence),
                    source=card.source,
                )
            )
        return questions


def _same_case(term: str, model: str) -> str:
    """A distractor written like the answer (lower case unless the answer starts upper)."""
    if model[:1].isupper() and term[:1].islower():
        return term[:1].upper() + term[1:]
    if model[:1].islower() and term[:1].isupper() and not any(c.isupper() for c in term[1:]):
        return term[:1].lower() + term[1:]
    return term
