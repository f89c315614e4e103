"""Snippets: the best-matching sentence with its neighbours on the same page, highlighted."""

from __future__ import annotations

import html

from django.db import connection
from django.utils.safestring import SafeString, mark_safe

from materials.text.language import fts_config
from materials.text.sentences import Sentence

SNIPPET_WORDS = 45

# Control characters cannot occur in extracted text, so they mark highlights
# safely until the snippet has been HTML-escaped.
HEADLINE_START, HEADLINE_STOP = "\x02", "\x03"

_HEADLINES_SQL = """
WITH u AS (
    SELECT u.t, u.n, u.config::regconfig AS config
    FROM unnest(%(texts)s::text[], %(configs)s::text[]) WITH ORDINALITY AS u(t, config, n)
)
SELECT u.n, ts_headline(u.config, u.t, coalesce(
    (SELECT string_agg(quote_literal(l), ' | ')
     FROM unnest(tsvector_to_array(to_tsvector(u.config, %(q)s))) AS l)::tsquery, ''::tsquery),
    %(options)s)
FROM u
"""
# The query's lexemes are quoted into the tsquery as they are: to_tsquery
# would stem them a second time ("invers" -> "inver") and match nothing.


def snippet_text(sentence: Sentence, scored: tuple[Sentence, ...]) -> str:
    """The sentence with the ones after it (then before it) on its page, to SNIPPET_WORDS."""
    low = high = sentence.index
    words = len(sentence.text.split())

    def fits(index: int) -> bool:
        return (
            0 <= index < len(scored)
            and scored[index].anchor == sentence.anchor
            and words + len(scored[index].text.split()) <= SNIPPET_WORDS
        )

    while True:
        if fits(high + 1):
            high += 1
            words += len(scored[high].text.split())
        elif fits(low - 1):
            low -= 1
            words += len(scored[low].text.split())
        else:
            return " ".join(s.text for s in scored[low : high + 1])


def highlighted(query: str, texts: list[tuple[str, str]]) -> list[SafeString]:
    """Each (text, language) HTML-escaped, with the query's words in <mark>."""
    if not texts:
        return []
    options = f"StartSel={HEADLINE_START}, StopSel={HEADLINE_STOP}, HighlightAll=true"
    with connection.cursor() as cursor:
        cursor.execute(
            _HEADLINES_SQL,
            {
                "texts": [text for text, _ in texts],
                "configs": [f"pg_catalog.{fts_config(language)}" for _, language in texts],
                "q": query,
                "options": options,
            },
        )
        marked = {row[0]: row[1] for row in cursor.fetchall()}
    return [_safe(marked.get(n, text)) for n, (text, _) in enumerate(texts, start=1)]


def _safe(marked: str) -> SafeString:
    escaped = html.escape(marked)
    return mark_safe(  # noqa: S308 (escaped above; only our own <mark> tags are added)
        escaped.replace(HEADLINE_START, "<mark>").replace(HEADLINE_STOP, "</mark>")
    )
