"""Reads on materials. Every selector takes the owner; search lives in materials.search."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from materials.models import Material


def material_list(*, owner: User, include_hidden: bool = False) -> QuerySet[Material]:
    """The owner's materials; hidden ones (by a moderator) only where asked, to delete them."""
    materials = Material.objects.filter(owner=owner)
    return materials if include_hidden else materials.filter(is_hidden=False)
