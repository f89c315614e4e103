"""A database of the benchmarks' own on the app's PostgreSQL server: never the app's data."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]


def use_database(name: str) -> None:
    """Create database `name` if absent, point Django at it, set Django up and migrate it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduplatform.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import psycopg

    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        from eduplatform.embedded import configure_environment

        configure_environment(Path(os.environ.get("DATA_DIR", ROOT / "var")).resolve())
    url = urlsplit(os.environ["DATABASE_URL"])
    if url.path != f"/{name}":
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not found:
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url._replace(path=f"/{name}").geturl()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)  # a no-op once the database is up to date
