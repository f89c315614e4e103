"""A new password ends every API token issued under the old one."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import User


class RevokeApiTokensOnPasswordChange:
    """Listed in AUTH_PASSWORD_VALIDATORS for its `password_changed` hook.

    Django calls `password_changed()` of every configured validator from
    `User.save()` whenever `set_password()` came before it, which is every door
    a password changes through (allauth's change and reset, the admin,
    `manage.py changepassword`). Sessions already end by Django's session hash;
    tokens have no such hash, so they are deleted here.
    """

    def validate(self, password: str, user: User | None = None) -> None:
        return None

    def password_changed(self, password: str, user: User | None = None) -> None:
        from accounts.services import api_tokens_revoke_all

        if user is not None and user.pk is not None:
            api_tokens_revoke_all(user=user)

    def get_help_text(self) -> str:
        # Shown beside the password rules: worth knowing before changing it.
        return _("A new password signs out every app that uses an API token of yours.")
