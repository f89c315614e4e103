"""Per-user budgets of uploads, AI calls and offline tutor answers, counted atomically in Valkey.

One counter per user, kind and window: the UTC day, and for offline answers
also the minute. A Lua script increments the kind's counters, sets each to
expire at the end of its window on first use, and takes the increments back
when one would pass its limit, all in one step on the server: a burst of
concurrent requests can never be let through beyond a limit, and a refused
request costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import serializers
from rest_framework.exceptions import Throttled

logger = logging.getLogger(__name__)

UPLOAD = "upload"
AI = "ai"  # a call to a hosted model
OFFLINE = "offline"  # a tutor answer written without a hosted model

MINUTE = 60
DAY = 86400

# KEYS: one counter per window; ARGV: the limit and expiry (unix seconds) of
# each, in turn. Returns 0 when counted in every window, else the position
# (from 1) of the first full one; nothing is counted then.
_RESERVE = """
for i, key in ipairs(KEYS) do
    local count = redis.call('INCR', key)
    if count == 1 then redis.call('EXPIREAT', key, ARGV[2 * i]) end
    if count > tonumber(ARGV[2 * i - 1]) then
        for j = 1, i do redis.call('DECR', KEYS[j]) end
        return i
    end
end
return 0
"""
# Gives one back, never below zero (a refund into an expired window is a no-op).
_REFUND = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class QuotaExceeded(Throttled):
    """Over today's budget: HTTP 429 in the API, a form or chat error on the pages.

    A Throttled, so DRF answers 429 with Retry-After (seconds to midnight UTC);
    the body is {"detail": <translated message>, "code": "daily_limit"}.
    """

    default_code = "daily_limit"
    # Set by Throttled.__init__ (rounded up to whole seconds); its stubs leave it out.
    wait: int

    def __init__(self, kind: str, limit: int, wait: float, span: int = DAY) -> None:
        self.kind, self.limit = kind, limit
        self.message = _limit_message(kind, limit, span)
        super().__init__(wait=wait)
        # DRF renders plain strings as it does ErrorDetail; its stubs take only the latter.
        self.detail = {"detail": self.message, "code": self.default_code}  # type: ignore[dict-item]

    def __str__(self) -> str:
        return self.message


class RateExceeded(QuotaExceeded):
    """Over this minute's rate: HTTP 429, Retry-After the seconds to the next minute;
    the body's code is "rate_limit"."""

    default_code = "rate_limit"


# The 429 answer, for the OpenAPI schema of the endpoints that spend a budget.
QUOTA_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        "DailyLimitError",
        {"detail": serializers.CharField(), "code": serializers.CharField()},
    ),
    description="Today's budget of uploads or AI calls is spent (see Retry-After).",
)


def _limit_message(kind: str, limit: int, span: int = DAY) -> str:
    if kind == OFFLINE and span == MINUTE:
        return _(
            "You are asking more than %(limit)d questions a minute. Wait a minute, then ask again."
        ) % {"limit": limit}
    if kind == OFFLINE:
        return _(
            "You have reached today's limit of %(limit)d tutor answers without the AI "
            "model. You can continue after midnight UTC."
        ) % {"limit": limit}
    if kind == UPLOAD:
        return _(
            "You have reached today's limit of %(limit)d new materials. "
            "You can add more after midnight UTC."
        ) % {"limit": limit}
    return _(
        "You have reached today's limit of %(limit)d tutor questions and generations. "
        "You can continue after midnight UTC."
    ) % {"limit": limit}


def daily_limit(kind: str) -> int:
    """Today's limit of this kind; 0 means unlimited."""
    if kind == UPLOAD:
        return settings.DAILY_UPLOAD_LIMIT
    if kind == OFFLINE:
        return settings.TUTOR_OFFLINE_PER_DAY
    return settings.DAILY_AI_CALL_LIMIT


def _windows(kind: str) -> list[tuple[int, int]]:
    """(span in seconds, limit) of each window this kind is counted in; unlimited ones left out."""
    windows = [(DAY, daily_limit(kind))]
    if kind == OFFLINE:
        windows.insert(0, (MINUTE, settings.TUTOR_OFFLINE_PER_MINUTE))
    return [(span, limit) for span, limit in windows if limit > 0]


def _connection():
    import django_rq

    return django_rq.get_connection("default")


def _key(user: AbstractBaseUser, kind: str, now: datetime, span: int = DAY) -> str:
    if span == MINUTE:
        return f"quota:{kind}:{user.pk}:{now:%Y-%m-%dT%H:%M}"
    return f"quota:{kind}:{user.pk}:{now:%Y-%m-%d}"


def _end_of_window(now: datetime, span: int) -> datetime:
    if span == MINUTE:
        start = datetime(now.year, now.month, now.day, now.hour, now.minute, tzinfo=UTC)
        return start + timedelta(minutes=1)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def reserve(user: AbstractBaseUser, kind: str, *, at: datetime | None = None) -> None:
    """Count one use in each of the kind's windows, or raise QuotaExceeded (over
    today's budget) or RateExceeded (over this minute's rate); nothing is counted then.

    `at` (default: now) names the windows; a caller that may give the use back
    later passes the same moment to refund.

    With the counter's server unreachable the use is let through, uncounted
    (and logged): a budget guards against runaway spend over a day, and
    refusing every upload during a short outage of Valkey would lose
    students' work, which the product keeps and processes once it is back.
    """
    windows = _windows(kind)
    if not windows:
        return
    now = at or datetime.now(UTC)
    keys = [_key(user, kind, now, span) for span, _limit in windows]
    args = []
    for span, limit in windows:
        args += [limit, int(_end_of_window(now, span).timestamp())]
    try:
        full = _connection().eval(_RESERVE, len(keys), *keys, *args)
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("quota counter unreachable: %s use of user %s not counted", kind, user.pk)
        return
    if full:
        span, limit = windows[full - 1]
        wait = (_end_of_window(now, span) - now).total_seconds()
        refused = RateExceeded if span == MINUTE else QuotaExceeded
        raise refused(kind, limit, wait=wait, span=span)


def refund(user: AbstractBaseUser, kind: str, *, at: datetime | None = None) -> None:
    """Give back one use (the request was refused for its input, not served).

    It goes to the windows of `at`, the moment it was reserved (default: now);
    a window that has ended since has expired, and needs nothing back.
    """
    now = at or datetime.now(UTC)
    try:
        for span, _limit in _windows(kind):
            _connection().eval(_REFUND, 1, _key(user, kind, now, span))
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("quota counter unreachable: %s refund of user %s lost", kind, user.pk)


def used(user: AbstractBaseUser, kind: str) -> int:
    value = _connection().get(_key(user, kind, datetime.now(UTC)))
    return int(value or 0)


@contextmanager
def spend(user: AbstractBaseUser, kind: str) -> Iterator[None]:
    """Reserve before the work and refund if it raises (e.g. a ValidationError).

    Reserving first means an over-budget user is refused before their file is
    read or parsed; refunding on failure means bad input does not burn budget.
    """
    reserve(user, kind)
    try:
        yield
    except BaseException:
        refund(user, kind)
        raise
