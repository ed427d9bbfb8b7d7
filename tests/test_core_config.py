"""Settings: defaults, environment, overrides, and one-line errors naming the variable."""

from __future__ import annotations

import stat

import pytest

from core.config import INSTANCE_DIR, ConfigError, load_settings


def test_defaults_give_an_embedded_setup_with_sqlite_and_in_process_jobs() -> None:
    settings = load_settings(environ={})
    assert settings["DATABASE_URL"].startswith("sqlite:///")
    assert settings["REDIS_URL"] == ""
    assert settings["PORT"] == 5000
    assert settings["LOCAL_TELEPHONY"] is True
    assert settings["TWILIO_ACCOUNT_SID"].startswith("AC")


def test_environment_overrides_defaults_and_config_overrides_environment() -> None:
    environ = {"PORT": "8080", "REDIS_URL": "redis://127.0.0.1:6379/3"}
    settings = load_settings({"PORT": 9090}, environ=environ)
    assert settings["PORT"] == 9090
    assert settings["REDIS_URL"] == "redis://127.0.0.1:6379/3"


def test_twilio_account_configured_turns_local_telephony_off() -> None:
    settings = load_settings(environ={"TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
                                      "TWILIO_AUTH_TOKEN": "secret"})
    assert settings["LOCAL_TELEPHONY"] is False


def test_model_paths_are_parsed_from_lang_path_pairs() -> None:
    settings = load_settings(environ={"VOSK_MODEL_PATHS": "it=/models/it, en=/models/en"})
    assert settings["VOSK_MODEL_PATHS"] == {"it": "/models/it", "en": "/models/en"}


@pytest.mark.parametrize(("environ", "variable"), [
    ({"PORT": "eighty"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
    ({"REDIS_URL": "http://localhost"}, "REDIS_URL"),
    ({"PUBLIC_BASE_URL": "hotline.example.com"}, "PUBLIC_BASE_URL"),
    ({"TWILIO_ACCOUNT_SID": "XX123"}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "b" * 32}, "TWILIO_AUTH_TOKEN"),
    ({"TWILIO_VALIDATE_SIGNATURES": "perhaps"}, "TWILIO_VALIDATE_SIGNATURES"),
    ({"VOSK_MODEL_PATHS": "it:/models/it"}, "VOSK_MODEL_PATHS"),
])
def test_bad_settings_stop_with_a_one_line_message_naming_the_variable(
        environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(environ=environ)
    message = str(error.value)
    assert variable in message
    assert "\n" not in message


@pytest.mark.parametrize(("environ", "variable"), [
    ({"SPEECH_INPUT": "telepathy"}, "SPEECH_INPUT"),
    ({"CALLBACKS_RECONCILE_SECONDS": "-5"}, "CALLBACKS_RECONCILE_SECONDS"),
    ({"VOSK_DISCOVER_PACKAGES": "sometimes"}, "VOSK_DISCOVER_PACKAGES"),
])
def test_speech_and_queue_settings_are_checked_too(environ: dict[str, str],
                                                   variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(environ=environ)


@pytest.mark.parametrize("environ", [
    {"HOST": "0.0.0.0"}, {"HOST": "192.0.2.10"},
    {"PUBLIC_BASE_URL": "https://hotline.example.com"},
])
def test_the_local_phone_is_for_loopback_only_unless_forced(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(environ=environ)
    message = str(error.value)
    assert "LOCAL_TELEPHONY" in message and "LOCAL_TELEPHONY_ALLOW_REMOTE" in message
    assert "\n" not in message
    forced = load_settings(environ={**environ, "LOCAL_TELEPHONY_ALLOW_REMOTE": "true"})
    assert forced["LOCAL_TELEPHONY"] is True
    with_twilio = load_settings(environ={**environ, "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
                                         "TWILIO_AUTH_TOKEN": "secret"})
    assert with_twilio["LOCAL_TELEPHONY"] is False


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.1.1"])
def test_loopback_hosts_serve_the_local_phone(host: str) -> None:
    assert load_settings(environ={"HOST": host})["HOST"] == host


def test_the_local_phone_token_is_generated_once_per_installation() -> None:
    first = load_settings(environ={})["TWILIO_AUTH_TOKEN"]
    assert first != "local-phone-token" and len(first) >= 40
    stored = INSTANCE_DIR / "local_twilio_token"
    assert stored.read_text().strip() == first
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert load_settings(environ={})["TWILIO_AUTH_TOKEN"] == first
    assert load_settings(environ={"TWILIO_AUTH_TOKEN": "mine"})["TWILIO_AUTH_TOKEN"] == "mine"


@pytest.mark.parametrize("environ", [{"STREAM_IDLE_SECONDS": "0"},
                                     {"STREAM_PING_SECONDS": "soon"}])
def test_stream_bounds_are_checked(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(environ))):
        load_settings(environ=environ)
