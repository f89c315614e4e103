"""Log lines carry the request id (django-guid) and the user id, never content."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_user_id: ContextVar[int | None] = ContextVar("user_id", default=None)


class UserIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.user_id = _user_id.get()
        return True


class RequestPathFilter(logging.Filter):
    """A logged request shows its method and path, never its query string.

    Django's request logger ("Forbidden: /api/search/", every 4xx and 5xx)
    attaches the request itself, and its repr carries the query string: a
    student's search terms would reach the log with every refused search.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            record.request = f"{request.method} {request.path}"
        return True


def user_id_middleware(get_response: Callable[[HttpRequest], HttpResponse]):
    """Remember who is asking, for the log lines written while answering."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        # Not reset on the way out: Django logs the response (404s, 500s) after
        # the middleware has returned; the next request sets its own value.
        _user_id.set(user.pk if user is not None and user.is_authenticated else None)
        return get_response(request)

    return middleware
