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
) -> T:
    """Call, retrying transient failures with exponential backoff and jitter.

    When the server keeps failing, the caller gets AIUnavailable, never the
    SDK's exception.
    """
    retries = settings.AI_MAX_RETRIES if retries is None else retries
    base_delay = settings.AI_BACKOFF_SECONDS if base_delay is None else base_delay
    for attempt in range(retries + 1):
        try:
            return call()
        except TRANSIENT as exc:
            if attempt == retries:
                raise AIUnavailable(str(exc), permanent=False) from exc
            delay = min(max_delay, base_delay * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311
            logger.warning("AI call failed (%s); retrying in %.1fs", type(exc).__name__, delay)
            sleep(delay)
        except openai.APIStatusError as exc:
            raise AIUnavailable(str(exc), permanent=True) from exc
    raise AssertionError("unreachable")
