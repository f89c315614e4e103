import re

from django import template
from django.utils.html import conditional_escape, linebreaks
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_MARK = re.compile(r"\[(\d{1,3})\]")


@register.filter
def with_citation_marks(content: str, message_id: int) -> SafeString:
    """Paragraphs of an answer, its [n] marks linked to the citation list below it."""
    html = linebreaks(conditional_escape(content))
    return mark_safe(  # noqa: S308 (escaped above; only our own anchors are added)
        _MARK.sub(
            lambda m: f'<a class="cite-mark" href="#c{message_id}-{m.group(1)}">[{m.group(1)}]</a>',
            html,
        )
    )
