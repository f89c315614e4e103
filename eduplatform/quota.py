"""Per-user daily budgets of uploads and AI calls, counted atomically in Valkey.

One counter per user, kind and UTC day. A Lua script increments it, sets it to
expire at the end of the day on first use, and takes the increment back when
it would pass the limit, all in one step on the server: a burst of concurrent
requests can never be let through beyond the limit, and a refused request
costs nothing.
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
AI = "ai"

# KEYS[1] counter; ARGV[1] limit, ARGV[2] expiry (unix seconds).
# Returns the new count, or 0 when the limit is reached (nothing is counted then).
_RESERVE = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then
    redis.call('DECR', KEYS[1])
    return 0
end
return count
"""
# Gives one back, never below zero (a refund after the day rolled over is a no-op).
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

    def __init__(self, kind: str, limit: int, wait: float) -> None:
        self.kind, self.limit = kind, limit
        self.message = _limit_message(kind, limit)
        super().__init__(wait=wait)
        self.detail = {"detail": self.message, "code": self.default_code}

    def __str__(self) -> str:
        return self.message


# The 429 answer, for the OpenAPI schema of the endpoints that spend a budget.
QUOTA_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        "DailyLimitError",
        {"detail": serializers.CharField(), "code": serializers.CharField()},
    ),
    description="Today's budget of uploads or AI calls is spent (see Retry-After).",
)


def _limit_message(kind: str, limit: int) -> str:
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
    return settings.DAILY_UPLOAD_LIMIT if kind == UPLOAD else settings.DAILY_AI_CALL_LIMIT


def _connection():
    import django_rq

    return django_rq.get_connection("default")


def _key(user: AbstractBaseUser, kind: str, now: datetime) -> str:
    return f"quota:{kind}:{user.pk}:{now:%Y-%m-%d}"


def _end_of_day(now: datetime) -> datetime:
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def reserve(user: AbstractBaseUser, kind: str) -> None:
    """Count one use of today's budget, or raise QuotaExceeded (nothing counted).

    With the counter's server unreachable the use is let through, uncounted
    (and logged): a budget guards against runaway spend over a day, and
    refusing every upload during a short outage of Valkey would lose
    students' work, which the product keeps and processes once it is back.
    """
    limit = daily_limit(kind)
    if limit <= 0:
        return
    now = datetime.now(UTC)
    end = _end_of_day(now)
    try:
        allowed = _connection().eval(
            _RESERVE, 1, _key(user, kind, now), limit, int(end.timestamp())
        )
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("quota counter unreachable: %s use of user %s not counted", kind, user.pk)
        return
    if not allowed:
        raise QuotaExceeded(kind, limit, wait=(end - now).total_seconds())


def refund(user: AbstractBaseUser, kind: str) -> None:
    """Give back one use (the request was refused for its input, not served)."""
    if daily_limit(kind) <= 0:
        return
    try:
        _connection().eval(_REFUND, 1, _key(user, kind, datetime.now(UTC)))
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
