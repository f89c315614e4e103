"""Links to the place an item comes from, for templates that only hold stored JSON."""

from __future__ import annotations

from django import template

from materials.links import source_label, source_url
from materials.models import Material

register = template.Library()


@register.simple_tag
def source_href(
    material: Material, page: int | None, start_seconds: float | None, quote: str = ""
) -> str:
    return source_url(material, page=page, start_seconds=start_seconds, quote=quote)


@register.simple_tag
def source_place(material: Material, page: int | None, start_seconds: float | None) -> str:
    return source_label(page=page, start_seconds=start_seconds, kind=material.kind)
