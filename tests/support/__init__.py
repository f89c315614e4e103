"""What the tests share besides fixtures: document makers, stand-ins, process helpers.

Fixtures live in tests/conftest.py; everything a test imports by name comes
from here, never from a conftest or another test module, so moving a test
never breaks another one (and bench/ builds its documents the same way).
"""
