"""Production settings: deploy checks pass, and a missing secret stops the start."""

import os
from pathlib import Path

from tests.support.processes import manage


def test_deploy_checks_pass_with_production_settings(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "0",
            "DJANGO_SECRET_KEY": "x7" * 30 + "-production-secret-for-the-check",
            "DATA_DIR": str(tmp_path),
            "ALLOWED_HOSTS": "study.example.org",
            "EMAIL_URL": "smtp+tls://mailer:pw@mail.example.org:587",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_a_secret_and_debug_off_the_app_refuses_to_start(tmp_path):
    result = manage(
        "check",
        env={
            "DEBUG": "0",
            "DJANGO_SECRET_KEY": "",
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://unused@127.0.0.1:1/unused",
            "REDIS_URL": "redis://127.0.0.1:1/0",
        },
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_make_run_writes_the_secret_key_owner_only_from_the_start(tmp_path, monkeypatch):
    """No moment in which the key file is readable by others (no write, then chmod)."""
    import stat

    from eduplatform import runner

    # What another process could see between writing and any later narrowing.
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)
    old_umask = os.umask(0o022)
    try:
        key = runner._local_secret(tmp_path)
    finally:
        os.umask(old_umask)
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) > 50
    assert runner._local_secret(tmp_path) == key
