"""Request bodies refused by their declared size, before anything reads them.

Django reads a multipart body as soon as anything touches `request.POST`, and
CsrfViewMiddleware does so before any view runs: a view's own size check
comes after a multi-GB upload has been spooled to disk. The middleware here
looks only at Content-Length, so it answers before a byte of the body is read.
Views that take files say how much with `@body_limit`; every other URL gets
room for ordinary form fields only (DATA_UPLOAD_MAX_MEMORY_SIZE). The upload
handler is the backstop for a body that reaches the parser anyway (a URL or
stack without the middleware): it stops reading past the same limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

MB = 1024 * 1024
# The multipart envelope and the small fields sent beside a file.
ENVELOPE = 64 * 1024


def body_limit(megabytes: Callable[[], int], *, field: str = "file") -> Callable:
    """Declare how large a view's body may be (a callable, so settings can change)."""

    def decorate(view: Any) -> Any:
        view.body_limit = (megabytes, field)
        return view

    return decorate


def _declared(request: HttpRequest) -> tuple[Callable[[], int], str] | None:
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return None
    # DRF's as_view() keeps its class on the function it returns.
    return getattr(view, "body_limit", None) or getattr(
        getattr(view, "cls", None), "body_limit", None
    )


def request_body_limit(request: HttpRequest) -> tuple[int, int | None, str]:
    """(bytes allowed, megabytes to tell the student or None, field) for this request."""
    declared = _declared(request)
    if declared is None:
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE + ENVELOPE, None, ""
    megabytes, field = declared
    return megabytes() * MB + ENVELOPE, megabytes(), field


def too_large_message(megabytes: int | None) -> str:
    if megabytes is None:
        return _("The request is too large.")
    return _("The file is too large (limit: %(limit)d MB).") % {"limit": megabytes}


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def too_large_response(request: HttpRequest, megabytes: int | None, field: str) -> HttpResponse:
    """413, in the form the caller reads: JSON for the API, a fragment for htmx
    (static/js/app.js shows it in the form), a page for a plain form post."""
    user = getattr(request, "user", None)
    language = getattr(user, "language", "") if user and user.is_authenticated else ""
    if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        # The student's saved language, as the pages would use it.
        with translation.override(language):
            return too_large_response_in(request, megabytes, field)
    return too_large_response_in(request, megabytes, field)


def too_large_response_in(request: HttpRequest, megabytes: int | None, field: str) -> HttpResponse:
    message = too_large_message(megabytes)
    if request.path_info.startswith("/api/"):
        # A field's error where one field is to blame, as DRF's validation shows it.
        body = {field: [message]} if field else {"detail": message}
        return JsonResponse(body, status=413)
    if request.headers.get("HX-Request") == "true":
        fragment = format_html('<p class="field-error" role="alert">{}</p>', message)
        return HttpResponse(fragment, status=413)
    return render(request, "413.html", {"message": message}, status=413)


class RequestBodyLimitMiddleware:
    """Refuse a body over its URL's limit by its Content-Length alone.

    Sits right after authentication (so the refusal can speak the student's
    saved language) and before anything that reads the body: the language
    switcher's middleware and CsrfViewMiddleware's view step.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = _declared_length(request)
        if length:
            limit, megabytes, field = request_body_limit(request)
            if length > limit:
                return too_large_response(request, megabytes, field)
        return self.get_response(request)


class BodyLimitUploadHandler(FileUploadHandler):
    """First upload handler: stops the parser once the files pass the limit."""

    limit: int | None = None
    received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit = request_body_limit(self.request)[0] if self.request else None
        self.received = 0
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.limit is not None and self.received > self.limit:
            if self.request is not None:
                self.request.body_limit_exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
