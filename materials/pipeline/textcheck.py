"""Is a page's text layer usable? (First step: only pages without text are sent to OCR.)"""

from __future__ import annotations

from dataclasses import dataclass

# Fewer visible characters than this: an image, or a blank page.
MIN_VISIBLE = 20


@dataclass(frozen=True)
class Verdict:
    text: str
    status: str  # "ok" | "empty"
    reason: str = ""


def check_page(text: str) -> Verdict:
    if len("".join(text.split())) < MIN_VISIBLE:
        return Verdict(text, "empty", "no-text")
    return Verdict(text, "ok")
