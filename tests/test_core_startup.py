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


def test_the_local_phone_refuses_to_start_on_a_non_loopback_host_unless_forced() -> None:
    result = _start({"HOST": "0.0.0.0", "PORT": "not-a-port-either"})
    assert result.returncode == 2  # PORT is checked first: the start never gets further
    result = _start({"HOST": "0.0.0.0"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: LOCAL_TELEPHONY is on but HOST (0.0.0.0) is not a loopback "
        "address: the local phone is for this machine only (set "
        "LOCAL_TELEPHONY_ALLOW_REMOTE=true to force it, or configure a Twilio account)"]


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
