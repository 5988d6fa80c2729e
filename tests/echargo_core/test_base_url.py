"""Commands run in another shell announce the base URL the demo serves at.

bin/demo records it (`manage.py ocpi_base_url --record`) beside the SQLite database; every
later command of that database reads it back unless OCPI_BASE_URL says otherwise, and
production never reads it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.peer import ROOT


@pytest.fixture
def demo_shell(tmp_path):
    """Runs manage.py as a user's second shell would: the demo's SQLite, no OCPI_BASE_URL."""
    database = tmp_path / "db.sqlite3"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "echargo.settings",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    env.pop("OCPI_BASE_URL", None)

    def manage(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    manage.database = database
    return manage


def test_commands_in_another_shell_announce_the_recorded_demo_url(demo_shell):
    assert demo_shell("ocpi_base_url", "--record", "http://127.0.0.1:8765/").returncode == 0
    assert (demo_shell.database.parent / "db.sqlite3.base-url").read_text() == (
        "http://127.0.0.1:8765\n"
    )
    assert demo_shell("migrate", "--noinput").returncode == 0
    assert demo_shell("ocpi_party", "TR", "ECH", "--name", "echargo Istanbul").returncode == 0
    invite = demo_shell("ocpi_invite", "Partner B.V.")
    assert "versions_url: http://127.0.0.1:8765/ocpi/versions" in invite.stdout, invite.stderr

    shown = demo_shell("ocpi_base_url").stdout
    assert "Base URL: http://127.0.0.1:8765" in shown
    assert "Recorded by bin/demo" in shown


def test_the_environment_wins_and_production_never_reads_the_file(demo_shell):
    demo_shell("ocpi_base_url", "--record", "http://127.0.0.1:8765")
    explicit = demo_shell("ocpi_base_url", OCPI_BASE_URL="https://ocpi.example.com").stdout
    assert "Base URL: https://ocpi.example.com" in explicit
    production = demo_shell(
        "ocpi_base_url",
        ECHARGO_PRODUCTION="1",
        SECRET_KEY="a-production-secret-key-for-this-test-only-0123456789",
    )
    assert "Base URL: http://127.0.0.1:8000" in production.stdout, production.stderr


def test_recording_something_that_is_not_a_base_url_is_refused(demo_shell):
    refused = demo_shell("ocpi_base_url", "--record", "127.0.0.1:8765")
    assert refused.returncode != 0
    assert "is not a base URL" in refused.stderr
    assert not (demo_shell.database.parent / "db.sqlite3.base-url").exists()
