"""The site's Content-Security-Policy, and the few third-party consoles it bends for.

Every page we write (student pages, sign-in, the Django admin) gets the
strict policy in settings.CONTENT_SECURITY_POLICY. Three consoles ship
templates with inline code that we do not own: django-rq's dashboard (staff
only) and DRF's browsable API and Swagger UI (signed-in users). They get
inline *styles* on their paths; django-rq's inline scripts are allowed by
their exact hashes, taken from the installed templates, so no other inline
script runs there either.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


@cache
def django_rq_script_hashes() -> tuple[str, ...]:
    """'sha256-…' of each static inline script in django-rq's templates."""
    import django_rq

    folder = Path(django_rq.__file__).parent / "templates" / "django_rq"
    bodies = {
        body
        for template in folder.glob("*.html")
        for body in INLINE_SCRIPT.findall(template.read_text(encoding="utf-8"))
        if "{{" not in body and "{%" not in body
    }
    return tuple(
        f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
        for b in sorted(bodies)
    )


def _relaxations() -> list[tuple[str, dict[str, list[str]]]]:
    return [
        (
            "/admin/django-rq/",
            {"style-src": [UNSAFE_INLINE], "script-src": list(django_rq_script_hashes())},
        ),
        ("/api/", {"style-src": [UNSAFE_INLINE]}),
    ]


class SiteCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        for prefix, update in _relaxations():
            if request.path_info.startswith(prefix) and parts.update is None:
                parts.update = update
                break
        return parts
