"""Writing the tutor's answer from retrieved passages, with checked citations.

Three writers: the configured model (streamed or not), an extractive writer
that picks the material's own most relevant sentences when there is no key
(or the model cannot be reached), and an honest "not found" when nothing
relevant was retrieved. Whatever writes, each citation is built here from a
chunk that was actually retrieved for this owner: an id the model invents,
or one of a chunk it was not shown, is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
from django.conf import settings
from django.utils.translation import gettext as _

from eduplatform.ai import AIUnavailable, openai_client, with_backoff
from materials.search.evidence import Sentence, sentence_for_text, sentences
from materials.search.language import question_language
from tutor.prompts import SYSTEM_PROMPT, leaks_instructions, passages_block

EXTRACTIVE = "extractive"
EXTRACTIVE_FALLBACK = "extractive-fallback"
NOTHING_FOUND = "none"

_WORD = re.compile(r"\w+", re.UNICODE)
_CITATION_MARK = re.compile(r"\[\s*#?(\d+(?:\s*[,;]\s*#?\d+)*)\s*\]")
_STOPWORDS = frozenset(
    "the and for are was what which who how why when where does did can with from that this"
    " these those its his her their into about than then there have has had will would should"
    " could also not but any all you your our they them his use used using"
    " что как где когда почему зачем какой какая какие каким какое это этот эта эти для или"
    " при про его она они оно был была были быть есть может можно нужно чем чего кто"
    " также только если того тот так уже".split()
)


@dataclass
class Answer:
    content: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    generator: str = ""


# --------------------------------------------------------------------------
# Sentences, pages and citations
# --------------------------------------------------------------------------


def citation(sentence: Sentence) -> dict[str, Any]:
    """A citation at the quoted sentence's own page (PDF) or second (video)."""
    return {
        "material": sentence.chunk.material_id,
        "chunk": sentence.chunk.pk,
        "page": sentence.page,
        "start_seconds": sentence.start_seconds,
        "quote": sentence.text,
    }


def _stems(text: str) -> set[str]:
    # A five-letter prefix is a crude stem that serves English and Russian alike.
    return {
        word[:5]
        for word in (w.lower() for w in _WORD.findall(text))
        if len(word) >= 3 and word not in _STOPWORDS
    }


def _overlap(query_stems: set[str], text: str) -> float:
    if not query_stems:
        return 0.0
    return len(query_stems & _stems(text)) / len(query_stems)


# --------------------------------------------------------------------------
# No answer, and the extractive answer
# --------------------------------------------------------------------------


def nothing_found() -> Answer:
    return Answer(
        content=_(
            "I could not find this in your material, so I will not guess an answer. "
            "Try other words, or ask about something the material covers."
        ),
        generator=NOTHING_FOUND,
    )


def _cosines(
    query: str, texts: Sequence[str], vector: Sequence[float] | None = None
) -> list[float] | None:
    """Similarity of each text to the query with the offline model, if it is the one in use.

    The offline MiniLM is English-only: it scores any two Russian texts alike,
    so for other questions its similarity would only add noise. The question's
    vector from retrieval is reused when given.
    """
    if settings.OPENAI_API_KEY or not texts or question_language(query) != "en":
        return None
    from eduplatform.embeddings import get_embedder

    if vector is None:
        vector, *vectors = get_embedder().embed([query, *texts])
    else:
        vectors = get_embedder().embed(list(texts))
    return [sum(a * b for a, b in zip(vector, v, strict=True)) for v in vectors]


# How a sentence of the extractive answer is scored beside the search's own
# sentence evidence: shared word stems, the passage's rank, MiniLM similarity.
OVERLAP_WEIGHT = 0.3
RANK_PENALTY = 0.05
COSINE_WEIGHT = 1.0


def _across_languages(
    candidates: Sequence[tuple[int, Sentence]],
    passages: Sequence[Any],
    cross_vector: Sequence[float] | None,
) -> dict[int, float]:
    """Multilingual similarity of the candidate sentences that are in another language."""
    other = {p.chunk.pk for p in passages[:3] if getattr(p, "cross_cosine", None) is not None}
    if cross_vector is None or not other:
        return {}
    from materials.search import crosslingual

    chosen = [i for i, (_, s) in enumerate(candidates) if s.chunk.pk in other]
    found = crosslingual.similarities(cross_vector, [candidates[i][1].text for i in chosen])
    return dict(zip(chosen, found, strict=True))


def extractive_answer(
    question: str,
    passages: Sequence[Any],
    *,
    fallback: bool = False,
    limit: int = 3,
    vector: Sequence[float] | None = None,
    cross_vector: Sequence[float] | None = None,
) -> Answer:
    """The most relevant sentences of the best passages, each cited at its own page.

    Sentences are scored by the question's rare terms (the search's sentence
    evidence), by meaning (offline vectors, English) and by the passage's
    rank; a passage in another language than the question's is read by the
    multilingual model instead. A passage's neighbouring sentences are not
    guessed at, so the answer never says more than the material.
    """
    candidates: list[tuple[int, Sentence]] = []
    seen: set[str] = set()
    for rank, passage in enumerate(passages[:3]):
        found = passage.sentences or tuple(sentences(passage.chunk))
        for sentence in found:
            text = sentence.text
            if len(_WORD.findall(text)) >= 4 and text.casefold() not in seen:
                seen.add(text.casefold())
                candidates.append((rank, sentence))
    if not candidates:
        candidates = [(0, s) for s in sentences(passages[0].chunk)[:1]]
    stems = _stems(question)
    cosines = _cosines(question, [s.text for _, s in candidates], vector)
    across = _across_languages(candidates, passages, cross_vector)
    scored = []
    for index, (rank, sentence) in enumerate(candidates):
        score = sentence.score + OVERLAP_WEIGHT * _overlap(stems, sentence.text)
        score -= RANK_PENALTY * rank
        if cosines is not None:
            score += COSINE_WEIGHT * cosines[index]
        score += across.get(index, 0.0)
        scored.append((score, index))
    scored.sort(key=lambda item: (-item[0], item[1]))
    best = scored[0][0]
    chosen = [index for score, index in scored[:limit] if score >= best - 0.15]

    parts: list[str] = []
    citations: list[dict[str, Any]] = []
    for number, index in enumerate(chosen, start=1):
        sentence = candidates[index][1]
        parts.append(f"{sentence.text} [{number}]")
        citations.append(citation(sentence))
    if fallback:
        label = _(
            "The AI model could not be reached, so here are the most relevant sentences "
            "of your material instead:"
        )
    else:
        label = _("Extractive answer — the most relevant sentences of your material:")
    return Answer(
        content=label + "\n\n" + "\n\n".join(parts),
        citations=citations,
        generator=EXTRACTIVE_FALLBACK if fallback else EXTRACTIVE,
    )


# --------------------------------------------------------------------------
# The model's answer
# --------------------------------------------------------------------------

_LANGUAGE_NAMES = {"ru": "Russian", "en": "English"}


def build_messages(
    question: str, history: Sequence[tuple[str, str]], passages: Sequence[Any]
) -> list[dict[str, str]]:
    """System rules, the earlier turns, then the passages (as data) and the question."""
    language = _LANGUAGE_NAMES.get(question_language(question), "the language of the question")
    messages = [{"role": "system", "content": SYSTEM_PROMPT.format(language=language)}]
    messages += [{"role": role, "content": content} for role, content in history]
    messages.append(
        {
            "role": "user",
            "content": passages_block([p.chunk for p in passages])
            + f"\n\nQuestion (answer in {language}):\n{question}",
        }
    )
    return messages


def _sentence_before(text: str, end: int) -> str:
    start = max(text.rfind(". ", 0, end), text.rfind("\n", 0, end), text.rfind("? ", 0, end))
    return text[start + 1 : end]


def checked_answer(raw: str, passages: Sequence[Any], *, generator: str) -> Answer:
    """The model's text with its citation marks checked and renumbered.

    The model cites passages by chunk id; only ids of passages it was given
    survive, renumbered [1], [2]… in order of first use; the rest are dropped.
    """
    by_id = {p.chunk.pk: p.chunk for p in passages}
    numbers: dict[int, int] = {}
    citations: list[dict[str, Any]] = []

    def renumber(match: re.Match[str]) -> str:
        marks = []
        for raw_id in re.findall(r"\d+", match.group(1)):
            chunk = by_id.get(int(raw_id))
            if chunk is None:
                continue
            if chunk.pk not in numbers:
                sentence = sentence_for_text(chunk, _sentence_before(raw, match.start()))
                if sentence is None:
                    continue
                numbers[chunk.pk] = len(citations) + 1
                citations.append(citation(sentence))
            if f"[{numbers[chunk.pk]}]" not in marks:
                marks.append(f"[{numbers[chunk.pk]}]")
        return "".join(marks)

    content = _CITATION_MARK.sub(renumber, raw)
    content = re.sub(r"[ \t]+([.,;:!?])", r"\1", content)
    content = re.sub(r"[ \t]{2,}", " ", content).strip()
    return Answer(content=content, citations=citations, generator=generator)


def model_answer_stream(
    question: str,
    history: Sequence[tuple[str, str]],
    passages: Sequence[Any],
    *,
    stream: bool = True,
) -> Iterator[str | Answer]:
    """Yield the model's text as it is written, then the checked Answer.

    Rate limits and server errors before the first word are retried with
    backoff; if the model stays unreachable (or breaks off mid-answer), the
    extractive answer is given instead, labelled as such. So it is when the
    model recites its instructions (a document talked it into it): the
    stream stops showing text at the first leaked words, and the stored
    answer is the extractive one.
    """
    client = openai_client()
    messages = build_messages(question, history, passages)
    model = settings.TUTOR_MODEL
    try:
        if not stream:
            response = with_backoff(
                lambda: client.chat.completions.create(model=model, messages=messages)
            )
            raw = response.choices[0].message.content or ""
        else:
            response = with_backoff(
                lambda: client.chat.completions.create(model=model, messages=messages, stream=True)
            )
            pieces = []
            shown = True
            for event in response:
                delta = event.choices[0].delta.content if event.choices else None
                if delta:
                    pieces.append(delta)
                    shown = shown and not leaks_instructions("".join(pieces))
                    if shown:
                        yield delta
            raw = "".join(pieces)
    except (AIUnavailable, openai.APIError):
        yield extractive_answer(question, passages, fallback=True)
        return
    if not raw.strip() or leaks_instructions(raw):
        yield extractive_answer(question, passages, fallback=True)
        return
    yield checked_answer(raw, passages, generator=model)
