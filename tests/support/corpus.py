"""The shared corpus beside the checkout (../shared/corpus), when it is there."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def corpus_file(*parts: str) -> Path:
    """A file of the shared corpus, or a clean skip when the corpus is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus file {'/'.join(parts)} not present (../shared/corpus is absent)")
    return path
