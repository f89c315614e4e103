"""The search fixtures serve the tutor's tests too."""

from tests.search.conftest import indexed  # noqa: F401
