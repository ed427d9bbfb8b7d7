"""`python app.py`: clear one-line answers when the setup is wrong, never a stack trace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.privacy import mask_phone, mask_url

ROOT = Path(__file__).resolve().parent.parent


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DATABASE_"))}
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_a_bad_setting_stops_the_start_with_one_line_naming_it() -> None:
    result = _start({"PORT": "not-a-port"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: PORT (environment) is invalid: "
        "invalid literal for int() with base 10: 'not-a-port'"]


def test_an_unreachable_database_is_one_clear_line_without_the_password() -> None:
    result = _start({"DATABASE_URL": "postgresql+psycopg://app:s3cret@127.0.0.1:1/hotline"})
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("database unreachable at postgresql+psycopg://app:***@")
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr


def test_phone_numbers_and_passwords_are_masked_for_logs() -> None:
    assert mask_phone("+393331234567") == "+39*******567"
    assert mask_phone(None) == "unknown"
    assert mask_url("redis://:pw@host:6379/0") == "redis://:***@host:6379/0"
    assert mask_url("sqlite:///instance/x.sqlite3") == "sqlite:///instance/x.sqlite3"
