"""Per-user budgets and rates, and slots of work in flight, counted atomically in Valkey.

Budgets: uploads, AI calls and offline tutor answers a UTC day. Rates: uploads, offline
answers, searches, exports and "Didn't get it" a minute. One counter per user,
kind and window. A Lua script increments the kind's counters, sets each to
expire at the end of its window on first use, and takes the increments back
when one would pass its limit, all in one step on the server: a burst of
concurrent requests can never be let through beyond a limit, and a refused
request costs nothing.

The site as a whole has a budget of AI calls a UTC day too, counted in the
same step as the user's (a tutor answer) or alone (study content being
made); and sign-ups have a budget a day per client address.

Slots: tutor answers being written at once per user (each holds a web thread
for as long as the model writes), a sorted set of leases.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import serializers
from rest_framework.exceptions import Throttled

logger = logging.getLogger(__name__)

UPLOAD = "upload"
AI = "ai"  # a call to a hosted model
OFFLINE = "offline"  # a tutor answer written without a hosted model
SEARCH = "search"  # a search, on the page or by the API
EXPORT = "export"  # a download of cards or notes
MISSED = "missed"  # "Didn't get it" on a tutor answer
STREAM = "stream"  # a tutor answer being written (a slot, not a count)
SIGNUP = "signup"  # a new account, counted per client address

# Kinds counted by the minute only, and the setting of each one's limit.
_PER_MINUTE = {
    SEARCH: "SEARCH_PER_MINUTE",
    EXPORT: "EXPORT_PER_MINUTE",
    MISSED: "MISSED_PER_MINUTE",
}

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


class SiteBudgetSpent(QuotaExceeded):
    """The whole site's AI calls of the day are spent (SITE_DAILY_AI_CALL_LIMIT).

    Callers answer without the hosted model instead of refusing, so it is
    rarely shown; its code is "site_daily_limit".
    """

    default_code = "site_daily_limit"

    def __init__(self, kind: str, limit: int, wait: float, span: int = DAY) -> None:
        super().__init__(kind, limit, wait=wait, span=span)
        self.message = _("Today's AI budget of the whole site is spent. It renews at midnight UTC.")
        self.detail = {"detail": self.message, "code": self.default_code}  # type: ignore[dict-item]


class SlotsTaken(QuotaExceeded):
    """Every slot of the kind is in use: HTTP 429, Retry-After a few seconds;
    the body's code is "concurrent_limit"."""

    default_code = "concurrent_limit"


# The 429 answer, for the OpenAPI schema of the endpoints that spend a budget.
QUOTA_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        "DailyLimitError",
        {"detail": serializers.CharField(), "code": serializers.CharField()},
    ),
    description="Today's budget of uploads or AI calls is spent (see Retry-After).",
)
# The 429 answer of the endpoints with a rate a minute (code rate_limit).
RATE_RESPONSE = OpenApiResponse(
    response=QUOTA_RESPONSE.response,
    description="More requests of this kind this minute than one user may make (see Retry-After).",
)


def _limit_message(kind: str, limit: int, span: int = DAY) -> str:
    if kind == UPLOAD and span == MINUTE:
        return _(
            "You are sending materials faster than %(limit)d a minute. "
            "Wait a minute, then try again."
        ) % {"limit": limit}
    if kind == SIGNUP:
        return _(
            "Too many accounts have been made from your network today. "
            "You can sign up after midnight UTC."
        )
    if kind == SEARCH:
        return ngettext(
            "You are searching more than %(limit)d time a minute. "
            "Wait a minute, then search again.",
            "You are searching more than %(limit)d times a minute. "
            "Wait a minute, then search again.",
            limit,
        ) % {"limit": limit}
    if kind == EXPORT:
        return ngettext(
            "You are downloading more than %(limit)d export a minute. "
            "Wait a minute, then download again.",
            "You are downloading more than %(limit)d exports a minute. "
            "Wait a minute, then download again.",
            limit,
        ) % {"limit": limit}
    if kind == MISSED:
        return ngettext(
            "You are marking more than %(limit)d answer a minute as not understood. "
            "Wait a minute, then try again.",
            "You are marking more than %(limit)d answers a minute as not understood. "
            "Wait a minute, then try again.",
            limit,
        ) % {"limit": limit}
    if kind == STREAM:
        return ngettext(
            "The tutor is already writing %(limit)d answer for you. "
            "Wait until it is finished, then ask again.",
            "The tutor is already writing %(limit)d answers for you. "
            "Wait until one is finished, then ask again.",
            limit,
        ) % {"limit": limit}
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
    """Today's limit of this kind per user; 0 means unlimited."""
    if kind in _PER_MINUTE:
        return 0
    if kind == UPLOAD:
        return settings.DAILY_UPLOAD_LIMIT
    if kind == OFFLINE:
        return settings.TUTOR_OFFLINE_PER_DAY
    if kind == SIGNUP:
        return settings.SIGNUPS_PER_ADDRESS_PER_DAY
    return settings.DAILY_AI_CALL_LIMIT


@dataclass(frozen=True)
class _Window:
    span: int  # seconds: MINUTE or DAY
    limit: int
    site: bool = False  # one count for the whole site, not one per user


def _windows(kind: str, *, site: bool = False) -> list[_Window]:
    """The windows this kind is counted in; unlimited ones left out.

    `site`: an AI call also counts against the whole site's budget of the day.
    """
    if kind in _PER_MINUTE:
        windows = [_Window(MINUTE, getattr(settings, _PER_MINUTE[kind]))]
    else:
        windows = [_Window(DAY, daily_limit(kind))]
    if kind == OFFLINE:
        windows.insert(0, _Window(MINUTE, settings.TUTOR_OFFLINE_PER_MINUTE))
    elif kind == UPLOAD:
        windows.insert(0, _Window(MINUTE, settings.UPLOADS_PER_MINUTE))
    if kind == AI and site:
        windows.append(_Window(DAY, settings.SITE_DAILY_AI_CALL_LIMIT, site=True))
    return [window for window in windows if window.limit > 0]


def _connection():
    import django_rq

    return django_rq.get_connection("default")


SITE = "site"


def _key(subject: str, kind: str, now: datetime, span: int = DAY) -> str:
    """One counter per subject (a user's id, an address, or SITE), kind and window."""
    if span == MINUTE:
        return f"quota:{kind}:{subject}:{now:%Y-%m-%dT%H:%M}"
    return f"quota:{kind}:{subject}:{now:%Y-%m-%d}"


def _end_of_window(now: datetime, span: int) -> datetime:
    if span == MINUTE:
        start = datetime(now.year, now.month, now.day, now.hour, now.minute, tzinfo=UTC)
        return start + timedelta(minutes=1)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def _count(subject: str, kind: str, windows: list[_Window], now: datetime) -> None:
    """Count one use in every window, or raise for the first full one (nothing counted)."""
    if not windows:
        return
    keys = [_key(SITE if w.site else subject, kind, now, w.span) for w in windows]
    args = []
    for window in windows:
        args += [window.limit, int(_end_of_window(now, window.span).timestamp())]
    try:
        full = _connection().eval(_RESERVE, len(keys), *keys, *args)
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("quota counter unreachable: %s use of %s not counted", kind, subject)
        return
    if full:
        window = windows[full - 1]
        wait = (_end_of_window(now, window.span) - now).total_seconds()
        if window.site:
            refused: type[QuotaExceeded] = SiteBudgetSpent
        else:
            refused = RateExceeded if window.span == MINUTE else QuotaExceeded
        raise refused(kind, window.limit, wait=wait, span=window.span)


def _uncount(subject: str, kind: str, windows: list[_Window], now: datetime) -> None:
    try:
        for window in windows:
            key = _key(SITE if window.site else subject, kind, now, window.span)
            _connection().eval(_REFUND, 1, key)
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("quota counter unreachable: %s refund of %s lost", kind, subject)


def reserve(
    user: AbstractBaseUser, kind: str, *, at: datetime | None = None, site: bool = False
) -> None:
    """Count one use in each of the kind's windows, or raise QuotaExceeded (over
    today's budget), RateExceeded (over this minute's rate) or, with `site`,
    SiteBudgetSpent (the whole site's AI calls of the day); nothing is counted then.

    `at` (default: now) names the windows; a caller that may give the use back
    later passes the same moment (and `site`) to refund.

    With the counter's server unreachable the use is let through, uncounted
    (and logged): a budget guards against runaway spend over a day, and
    refusing every upload during a short outage of Valkey would lose
    students' work, which the product keeps and processes once it is back.
    """
    _count(str(user.pk), kind, _windows(kind, site=site), at or datetime.now(UTC))


def refund(
    user: AbstractBaseUser, kind: str, *, at: datetime | None = None, site: bool = False
) -> None:
    """Give back one use (the request was refused for its input, not served).

    It goes to the windows of `at`, the moment it was reserved (default: now);
    a window that has ended since has expired, and needs nothing back. An
    upload's minute keeps it: checking a file costs the web process whatever
    the outcome, so refused uploads must not repeat without end.
    """
    windows = _windows(kind, site=site)
    if kind == UPLOAD:
        windows = [window for window in windows if window.span != MINUTE]
    _uncount(str(user.pk), kind, windows, at or datetime.now(UTC))


def site_reserve(kind: str = AI) -> None:
    """Count one use against the whole site's budget alone, or raise SiteBudgetSpent.

    For AI work no student is charged for at the time (a material's study
    content, made in the worker).
    """
    windows = [window for window in _windows(kind, site=True) if window.site]
    _count(SITE, kind, windows, datetime.now(UTC))


@dataclass(frozen=True)
class SiteUsage:
    used: int | None  # None: the counter's server did not answer
    limit: int  # 0: unlimited

    @property
    def spent(self) -> bool:
        return bool(self.limit) and (self.used or 0) >= self.limit


def site_usage(kind: str = AI) -> SiteUsage:
    """Today's uses of the whole site's budget, for the admin."""
    try:
        value = _connection().get(_key(SITE, kind, datetime.now(UTC)))
    except (RedisConnectionError, RedisTimeoutError):
        return SiteUsage(used=None, limit=settings.SITE_DAILY_AI_CALL_LIMIT)
    return SiteUsage(used=int(value or 0), limit=settings.SITE_DAILY_AI_CALL_LIMIT)


def address_reserve(address: str, kind: str = SIGNUP) -> datetime:
    """Count one use by a client address (sign-ups), or raise QuotaExceeded.

    An IPv6 client is counted by its /64 network, which one machine commonly
    has whole. Returns the moment counted, for address_refund.
    """
    now = datetime.now(UTC)
    _count(_address_subject(address), kind, _windows(kind), now)
    return now


def address_refund(address: str, at: datetime, kind: str = SIGNUP) -> None:
    _uncount(_address_subject(address), kind, _windows(kind), at)


def _address_subject(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"addr:{address}"
    if ip.version == 6:
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


def used(user: AbstractBaseUser, kind: str) -> int:
    value = _connection().get(_key(str(user.pk), kind, datetime.now(UTC)))
    return int(value or 0)


@contextmanager
def spend(
    user: AbstractBaseUser, kind: str, *, keep: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Reserve before the work and refund if it raises (e.g. a ValidationError),
    unless what it raises is one of `keep`: refusals that still cost the use.

    Reserving first means an over-budget user is refused before their file is
    read or parsed; refunding on failure means bad input does not burn budget,
    except input whose checking was itself the expense (a zip bomb), which
    would otherwise cost nothing to send again.
    """
    reserve(user, kind)
    try:
        yield
    except keep:
        raise
    except BaseException:
        refund(user, kind)
        raise


# --- Slots: work in flight ---------------------------------------------------

# KEYS: the user's slots of a kind (a sorted set: token -> end of its lease);
# ARGV: now, the limit, the new lease's end, its token. Drops lapsed leases,
# then takes a slot if one is free: 1 if taken, else 0.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIREAT', KEYS[1], math.ceil(tonumber(ARGV[3])))
return 1
"""
# A slot a process never gave back (killed mid-answer) frees itself after
# this long: far longer than an answer takes to write.
SLOT_LEASE = 600
# Retry-After of a refusal for want of a slot: the one in use ends when its
# answer does, which no one knows in advance.
SLOT_RETRY_AFTER = 5


@dataclass
class Slot:
    """One slot of a kind, held until release() (idempotent)."""

    key: str = ""
    token: str = ""

    def release(self) -> None:
        if not self.token:
            return
        token, self.token = self.token, ""
        try:
            _connection().zrem(self.key, token)
        except (RedisConnectionError, RedisTimeoutError):
            logger.warning("slot counter unreachable: %s lapses with its lease", self.key)


# Kinds held as slots, and the setting of each one's limit.
_SLOTS = {STREAM: "TUTOR_STREAMS_PER_USER"}


def slot_limit(kind: str) -> int:
    """Slots of this kind a user may hold at once; 0 means unlimited."""
    return getattr(settings, _SLOTS[kind])


def slot_take(user: AbstractBaseUser, kind: str = STREAM) -> Slot:
    """Take one of the user's slots of the kind, or raise SlotsTaken.

    With the counter's server unreachable the work is let through (an empty
    Slot), as budgets are.
    """
    limit = slot_limit(kind)
    if limit <= 0:
        return Slot()
    key = f"slots:{kind}:{user.pk}"
    token = secrets.token_hex(8)
    now = time.time()
    try:
        taken = _connection().eval(_TAKE, 1, key, now, limit, now + SLOT_LEASE, token)
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("slot counter unreachable: %s of user %s not counted", kind, user.pk)
        return Slot()
    if not taken:
        raise SlotsTaken(kind, limit, wait=SLOT_RETRY_AFTER)
    return Slot(key=key, token=token)
