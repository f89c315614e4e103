"""The interface language: the switcher, then the student's profile, then the browser.

Django's LocaleMiddleware already picks the switcher's cookie or the browser's
Accept-Language. This runs after authentication: a signed-in student's saved
language wins over the browser (on any device, right after login), and using
the switcher while signed in saves the choice to the profile.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation

LANGUAGE_CODES = {code for code, _ in settings.LANGUAGES}


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.switch_path = reverse("set_language")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if request.method == "POST" and request.path == self.switch_path:
                chosen = request.POST.get("language", "")
                if chosen in LANGUAGE_CODES and chosen != user.language:
                    user.language = chosen
                    user.save(update_fields=["language"])
            elif user.language in LANGUAGE_CODES and (
                settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
            ):
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        return self.get_response(request)
