"""The one client for hosted or local OpenAI-compatible model servers, and its one failure."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import openai
from django.conf import settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Worth another try: the server is busy, overloaded or briefly unreachable.
TRANSIENT = (
    openai.RateLimitError,
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.InternalServerError,
)


class AIUnavailable(Exception):
    """The model server kept failing, or refused the call.

    `permanent` when another try would fail the same way (a refusal). Its
    `code` is the one the apps store on a row and translate for the student;
    a job records it as it records its own failures (same code, permanent and
    detail attributes).
    """

    code = "ai_unavailable"

    def __init__(self, detail: str = "", *, permanent: bool) -> None:
        super().__init__(detail or self.code)
        self.permanent = permanent
        self.detail = detail


def openai_client() -> openai.OpenAI:
    # Retries are ours (with_backoff) so the SDK's own are switched off.
    return openai.OpenAI(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL,
        timeout=settings.AI_TIMEOUT,
        max_retries=0,
    )


def with_backoff(
    call: Callable[[], T],
    *,
    retries: int | None = None,
    base_delay: float | None = None,
    max_delay: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> T:
    """Call, retrying transient failures with exponential backoff and jitter.

    When the server keeps failing, the caller gets AIUnavailable, never the
    SDK's exception. With a `deadline` (time.monotonic()), no try starts
    after it.
    """
    retries = settings.AI_MAX_RETRIES if retries is None else retries
    base_delay = settings.AI_BACKOFF_SECONDS if base_delay is None else base_delay
    for attempt in range(retries + 1):
        try:
            return call()
        except TRANSIENT as exc:
            delay = min(max_delay, base_delay * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311
            late = deadline is not None and time.monotonic() + delay + MIN_TRY >= deadline
            if attempt == retries or late:
                raise AIUnavailable(str(exc), permanent=False) from exc
            logger.warning("AI call failed (%s); retrying in %.1fs", type(exc).__name__, delay)
            sleep(delay)
        except openai.APIStatusError as exc:
            raise AIUnavailable(str(exc), permanent=True) from exc
    raise AssertionError("unreachable")


# The shortest try worth starting: less is a timeout before the request is out.
MIN_TRY = 0.1


def interactive_call(call: Callable[[float], T]) -> T:
    """A call a student waits for: a search's query vector, the tutor's first words.

    It has AI_INTERACTIVE_TIMEOUT seconds in all, and at most
    AI_INTERACTIVE_RETRIES more tries of a quick failure within them; `call`
    gets the seconds left, for its request's timeout. So a hosted model that
    hangs costs a student seconds and the caller falls back to what works
    without it, where a background job may wait out AI_TIMEOUT and
    AI_MAX_RETRIES (minutes) for the same server.
    """
    deadline = time.monotonic() + settings.AI_INTERACTIVE_TIMEOUT
    return with_backoff(
        lambda: call(max(deadline - time.monotonic(), MIN_TRY)),
        retries=settings.AI_INTERACTIVE_RETRIES,
        deadline=deadline,
    )
