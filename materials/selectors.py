"""Reads on materials. Every selector takes the owner; search lives in materials.search."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from materials.models import Material


def material_list(*, owner: User) -> QuerySet[Material]:
    return Material.objects.filter(owner=owner, is_hidden=False)
