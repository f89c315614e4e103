"""Flashcards and quiz questions made offline, from the material's own sentences and terms.

Term cards ask for a term defined in the text ("What is a factor?", answered
by the defining sentence); cloze cards blank a key term out of the best
sentence that uses it; quiz questions are those blanks with three wrong
choices of the answer's kind. Only the short stems come from a per-language table.
"""

from __future__ import annotations

import random
import re

import numpy as np

from materials.study.offline.reading import CYRILLIC, NOT_TERMS, Candidate, standalone
from materials.study.types import Card, Question, Source
from materials.text.references import opens_on_reference
from materials.text.words import normalize, stem, whole_word

BLANK = "_____"
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
# A blank inside a larger token ("GNU/_____", "btex . . . _____") gives the answer away.
_BLANK_IN_TOKEN = re.compile(r"[/\\_.-]_____|_____[/\\_-]")
_CODE_LIKE = re.compile(r"[._()/\\<>=$#@{}\[\]]|\d|[a-zа-я][A-ZА-Я]")

_VAGUE_DEFINITION = {
    "related", "same", "similar", "following", "above", "previous", "this", "these", "that",
    "тот", "такой", "такая", "такое", "следующий", "следующая", "этот", "это", "эта",
}  # fmt: skip
# A term longer than two characters ends on a non-space, and the spaces around the
# verb are read once (possessive "\s++"): otherwise each of the term's sixty lengths
# reads a long run of spaces again, and a sentence of 100,000 spaces takes a second.
# The matches are those of the plain "\s+" and a term of {1,60} after its first letter.
_DEFINITION_PATTERNS = {
    "en": [
        re.compile(
            r"^(?P<article>an?\s++|the\s++)?(?P<term>[A-Za-z](?:\s|[\w\s'-]{0,59}?[\w'-]))\s++"
            r"(?P<verb>is|are)\s++(?:defined\s++as|called|known\s++as|an?|the)\s+"
            r"(?P<rest>.{12,}+)$",
            re.IGNORECASE,
        ),
        re.compile(
            r"^(?P<article>an?\s++|the\s++)?(?P<term>[A-Za-z](?:\s|[\w\s'-]{0,59}?[\w'-]))\s++"
            r"(?:refers?\s++to|means|denotes|describes)\s+(?P<rest>.{12,}+)$",
            re.IGNORECASE,
        ),
    ],
    "ru": [
        re.compile(
            r"^(?P<term>[^\s—–,:;](?:\s|[^—–:;]{0,59}?[^\s—–:;]))\s++[—–-]\s+(?:это\s+)?"
            r"(?P<rest>.{12,}+)$"
        ),
        re.compile(
            r"^(?P<term>[^\s,:;](?:\s|[^,:;]{0,59}?[^\s,:;]))\s++"
            r"(?:является|называется|означает|представляет собой)\s+(?P<rest>.{12,}+)$"
        ),
    ],
    "de": [
        re.compile(
            r"^(?:ein|eine|der|die|das)?\s*+(?P<term>[^\s,:;](?:\s|[^,:;]{0,59}?[^\s,:;]))\s++"
            r"(?:ist|sind|heißt|heißen|bezeichnet)\s+(?P<rest>.{12,}+)$",
        ),
    ],
}


def _blank(sentence: str, term: str) -> tuple[str, str] | None:
    """The sentence with every occurrence of the term blanked, and the term as written."""
    pattern = whole_word(term)
    found = pattern.search(sentence)
    if found is None:
        return None
    blanked = pattern.sub(BLANK, sentence)
    if len(normalize(blanked.replace(BLANK, " ")).split()) < 4 or _BLANK_IN_TOKEN.search(blanked):
        return None
    return blanked, found.group(0)


def definition_cards(
    all_sentences: list[Candidate],
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
            if any(w in stopwords or w in NOT_TERMS for w in words):
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


def cloze_candidates(
    all_sentences: list[Candidate], terms: list[str], sources: list[Source], language: str
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


def quiz_questions(
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
    questions: list[Question] = []
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
        distractors: list[str] = []
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
    return bool(CYRILLIC.search(term)), bool(_CODE_LIKE.search(term))


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


def term_vectors(
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


def _after_a_letter(word: str) -> re.Pattern[str]:
    """The word after a letter (and a comma): mid-sentence, where its case is its own."""
    return re.compile(rf"[^\W\d_][,;]?\s+{re.escape(word)}(?!\w)")


def _as_in_text(term: str, raw_text: str) -> str:
    """The term as the text writes it mid-sentence: "factor", but "Debian" and "GNU"."""
    first = term.split()[0]
    if not first[:1].isupper() or any(ch.isupper() for ch in first[1:]):
        return term
    lower = first[:1].lower() + first[1:]

    def mid_sentence(word: str) -> int:
        return len(_after_a_letter(word).findall(raw_text))

    capitalised = mid_sentence(first)
    # Russian writes names of things in lower case: "Фактор" is capitalised only by its place.
    if mid_sentence(lower) > capitalised or (CYRILLIC.match(first) and not capitalised):
        return term[:1].lower() + term[1:]
    return term


def _same_case(term: str, model: str) -> str:
    """A distractor written like the answer (lower case unless the answer starts upper)."""
    if model[:1].isupper() and term[:1].islower():
        return term[:1].upper() + term[1:]
    if model[:1].islower() and term[:1].isupper() and not any(c.isupper() for c in term[1:]):
        return term[:1].lower() + term[1:]
    return term


def item_quote(text: str, answer: str) -> str:
    """The source sentence a card or question was drawn from, for the reader to mark.

    A cloze ("… the _____ is recycled …", or a question asking to fill it in)
    with its blank filled in; otherwise the answer, which for a definition
    card is the defining sentence itself.
    """
    for stems in STEMS.values():
        prefix = stems["cloze"].split("{sentence}")[0]
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :]
    if BLANK in text:
        return text.replace(BLANK, answer)
    return answer
