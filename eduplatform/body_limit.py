"""Request bodies refused by their declared size, before anything reads them.

Django reads a multipart body as soon as anything touches `request.POST`, and
CsrfViewMiddleware does so before any view runs: a view's own size check
comes after a multi-GB upload has been spooled to disk. The middleware here
looks only at Content-Length, so it answers before a byte of the body is read.

The limit belongs to the handler that will answer: a page view, or a DRF
view's method for this request (a viewset's action: `create`, `report`).
A handler that takes a file says how large with `@body_limit`, and only a
multipart body gets that room. Any other body is fields: JSON on the API,
where DRF holds the whole body and its parsed objects (a list of empty
objects takes some twenty times its size in memory), gets API_BODY_LIMIT;
a page's form gets DATA_UPLOAD_MAX_MEMORY_SIZE. Django's own refusal of
fields past that size is answered the same way. The upload handler is the
backstop for a body that reaches the parser anyway (a URL or stack without
the middleware): it stops reading past the same limit.

Django's other refusals of a request's form (too many fields or files, a
broken multipart body: a SuspiciousOperation or BadRequest, answered with its
HTML 400 page) are JSON on the API too, in the same language.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views import defaults

KB = 1024
MB = 1024 * KB
# The multipart envelope and the small fields sent beside a file.
ENVELOPE = 64 * KB
# The largest API body of fields: a tutor question of 4,000 characters is
# under 25 KB even as JSON-escaped Cyrillic.
API_BODY_LIMIT = 64 * KB
# A refused body up to this size is read and dropped before the answer goes
# out. Closing a connection with unread data makes the kernel reset it, and
# the client loses the 413 with it (nginx's lingering close does the same);
# a larger body, or one still coming after DRAIN_SECONDS, is cut off.
DRAIN_LIMIT = 16 * MB
DRAIN_SECONDS = 10.0


def body_limit(megabytes: Callable[[], int], *, field: str = "file") -> Callable:
    """Let a view, or a DRF view's method, take a multipart body with a file of `megabytes`.

    A callable, so that settings can change. Any other body it gets is held to
    the limit for fields.
    """

    def decorate(view: Any) -> Any:
        view.body_limit = (megabytes, field)
        return view

    return decorate


@dataclass(frozen=True)
class Limit:
    """How many bytes a request's body may have, and what a refusal says."""

    max_bytes: int
    message: Callable[[], str]
    # The form field to blame in an API refusal; "" for the request as a whole.
    field: str = ""


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _handler(request: HttpRequest) -> Any:
    """The function that will answer: a page view, or a DRF view's method for this request."""
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return None
    cls = getattr(view, "cls", None)
    if cls is None:
        return view
    method = request.method.lower() if request.method else ""
    # A viewset's route maps each HTTP method to an action; an APIView's is the method.
    action = (getattr(view, "actions", None) or {}).get(method, method)
    return getattr(cls, action, None)


def _fields_limit(request: HttpRequest) -> Limit:
    if _is_api(request):
        return Limit(
            API_BODY_LIMIT,
            lambda: (
                _("The request is too large (limit: %(limit)d KB).")
                % {"limit": API_BODY_LIMIT // KB}
            ),
        )
    return Limit(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + ENVELOPE, _too_large)


def _too_large() -> str:
    return _("The request is too large.")


def request_body_limit(request: HttpRequest) -> Limit:
    """The limit on this request's body: a declared file's for multipart, else the fields'."""
    declared = getattr(_handler(request), "body_limit", None)
    if declared is None or request.content_type != "multipart/form-data":
        return _fields_limit(request)
    megabytes, field = declared
    return Limit(
        megabytes() * MB + ENVELOPE,
        lambda: _("The file is too large (limit: %(limit)d MB).") % {"limit": megabytes()},
        field,
    )


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _in_students_language(request: HttpRequest, answer: Callable[[], HttpResponse]) -> HttpResponse:
    user = getattr(request, "user", None)
    language = getattr(user, "language", "") if user and user.is_authenticated else ""
    if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        # The student's saved language, as the pages would use it.
        with translation.override(language):
            return answer()
    return answer()


def too_large_response(request: HttpRequest, limit: Limit) -> HttpResponse:
    """413, in the form the caller reads: JSON for the API, a fragment for htmx
    (static/js/app.js shows it in the form), a page for a plain form post."""
    return _in_students_language(request, lambda: _too_large_response_in(request, limit))


def _too_large_response_in(request: HttpRequest, limit: Limit) -> HttpResponse:
    message = limit.message()
    if _is_api(request):
        # A field's error where one field is to blame, as DRF's validation shows it.
        body = {limit.field: [message]} if limit.field else {"detail": message}
        return JsonResponse(body, status=413)
    if request.headers.get("HX-Request") == "true":
        fragment = format_html('<p class="field-error" role="alert">{}</p>', message)
        return HttpResponse(fragment, status=413)
    return render(request, "413.html", {"message": message}, status=413)


def _refusal_message(exception: Exception | None) -> str:
    if isinstance(exception, TooManyFieldsSent):
        return _("The form has too many fields (limit: %(limit)d).") % {
            "limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        }
    if isinstance(exception, TooManyFilesSent):
        return _("The form has too many files (limit: %(limit)d).") % {
            "limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES
        }
    if isinstance(exception, RequestDataTooBig):
        return _too_large()
    return _("The request is malformed.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (handler400): JSON with the reason on the API, its page elsewhere.

    Django answers a request it refuses to read (too many fields or files, a
    broken form, a Host not allowed) with this view when a middleware refused
    it; a view's refusal comes through the middleware's process_exception.
    """
    if not _is_api(request):
        return defaults.bad_request(request, exception or SuspiciousOperation())
    return _in_students_language(
        request, lambda: JsonResponse({"detail": _refusal_message(exception)}, status=400)
    )


def _drain(request: HttpRequest, length: int) -> None:
    """Read and drop a refused body that is small enough to wait for (see DRAIN_LIMIT)."""
    if length > DRAIN_LIMIT:
        return
    deadline = time.monotonic() + DRAIN_SECONDS
    try:
        while time.monotonic() < deadline and request.read(64 * KB):
            pass
    except OSError:
        pass  # the client went away: nobody is left to read the answer


class RequestBodyLimitMiddleware:
    """Refuse a body over its handler's limit by its Content-Length alone.

    Sits right after authentication (so the refusal can speak the student's
    saved language) and before anything that reads the body: the language
    switcher's middleware and CsrfViewMiddleware's view step.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = _declared_length(request)
        if length:
            limit = request_body_limit(request)
            if length > limit.max_bytes:
                response = too_large_response(request, limit)
                _drain(request, length)
                return response
        if _is_api(request):
            # DRF reads the query in content negotiation, before its handler exists:
            # with DEBUG on (as `make run` serves) a query of too many fields then
            # ended in a 500 rather than reaching process_exception.
            try:
                request.GET  # noqa: B018 (parsed here, cached for the view)
            except TooManyFieldsSent as refusal:
                return self.process_exception(request, refusal)  # type: ignore[return-value]
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Django's own refusal of too many bytes of fields (a multipart body's
        text parts), answered as ours are rather than as a bare 400 page; its
        other refusals of a form, JSON on the API (as handler400 answers them,
        and also with DEBUG on, where Django would show its debug page)."""
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request, Limit(0, _too_large))
        if isinstance(exception, SuspiciousOperation | BadRequest) and _is_api(request):
            if isinstance(exception, SuspiciousOperation):
                # The line Django's own answer would have logged.
                logging.getLogger(f"django.security.{type(exception).__name__}").error(
                    str(exception), extra={"status_code": 400, "request": request}
                )
            return bad_request(request, exception)
        return None


class BodyLimitUploadHandler(FileUploadHandler):
    """First upload handler: stops the parser once the files pass the limit."""

    limit: int | None = None
    received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit = request_body_limit(self.request).max_bytes if self.request else None
        self.received = 0
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.limit is not None and self.received > self.limit:
            if self.request is not None:
                # Read back by the view, which answers 413; Django has no such attribute.
                self.request.body_limit_exceeded = True  # type: ignore[attr-defined]
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
