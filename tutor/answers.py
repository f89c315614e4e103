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
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from openai import Stream
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from eduplatform.ai import AIUnavailable, interactive_call, openai_client
from materials.text.language import question_language, search_language
from materials.text.sentences import Sentence, sentence_for_text, sentences, whole_sentence
from tutor.prompts import SYSTEM_PROMPT, leaks_instructions, passages_block

EXTRACTIVE = "extractive"
EXTRACTIVE_FALLBACK = "extractive-fallback"
NOTHING_FOUND = "none"

_CITATION_MARK = re.compile(r"\[\s*#?(\d+(?:\s*[,;]\s*#?\d+)*)\s*\]")
_NUMBER = re.compile(r"\d+")
# From the start of a run of spaces only: from each of its spaces, a long run
# before no punctuation would be read again to its end.
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<![ \t])[ \t]+([.,;:!?])")
_SPACE_RUN = re.compile(r"[ \t]{2,}")


@dataclass
class Answer:
    content: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    generator: str = ""


# --------------------------------------------------------------------------
# Sentences, pages and citations
# --------------------------------------------------------------------------


def citation(sentence: Sentence, quote: str | None = None) -> dict[str, Any]:
    """A citation at the quoted sentence's own page (PDF) or second (video)."""
    return {
        "material": sentence.chunk.material_id,
        "chunk": sentence.chunk.pk,
        "page": sentence.page,
        "start_seconds": sentence.start_seconds,
        "quote": quote or sentence.text,
    }


def _language(question: str) -> str:
    """The language the answer's framing is written in: the question's, else the interface's."""
    return question_language(question) or translation.get_language() or "en"


# --------------------------------------------------------------------------
# No answer, and the extractive answer
# --------------------------------------------------------------------------


def nothing_found(question: str = "") -> Answer:
    with translation.override(_language(question)):
        content = _(
            "I could not find this in your material, so I will not guess an answer. "
            "Try other words, or ask about something the material covers."
        )
    return Answer(content=content, generator=NOTHING_FOUND)


# A next passage's best sentence is quoted beside the top one's when its own
# evidence reaches this share of the top sentence's and it holds a term of
# the question that the quoted sentences do not. Tried on the tune half
# (bench/eval_tune --tutor-grid): 0 cited a right page for 95.1 % of English
# questions, 0.25-0.75 for 92.7 % and 90.2 %; the other rows were equal.
ADD_SHARE = 0.0
# At most this many sentences are quoted.
QUOTES = 3
# A next passage's best sentence is also quoted, adding no term, when its
# evidence comes this close to the top one's and it opens another page: where
# search cannot tell two pages apart, the student is shown both.
CLOSE_SHARE = 0.8


def _place(sentence: Sentence) -> tuple[int, int | None, float | None]:
    """What a citation of the sentence opens: its material's page or second."""
    return (sentence.chunk.material_id, sentence.page, sentence.start_seconds)


def _matched(sentence: Sentence, weights: dict[str, dict[str, float]]) -> frozenset[str]:
    return sentence.lexemes & weights.get(search_language(sentence.chunk.language), {}).keys()


def _quoted_sentences(
    passages: Sequence[Any], weights: dict[str, dict[str, float]], limit: int
) -> list[Sentence]:
    """The top passage's best sentence, then the next passages' best ones that add to it."""
    first = passages[0]
    top = first.sentence or next(iter(first.sentences or sentences(first.chunk)), None)
    if top is None:
        return []
    quoted = [top]
    covered = set(_matched(top, weights))
    for passage in passages[1:]:
        if len(quoted) >= limit:
            break
        sentence = passage.sentence
        if sentence is None or not passage.is_relevant:
            continue
        new = _matched(sentence, weights) - covered
        close = sentence.score >= CLOSE_SHARE * top.score and _place(sentence) not in {
            _place(s) for s in quoted
        }
        if not (new or close) or sentence.score < ADD_SHARE * top.score:
            continue
        if any(sentence.text.casefold() == s.text.casefold() for s in quoted):
            continue
        quoted.append(sentence)
        covered |= new
    return quoted


def extractive_answer(
    question: str,
    passages: Sequence[Any],
    *,
    fallback: bool = False,
    budget_spent: bool = False,
    weights: dict[str, dict[str, float]] | None = None,
) -> Answer:
    """The search's own evidence, quoted whole, each sentence cited at its own page.

    `fallback`: the model could not be reached; `budget_spent`: the site's
    AI calls of the day are spent. Either is said in the answer's first line.

    No second picker: the first quote is the best sentence of the search's
    top hit (the one the Search tab shows and opens for the same question);
    the next hits' best sentences follow when they add a term of the
    question. The answer never says more than the material, and its framing
    is in the question's language.
    """
    chosen = _quoted_sentences(passages, weights or {}, QUOTES)
    parts: list[str] = []
    citations: list[dict[str, Any]] = []
    for number, sentence in enumerate(chosen, start=1):
        quote = whole_sentence(sentence)
        parts.append(f"{quote} [{number}]")
        citations.append(citation(sentence, quote))
    with translation.override(_language(question)):
        if budget_spent:
            label = _(
                "Today's AI budget is spent, so here are the most relevant sentences "
                "of your material instead:"
            )
        elif fallback:
            label = _(
                "The AI model could not be reached, so here are the most relevant sentences "
                "of your material instead:"
            )
        else:
            label = _("Extractive answer — the most relevant sentences of your material:")
    return Answer(
        content=label + "\n\n" + "\n\n".join(parts),
        citations=citations,
        generator=EXTRACTIVE_FALLBACK if fallback or budget_spent else EXTRACTIVE,
    )


# --------------------------------------------------------------------------
# The model's answer
# --------------------------------------------------------------------------

_LANGUAGE_NAMES = {"ru": "Russian", "en": "English"}


def _turn(role: str, content: str) -> ChatCompletionMessageParam:
    # A stored message's role is "user" or "assistant" (Message's constraint).
    if role == "assistant":
        return {"role": "assistant", "content": content}
    return {"role": "user", "content": content}


def build_messages(
    question: str, history: Sequence[tuple[str, str]], passages: Sequence[Any]
) -> list[ChatCompletionMessageParam]:
    """System rules, the earlier turns, then the passages (as data) and the question."""
    language = _LANGUAGE_NAMES.get(question_language(question), "the language of the question")
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": SYSTEM_PROMPT.format(language=language)}
    ]
    messages += [_turn(role, content) for role, content in history]
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
        for raw_id in _NUMBER.findall(match.group(1)):
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
    content = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", content)
    content = _SPACE_RUN.sub(" ", content).strip()
    return Answer(content=content, citations=citations, generator=generator)


def _first_words(
    client: openai.OpenAI, model: str, messages: list[ChatCompletionMessageParam]
) -> tuple[Stream[ChatCompletionChunk], str]:
    """The model's stream and its first words, once they are in.

    The tries and the wait for the first words are those of what a student
    waits for (eduplatform.ai.interactive_call): a model that takes the call
    and then stays silent is dropped as one that never answers. Each later
    read of the stream has as long as the first one had.
    """

    def attempt(seconds: float) -> tuple[Stream[ChatCompletionChunk], str]:
        deadline = time.monotonic() + seconds
        response = client.chat.completions.create(
            model=model, messages=messages, stream=True, timeout=seconds
        )
        try:
            for event in response:
                delta = event.choices[0].delta.content if event.choices else None
                if delta:
                    return response, delta
                # Empty events (a role, keep-alives) do not count as words.
                if time.monotonic() > deadline:
                    raise AIUnavailable("no first words in time", permanent=False)
        except BaseException:
            response.close()
            raise
        return response, ""

    return interactive_call(attempt)


def model_answer_stream(
    question: str,
    history: Sequence[tuple[str, str]],
    passages: Sequence[Any],
    *,
    stream: bool = True,
    weights: dict[str, dict[str, float]] | None = None,
) -> Iterator[str | Answer]:
    """Yield the model's text as it is written (when `stream`), then the checked Answer.

    The model always streams, so its first words have the short deadline of
    what a student waits for, with at most one more try (_first_words); if
    they do not come (or the model breaks off mid-answer), the extractive
    answer is given instead, labelled as such. So it is when the model
    recites its instructions (a document talked it into it): the stream
    stops showing text at the first leaked words, and the stored answer is
    the extractive one.
    """
    client = openai_client()
    messages = build_messages(question, history, passages)
    try:
        response, first = _first_words(client, settings.TUTOR_MODEL, messages)
        with response:
            pieces = [first] if first else []
            shown = not leaks_instructions(first)
            if first and shown and stream:
                yield first
            for event in response:
                delta = event.choices[0].delta.content if event.choices else None
                if delta:
                    pieces.append(delta)
                    shown = shown and not leaks_instructions("".join(pieces))
                    if shown and stream:
                        yield delta
            raw = "".join(pieces)
    except (AIUnavailable, openai.APIError):
        yield extractive_answer(question, passages, fallback=True, weights=weights)
        return
    if not raw.strip() or leaks_instructions(raw):
        yield extractive_answer(question, passages, fallback=True, weights=weights)
        return
    yield checked_answer(raw, passages, generator=settings.TUTOR_MODEL)
