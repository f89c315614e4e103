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

from materials.study.summary import pick, readable, summary_sections, summary_text
from materials.study.text import (
    clip,
    content_stems,
    normalize,
    opens_on_reference,
    points_elsewhere,
    sentences,
    stem,
    without_connective,
)
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
    "en": {
        "cloze": "Fill in the blank: {sentence}",
        "quote": "The text says: “{sentence}”",
        "what": "What is {term}?",
        "what_plural": "What are {term}?",
    },
    "ru": {
        "cloze": "Вставьте пропущенное: {sentence}",
        "quote": "В тексте: «{sentence}»",
        "what": "Что такое {term}?",
        "what_plural": "Что такое {term}?",
    },
    "de": {
        "cloze": "Ergänzen Sie die Lücke: {sentence}",
        "quote": "Im Text: „{sentence}“",
        "what": "Was ist {term}?",
        "what_plural": "Was sind {term}?",
    },
}
# A term card asks for the term when the language has no "What is …?" wording here.
_PLAIN_STEMS = {"cloze": "{sentence}", "quote": "“{sentence}”", "what": "{term}"}
# Longest a sentence may get with the one before it added to say what "this" is.
MAX_CONTEXT_WORDS = 70
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
    # Conjunctions and adverbs that open a clause, not a name ("Поскольку одно ядро …").
    "if", "when", "since", "because", "although", "while", "where", "unless", "once",
    "поскольку", "если", "когда", "хотя", "пока", "чтобы", "так как", "потому", "где",
    # Pointers and asides, not names ("Следующая пара рамок", "Примечание").
    "следующая", "следующий", "следующее", "следующие", "предыдущий", "previous", "next",
    "примечание", "замечание", "note", "таким", "образом", "типа",
    "случае", "помощью", "например", "вручную", "показано", "также", "тоже", "может",
    "можно", "нужно", "должны", "будет", "было", "были", "является", "являются",
}  # fmt: skip
# A one-word Russian "term" ending like an adjective ("внутренней") names nothing alone.
_RUSSIAN_ADJECTIVE = re.compile(r"(?:ый|ий|ая|яя|ое|ее|ые|ие|ого|его|ому|ему|ых|их)$")
# A blank inside a larger token ("GNU/_____", "btex . . . _____") gives the answer away.
_BLANK_IN_TOKEN = re.compile(r"[/\\_.-]_____|_____[/\\_-]")
# Russian verb endings: a key "term" that ends so ("можете использовать", "позволяет")
# names an action, not a thing, and makes a poor blank and a poor distractor.
_RUSSIAN_VERB = re.compile(r"(?:ть|ться|тся|ете|ите|ает|яет|ует|еет|ают|яют|уют)$")
_HEADING_START = re.compile(
    r"^(?:\d{1,2}(?:\.\d{1,2})+\.?|[A-ZА-Я]\.\d{1,2}(?:\.\d{1,2})*|"
    r"(?:chapter|appendix|глава|приложение)\s+[A-ZА-Я0-9]{1,3}\b|\d{1,3}[:.])\s"
    r"|^[¹²³⁴⁵⁶⁷⁸⁹⁰*†]|^\d+[¹²³⁴⁵⁶⁷⁸⁹⁰]*[A-ZА-ЯЁ]",
    re.IGNORECASE,
)
_CAPS_RUN = re.compile(r"\b[A-ZА-ЯЁ]{3,}\s+[A-ZА-ЯЁ]{3,}\b")
_GLUED = re.compile(r"[^\W\d_]{32,}|\s\.\s\.\s|\.{4,}")  # or a contents page's leader dots
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_CODE_LIKE = re.compile(r"[._()/\\<>=$#@{}\[\]]|\d|[a-zа-я][A-ZА-Я]")

_VAGUE_DEFINITION = {
    "related", "same", "similar", "following", "above", "previous", "this", "these", "that",
    "тот", "такой", "такая", "такое", "следующий", "следующая", "этот", "это", "эта",
}  # fmt: skip
_DEFINITION_PATTERNS = {
    "en": [
        re.compile(
            r"^(?P<article>an?\s+|the\s+)?(?P<term>[A-Za-z][\w\s'-]{1,60}?)\s+"
            r"(?P<verb>is|are)\s+(?:defined\s+as|called|known\s+as|an?|the)\s+(?P<rest>.{12,})$",
            re.IGNORECASE,
        ),
        re.compile(
            r"^(?P<article>an?\s+|the\s+)?(?P<term>[A-Za-z][\w\s'-]{1,60}?)\s+"
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
class _Reading:
    language: str
    chunk_norms: list[str]
    terms: list[str]
    stopwords: set[str]
    term_stems: set[str]
    sentences: list[_Sentence]


@dataclass
class _Sentence:
    chunk: int
    order: int
    text: str
    norm: str
    stems: set[str]
    score: float = 0.0
    # The sentence before it in the same passage: what "this" or "it" may point at.
    previous: str = ""


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


def _is_clean(sentence: str, language: str) -> bool:
    """Prose in the material's language, not a heading, a cross-reference or glued text.

    PDFs run a heading into the sentence after it ("2.2.1 Общие опции Опции,
    воспринимаемые …") and keep table-of-contents pointers ("see Chapter 5
    [Imports], page 24"); neither makes an item a student can answer.
    """
    if _HEADING_START.match(sentence) or _CAPS_RUN.search(sentence) or _GLUED.search(sentence):
        return False
    if points_elsewhere(sentence):
        return False
    cyrillic = len(_CYRILLIC.findall(sentence))
    latin = len(_LATIN.findall(sentence))
    if language == "ru":
        return cyrillic >= latin
    if language in ("en", "de", "fr", "es", "it"):
        return cyrillic == 0
    return True


def standalone(sentence: str, previous: str, language: str) -> str | None:
    """The sentence made readable alone, or None when it cannot be.

    A sentence that opens on a reference ("In this case …", "Это …") loses a
    mere connective ("However, …"), or takes the sentence before it along when
    that one stands alone and the two are short enough to read as one item.
    """
    if not opens_on_reference(sentence, language):
        return sentence
    bare = without_connective(sentence)
    if not opens_on_reference(bare, language):
        return bare
    if (
        previous
        and _is_clean(previous, language)
        and not opens_on_reference(previous, language)
        and len(previous.split()) + len(sentence.split()) <= MAX_CONTEXT_WORDS
        and previous[-1:] in ".!?…:»”\"')"
    ):
        return f"{previous} {sentence}"
    return None


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
    # Manuals mix languages: "You will" in a Russian book is no term either.
    other = "en" if language != "en" else "ru"
    stopwords |= {normalize(w) for w in yake.KeywordExtractor(lan=other).stopword_set if w}
    terms: list[str] = []
    seen: set[str] = set()
    count = len(chunk_norms)
    for term, _ in extractor.extract_keywords(text):
        norm = normalize(term)
        if len(norm) < 3 or norm in seen or norm.replace(" ", "").isdigit():
            continue
        if any(ch.isdigit() for ch in norm) or any(p in _NOT_TERMS for p in norm.split()):
            continue
        parts = norm.split()
        if any(p in stopwords for p in parts) or (len(parts) == 1 and len(norm) < 4):
            continue
        if language == "ru" and any(_RUSSIAN_VERB.search(p) for p in parts):
            continue
        if language == "en" and len(parts) > 1 and parts[-1].endswith("ed"):
            # "object created", "objects called": a noun and a verb, not a term.
            continue
        if term.isupper() and (len(parts) > 1 or len(term) > 5):
            # "ОТДЕЛЬНЫХ КОМПОНЕНТ", "ГЛАВА": a running heading, not a term.
            continue
        if language == "ru" and len(parts) == 1 and _RUSSIAN_ADJECTIVE.search(norm):
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
    if len(normalize(blanked.replace(BLANK, " ")).split()) < 4 or _BLANK_IN_TOKEN.search(blanked):
        return None
    return blanked, found.group(0)


class OfflineGenerator:
    """Extractive generation on the machine, with no model server."""

    name = NAME

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed

    # --- entry point -----------------------------------------------------
    def _read(self, material: MaterialText) -> _Reading:
        """What every part reads: centrality, key terms and the scored sentences."""
        sources = material.sources
        centrality = self._centrality(material)
        chunk_norms = [normalize(s.text) for s in sources]
        sample = self._sample(sources, centrality)
        language = _content_language(material.language, sample)
        terms, stopwords = _key_terms(sample, language, chunk_norms)
        term_stems = {stem(w) for term in terms for w in normalize(term).split()}
        all_sentences = self._sentences(sources, centrality, term_stems, language)
        return _Reading(language, chunk_norms, terms, stopwords, term_stems, all_sentences)

    def summary(self, material: MaterialText) -> list[Section]:
        """The extractive summary alone, section by section (what a hosted model rewrites)."""
        if not material.sources:
            return []
        return self._summary_sections(material, self._read(material))

    def _summary_sections(self, material: MaterialText, reading: _Reading) -> list[Section]:
        return summary_sections(
            material,
            reading.sentences,
            language=reading.language,
            name_segment=lambda first, stop: self._segment_name(reading, first, stop),
        )

    @staticmethod
    def _segment_name(reading: _Reading, first: int, stop: int) -> str:
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
        reading = self._read(material)
        language, terms, chunk_norms = reading.language, reading.terms, reading.chunk_norms
        all_sentences = reading.sentences
        beat()
        summary = self._summary_sections(material, reading)
        sections = self._sections(material, all_sentences, terms, chunk_norms, language)
        definitions = self._definition_cards(
            all_sentences,
            language,
            sources,
            stopwords=reading.stopwords,
            term_stems=reading.term_stems,
            raw_text="\n".join(s.text for s in sources),
        )
        clozes = self._cloze_candidates(all_sentences, terms, sources, language)
        beat()
        card_target = max(10, min(60, len(sources) // 3))
        cards = (definitions + [card for card, _ in clozes])[: card_target + 10]
        questions = self._questions(
            clozes,
            terms,
            language,
            rng,
            target=max(5, min(20, len(sources) // 6)),
            term_vectors=_term_vectors(terms, chunk_norms, material.embeddings),
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
        sources: list[Source], centrality: np.ndarray, term_stems: set[str], language: str
    ) -> list[_Sentence]:
        found = []
        for index, source in enumerate(sources):
            every = sentences(source.text)
            candidates = [
                (order, s)
                for order, s in enumerate(every)
                if _is_candidate(s) and _is_clean(s, language)
            ]
            if (
                not candidates
                and source.start_seconds is not None
                and not _TERMINAL.search(source.text)
            ):
                # Auto-captions have no punctuation: windows of words stand in for sentences.
                tokens = source.text.split()
                every = [
                    " ".join(tokens[i : i + TRANSCRIPT_WINDOW])
                    for i in range(0, len(tokens), TRANSCRIPT_WINDOW)
                    if len(tokens[i : i + TRANSCRIPT_WINDOW]) >= MIN_WORDS
                ]
                candidates = list(enumerate(every))
            for order, sentence in candidates:
                stems = content_stems(sentence)
                hits = len(stems & term_stems)
                # Central passage, many key terms, not too long; early sentences a little higher.
                score = float(centrality[index]) * (1 + hits) / math.sqrt(max(len(stems), 4))
                score *= 1.0 if order else 1.15
                found.append(
                    _Sentence(
                        index,
                        order,
                        sentence,
                        normalize(sentence),
                        stems,
                        score,
                        previous=every[order - 1] if order else "",
                    )
                )
        return found

    @staticmethod
    def _pick(
        candidates: list[_Sentence], count: int, *, redundancy: float = 0.5
    ) -> list[_Sentence]:
        return pick(candidates, count, redundancy=redundancy)

    # --- notes --------------------------------------------------------------
    def _sections(
        self,
        material: MaterialText,
        all_sentences: list[_Sentence],
        terms: list[str],
        chunk_norms: list[str],
        language: str,
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
            every = [s for i in range(first, stop) for s in by_chunk.get(i, [])]
            # A key point is read alone too: not "They are the usual way …".
            candidates = [s for s in every if readable(s.text, language) is not None]
            if not candidates and sources[first].start_seconds is not None:
                candidates = every  # caption windows: no sentences to judge
            points_wanted = max(2, min(5, (stop - first + 1) // 2 + 1))
            picked = self._pick(candidates, points_wanted)
            if not picked:
                continue
            sections.append(
                Section(
                    heading=clip(heading, 300),
                    points=[
                        NotePoint(
                            text=readable(s.text, language) or s.text, source=sources[s.chunk]
                        )
                        for s in picked
                    ],
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
        return material.spans_of(chosen)

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
        raw_text: str,
    ) -> list[Card]:
        """ "What is a factor?" cards from "A factor is …", "X — это …" sentences.

        The front names the key term, so the card is read alone; the back is
        the defining sentence itself.
        """
        stems = STEMS.get(language, _PLAIN_STEMS)
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
                if not any(ch.isalpha() for ch in term) or len(term) < 3 or ".." in term:
                    continue
                rest = normalize(match.group("rest")).split()
                # "File permissions are a related topic.": says nothing on its own.
                if len(rest) < 5 or set(rest[:4]) & _VAGUE_DEFINITION:
                    continue
                seen_terms.add(norm)
                groups = match.groupdict()
                article = (groups.get("article") or "").lower()
                wording = stems["what_plural"] if groups.get("verb") == "are" else stems["what"]
                cards.append(
                    Card(
                        front=wording.format(term=article + _as_in_text(term, raw_text)),
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
        all_sentences: list[_Sentence], terms: list[str], sources: list[Source], language: str
    ) -> list[tuple[Card, str]]:
        """One cloze per key term, in the best sentence that uses it; (card, what it quotes).

        The sentence must read alone (see `standalone`): one that opens on
        "this" takes the sentence before it along, or is passed over.
        """
        used_sentences: set[int] = set()
        found = []
        ranked = sorted(range(len(all_sentences)), key=lambda i: -all_sentences[i].score)
        for term in terms:
            needle = f" {normalize(term)} "
            for index in ranked:
                sentence = all_sentences[index]
                if index in used_sentences or needle not in f" {sentence.norm} ":
                    continue
                text = standalone(sentence.text, sentence.previous, language)
                if text is None:
                    continue
                blanked = _blank(text, term)
                if blanked is None or opens_on_reference(blanked[0], language):
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
                found.append((card, text))
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
        term_vectors: dict[str, np.ndarray] | None = None,
    ) -> list[Question]:
        stems = STEMS.get(language, _PLAIN_STEMS)
        vectors = term_vectors or {}
        questions = []
        # Every other cloze, so the quiz does not repeat the first flashcards word for word.
        ordered = clozes[1::2] + clozes[0::2]
        for card, sentence in ordered:
            if len(questions) >= target:
                break
            sentence_norm = f" {normalize(sentence)} "
            # Not the answer in another case or number ("topologischen Raum").
            pool = [
                t
                for t in terms
                if f" {normalize(t)} " not in sentence_norm and not _related(t, card.back)
            ]
            pool = _same_kind(card.back, pool, language, vectors)
            distractors = []
            for term in pool:
                if all(not _related(term, d) for d in distractors):
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


def _related(a: str, b: str) -> bool:
    """Whether two terms share a word up to its ending ("plot"/"plots", "точки"/"точек")."""
    for left in normalize(a).split():
        for right in normalize(b).split():
            if left == right:
                return True
            shorter = min(len(left), len(right))
            if shorter < 4:
                continue
            common = 0
            for x, y in zip(left, right, strict=False):
                if x != y:
                    break
                common += 1
            if common >= max(3, shorter - 2):
                return True
    return False


def _shape(term: str) -> tuple[bool, bool]:
    """(Cyrillic?, code-like?): "read.table()" and "data frame" are not of one kind."""
    return bool(_CYRILLIC.search(term)), bool(_CODE_LIKE.search(term))


def _same_kind(
    answer: str, pool: list[str], language: str, vectors: dict[str, np.ndarray]
) -> list[str]:
    """The pool's terms that could stand in the blank, most plausible first.

    Same script and same code-or-prose as the answer; then the same number of
    words and (in Russian) the same endings, so a wrong choice still reads
    grammatically; then the closest in meaning: terms whose passages are
    near the answer's (the mean of the vectors of the passages that use it).
    """
    shape = _shape(answer)
    words = normalize(answer).split()
    target = vectors.get(normalize(answer))

    def endings(text: str) -> list[str]:
        return [w[-2:] for w in normalize(text).split()]

    def rank(term: str) -> tuple:
        term_words = normalize(term).split()
        penalty = 2 * (len(term_words) != len(words))
        if language == "ru":
            penalty += endings(term) != endings(answer)
        vector = vectors.get(normalize(term))
        closeness = float(target @ vector) if target is not None and vector is not None else 0.0
        return (penalty, -round(closeness, 2), abs(len(term) - len(answer)))

    return sorted((t for t in pool if _shape(t) == shape), key=rank)


def _term_vectors(
    terms: list[str], chunk_norms: list[str], embeddings: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Each term's place in meaning: the unit mean of the passages that use it."""
    if embeddings is None or len(embeddings) != len(chunk_norms):
        return {}
    out = {}
    padded = [f" {chunk} " for chunk in chunk_norms]
    for term in terms:
        needle = f" {normalize(term)} "
        rows = [i for i, chunk in enumerate(padded) if needle in chunk]
        if rows:
            mean = np.asarray(embeddings[rows], dtype=np.float32).mean(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm:
                out[normalize(term)] = mean / norm
    return out


def _as_in_text(term: str, raw_text: str) -> str:
    """The term as the text writes it mid-sentence: "factor", but "Debian" and "GNU"."""
    first = term.split()[0]
    if not first[:1].isupper() or any(ch.isupper() for ch in first[1:]):
        return term
    lower = first[:1].lower() + first[1:]

    def mid_sentence(word: str) -> int:
        return len(re.findall(rf"[^\W\d_][,;]?\s+{re.escape(word)}(?!\w)", raw_text))

    capitalised = mid_sentence(first)
    # Russian writes names of things in lower case: "Фактор" is capitalised only by its place.
    if mid_sentence(lower) > capitalised or (_CYRILLIC.match(first) and not capitalised):
        return term[:1].lower() + term[1:]
    return term


def _same_case(term: str, model: str) -> str:
    """A distractor written like the answer (lower case unless the answer starts upper)."""
    if model[:1].isupper() and term[:1].islower():
        return term[:1].upper() + term[1:]
    if model[:1].islower() and term[:1].isupper() and not any(c.isupper() for c in term[1:]):
        return term[:1].lower() + term[1:]
    return term
