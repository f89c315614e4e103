"""What every part of the offline generator reads: key terms and scored sentences.

Centrality is LexRank over the vectors the pipeline already stored for each
passage (no re-embedding); key terms are YAKE's, kept when they occur in some
passages but not in most; a sentence is a candidate when it is prose in the
material's language that a student can read alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from materials.study.types import MaterialText, Source
from materials.text.references import opens_on_reference, points_elsewhere, without_connective
from materials.text.splitter import split_sentences
from materials.text.words import content_stems, normalize, stem, whole_word

# YAKE reads about 20k characters a second; it sees this much of the most
# central text, and terms are then looked up in every passage.
YAKE_SAMPLE_CHARS = 30_000
YAKE_TOP = 80
MIN_WORDS, MAX_WORDS = 6, 45
TRANSCRIPT_WINDOW = 25
_TERMINAL = re.compile(r"[.!?…。]")
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
NOT_TERMS = {
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
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)


@dataclass
class Digest:
    """The material read once: its key terms and every candidate sentence, scored."""

    language: str
    chunk_norms: list[str]
    terms: list[str]
    stopwords: set[str]
    term_stems: set[str]
    sentences: list[Candidate]


@dataclass
class Candidate:
    """A sentence of the material that a summary, a note or a card may quote."""

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
    cyrillic = len(CYRILLIC.findall(sentence))
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
        if any(ch.isdigit() for ch in norm) or any(p in NOT_TERMS for p in norm.split()):
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
        if not whole_word(term).search(text):
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


def read(material: MaterialText) -> Digest:
    """What every part reads: centrality, key terms and the scored sentences."""
    sources = material.sources
    centrality = _centrality(material)
    chunk_norms = [normalize(s.text) for s in sources]
    sample = _sample(sources, centrality)
    language = _content_language(material.language, sample)
    terms, stopwords = _key_terms(sample, language, chunk_norms)
    term_stems = {stem(w) for term in terms for w in normalize(term).split()}
    all_sentences = _sentences(sources, centrality, term_stems, language)
    return Digest(language, chunk_norms, terms, stopwords, term_stems, all_sentences)


def _centrality(material: MaterialText) -> np.ndarray:
    count = len(material.sources)
    vectors = material.embeddings
    if vectors is None or len(vectors) != count:
        return np.ones(count)
    return lexrank(np.asarray(vectors, dtype=np.float32))


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


def _sentences(
    sources: list[Source], centrality: np.ndarray, term_stems: set[str], language: str
) -> list[Candidate]:
    found = []
    for index, source in enumerate(sources):
        every = split_sentences(source.text)
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
                Candidate(
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
