"""The request types of a signed-in student's page and API call, for the type checker.

Django types `request.user` as a user or AnonymousUser, because a view could
be reached signed out; behind `login_required` (pages) and DRF's default
`IsAuthenticated` (every API view) it is always a `User`. Annotating such a
view's request with these says so once, instead of a cast at every
`request.user`. They are annotations only: Django and DRF still build their
own request objects.
"""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A page's request behind `login_required`; HtmxMiddleware sets `.htmx` on every request."""

    user: User
    htmx: HtmxDetails


class AuthenticatedRequest(Request):
    """An API request past `IsAuthenticated`."""

    user: User
