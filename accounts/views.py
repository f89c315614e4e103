"""Sign-up: allauth's page, within each client address's budget of new accounts a day."""

from __future__ import annotations

from allauth.account.views import signup as allauth_signup
from django.http import HttpRequest, HttpResponse

from eduplatform import quota
from eduplatform.throttling import refused_response, request_client_ip


def signup_view(request: HttpRequest) -> HttpResponse:
    """allauth's sign-up; an account made costs one of the address's SIGNUPS_PER_ADDRESS_PER_DAY.

    Reserved before allauth reads the form, so a burst of sign-ups cannot
    pass the budget; given back unless an account was made (allauth
    redirects then, and shows the form again with its errors otherwise).
    """
    if request.method != "POST":
        return allauth_signup(request)
    address = request_client_ip(request)
    try:
        at = quota.address_reserve(address, quota.SIGNUP)
    except quota.QuotaExceeded as refusal:
        return refused_response(request, refusal)
    response = allauth_signup(request)
    if response.status_code not in (301, 302, 303):
        quota.address_refund(address, at, quota.SIGNUP)
    return response
