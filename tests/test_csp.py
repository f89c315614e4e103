"""A strict Content-Security-Policy, and templates that need nothing looser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = [
    path
    for folder in ("templates", "materials/templates", "tutor/templates", "accounts")
    for path in (ROOT / folder).rglob("*.html")
]
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE
)


def directives(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_pages_send_a_strict_policy(logged_in):
    policy = directives(logged_in.get("/materials/")["Content-Security-Policy"])
    assert policy["script-src"] == "script-src 'self'"
    assert policy["style-src"] == "style-src 'self'"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["base-uri"] == "base-uri 'none'"


def test_api_consoles_get_inline_styles_but_never_inline_scripts(logged_in):
    policy = directives(logged_in.get("/api/docs/")["Content-Security-Policy"])
    assert "'unsafe-inline'" in policy["style-src"]
    assert policy["script-src"] == "script-src 'self'"


def test_our_templates_have_no_inline_script_style_or_handler():
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for path in TEMPLATES
        for match in INLINE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert TEMPLATES and not found, found
