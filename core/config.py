"""Settings: built-in defaults, then the environment, then a mapping handed to create_app.

Nothing here runs at import time; `load_settings` is called by the app factory.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
TWILIO_DEFAULT_API_BASE = "https://api.twilio.com"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


# name -> (default, parser). Every variable here is documented in the README's table.
def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _int(value: str | int) -> int:
    return int(value)


def _str(value: Any) -> str:
    return str(value)


def _seconds(value: str | float) -> float:
    seconds = float(value)
    if not 0 < seconds < 3600:
        raise ValueError(f"expected seconds between 0 and 3600, got {value!r}")
    return seconds


def _model_paths(value: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(value, Mapping):
        return dict(value)
    paths: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        lang, sep, path = item.partition("=")
        if not sep or not lang.strip() or not path.strip():
            raise ValueError(f"expected lang=/path pairs separated by commas, got {item!r}")
        paths[lang.strip()] = path.strip()
    return paths


SETTINGS: dict[str, tuple[Any, Any]] = {
    "DATABASE_URL": (None, _str),  # None -> SQLite file under instance/
    "REDIS_URL": ("", _str),  # empty -> in-process job queue
    "PUBLIC_BASE_URL": (None, _str),  # None -> http://127.0.0.1:<PORT>
    "PORT": (5000, _int),
    "SECRET_KEY": (None, _str),
    "TWILIO_ACCOUNT_SID": ("", _str),
    "TWILIO_AUTH_TOKEN": ("", _str),
    "TWILIO_CALLER_ID": ("", _str),
    "TWILIO_API_BASE_URL": (TWILIO_DEFAULT_API_BASE, _str),
    "TWILIO_VALIDATE_SIGNATURES": (True, _bool),
    "FALLBACK_NUMBER": ("", _str),
    "VOSK_MODEL_PATH": ("", _str),
    "VOSK_MODEL_PATHS": ({}, _model_paths),
    "DEFAULT_LANGUAGE": ("it", _str),
    "TIMEZONE": ("Europe/Rome", _str),
    "RQ_QUEUE_PREFIX": ("hotline", _str),
    "LOCAL_TELEPHONY": (None, _bool),  # None -> on when no Twilio account is configured
    "SEED_DEMO": (False, _bool),
    "LOG_LEVEL": ("INFO", _str),
    "SPEECH_INPUT": ("auto", _str),  # ivr: "stream" | "gather" | "auto" (stream if a model)
    "VOSK_MODEL_LANG": ("", _str),  # language of VOSK_MODEL_PATH when its name does not say
    "VOSK_DISCOVER_PACKAGES": (True, _bool),  # also use pip-installed model packages
    "VOSK_LOG_LEVEL": (-1, _int),
    "TTS_CACHE_DIR": ("", _str),  # speech.tts barge-in prompt cache; "" -> the temp directory
    "SEMANTIC_UNDERSTANDING": (True, _bool),  # the sentence encoder beside the lexical model
    "ENCODER_PRECISION": ("auto", _str),  # "auto" | "int8" | "float32" (speech.e5_engine)
    "EMBEDDING_CACHE_DIR": ("", _str),  # example embeddings on disk; "" -> the temp directory
    "UNDERSTANDING_WARM_UP": (True, _bool),  # train the shipped flows' models at start-up
    "UNDERSTANDING_WAIT_FOR_MODELS": (False, _bool),  # webhooks wait for untrained models
    "CALLBACK_AGENT_NUMBER": ("", _str),  # agent-first bridge: used when an agent has no phone
    "CALLBACKS_RECONCILE_SECONDS": (60, _int),  # 0 turns the periodic reconciler off
    "STREAM_IDLE_SECONDS": (10.0, _seconds),  # a media stream without frames this long ends
    "STREAM_MAX_SECONDS": (120.0, _seconds),  # a media stream open this long ends
    "STREAM_PING_SECONDS": (20.0, _seconds),  # WebSocket ping period (dead peers dropped)
    # production: /media-stream is served by `python -m speech.media_server`, the only
    # process that loads Vosk models; web processes judge speech from the model files
    "MEDIA_SERVER": (False, _bool),
    "HOST": ("127.0.0.1", _str),  # the interface `python app.py` (./hotline run) listens on
    "LOCAL_TELEPHONY_ALLOW_REMOTE": (False, _bool),  # local phone on a non-loopback address
    "SPOOL_DIR": ("", _str),  # callers kept on disk while the database is away; "" -> instance/
    "RETENTION_RECORDINGS_DAYS": (30, _int),  # callbacks.privacy: recordings (and Twilio's)
    "RETENTION_WORDS_DAYS": (90, _int),  # callers' words and transcripts
    "RETENTION_CALLS_DAYS": (365, _int),  # call and callback records
    "RETENTION_PROFILES_DAYS": (365, _int),  # callers, not-digital flags and their reasons
    "PRODUCTION": (None, _bool),  # None -> on when PUBLIC_BASE_URL is https and Twilio is real
}


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return validated settings: defaults < environment < overrides.

    Raises ConfigError with a one-line message naming the offending variable.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    settings: dict[str, Any] = {}
    for name, (default, parse) in SETTINGS.items():
        if name in overrides:
            raw, source = overrides.pop(name), "config"
        elif name in environ:
            raw, source = environ[name], "environment"
        else:
            settings[name] = default
            continue
        try:
            settings[name] = parse(raw) if raw is not None else None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name} ({source}) is invalid: {exc}") from None
    settings.update(overrides)  # extra keys (Flask settings, test stand-ins) pass through
    _complete(settings)
    _validate(settings)
    return settings


def _complete(settings: dict[str, Any]) -> None:
    if not settings["DATABASE_URL"]:
        INSTANCE_DIR.mkdir(exist_ok=True)
        settings["DATABASE_URL"] = f"sqlite:///{INSTANCE_DIR / 'hotline.sqlite3'}"
    if settings["LOCAL_TELEPHONY"] is None:
        settings["LOCAL_TELEPHONY"] = not settings["TWILIO_ACCOUNT_SID"]
    if settings["LOCAL_TELEPHONY"] and not settings["TWILIO_ACCOUNT_SID"]:
        # The local phone signs its webhooks like Twilio does, with this stand-in account
        # and a token of this installation's own (a fixed one would let anyone sign).
        settings["TWILIO_ACCOUNT_SID"] = "AC" + "0" * 32
        settings["TWILIO_AUTH_TOKEN"] = (settings["TWILIO_AUTH_TOKEN"]
                                         or _instance_secret("local_twilio_token"))
        settings["TWILIO_CALLER_ID"] = settings["TWILIO_CALLER_ID"] or "+390000000000"
    if not settings["SPOOL_DIR"]:
        settings["SPOOL_DIR"] = str(INSTANCE_DIR / "spool")
    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = _instance_secret("secret_key")
    if not settings["PUBLIC_BASE_URL"]:
        settings["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{settings['PORT']}"
    settings["PUBLIC_BASE_URL"] = settings["PUBLIC_BASE_URL"].rstrip("/")
    if settings["PRODUCTION"] is None:
        settings["PRODUCTION"] = (settings["PUBLIC_BASE_URL"].startswith("https://")
                                  and not settings["LOCAL_TELEPHONY"])
    settings["TWILIO_API_BASE_URL"] = settings["TWILIO_API_BASE_URL"].rstrip("/")


def _instance_secret(name: str) -> str:
    """A per-installation secret kept in instance/<name> (made at first start, mode 0600),
    so sessions and the local phone's signatures survive restarts."""
    path = INSTANCE_DIR / name
    INSTANCE_DIR.mkdir(exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32))  # hex: no letters to spell a word the check refuses
    return path.read_text().strip()


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _is_loopback(host: str) -> bool:
    return host.lower() in LOOPBACK_HOSTS or host.startswith("127.")


def _validate(settings: Mapping[str, Any]) -> None:
    url = urlparse(settings["PUBLIC_BASE_URL"])
    if url.scheme not in {"http", "https"} or not url.netloc:
        raise ConfigError("PUBLIC_BASE_URL must be an absolute http(s) address, "
                          f"got {settings['PUBLIC_BASE_URL']!r}")
    api = urlparse(settings["TWILIO_API_BASE_URL"])
    if api.scheme not in {"http", "https"} or not api.netloc:
        raise ConfigError("TWILIO_API_BASE_URL must be an absolute http(s) address")
    db_scheme = urlparse(settings["DATABASE_URL"]).scheme
    if not db_scheme.startswith(("sqlite", "postgresql")):
        raise ConfigError("DATABASE_URL must be a sqlite:// or postgresql:// address, "
                          f"got scheme {db_scheme!r}")
    redis_url = settings["REDIS_URL"]
    if redis_url and urlparse(redis_url).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError("REDIS_URL must be a redis:// address (or empty for in-process jobs)")
    sid = settings["TWILIO_ACCOUNT_SID"]
    if sid and not (sid.startswith("AC") and len(sid) == 34):
        raise ConfigError("TWILIO_ACCOUNT_SID must look like AC followed by 32 characters")
    if sid and not settings["TWILIO_AUTH_TOKEN"]:
        raise ConfigError("TWILIO_AUTH_TOKEN is required when TWILIO_ACCOUNT_SID is set")
    if settings["SPEECH_INPUT"] not in {"auto", "stream", "gather"}:
        raise ConfigError("SPEECH_INPUT must be auto, stream or gather")
    if settings["CALLBACKS_RECONCILE_SECONDS"] < 0:
        raise ConfigError("CALLBACKS_RECONCILE_SECONDS must be 0 (off) or more")
    if not 0 < settings["PORT"] < 65536:
        raise ConfigError("PORT must be between 1 and 65535")
    for name in ("RETENTION_RECORDINGS_DAYS", "RETENTION_WORDS_DAYS", "RETENTION_CALLS_DAYS",
                 "RETENTION_PROFILES_DAYS"):
        if settings[name] < 1:
            raise ConfigError(f"{name} must be at least 1 (days)")
    if settings["PRODUCTION"]:
        _validate_production(settings)
    if settings["LOCAL_TELEPHONY"] and not settings["LOCAL_TELEPHONY_ALLOW_REMOTE"]:
        # The local phone lets whoever reaches it register any number (the agent's too)
        # and place calls: it is for a developer's own machine.
        for name, host in (("HOST", settings["HOST"]), ("PUBLIC_BASE_URL", url.hostname or "")):
            if not _is_loopback(host):
                raise ConfigError(
                    f"LOCAL_TELEPHONY is on but {name} ({host}) is not a loopback address: "
                    "the local phone is for this machine only (set LOCAL_TELEPHONY_ALLOW_REMOTE"
                    "=true to force it, or configure a Twilio account)")


WEAK_SECRET_WORDS = ("secret", "changeme", "password", "example", "test", "dev", "hotline")
MIN_SECRET_LENGTH = 32


def is_weak_secret(secret: str) -> bool:
    """Guessable: short, few distinct characters, or fewer than MIN_SECRET_LENGTH characters
    left once the words people put in made-up keys are taken out ("dev-secret-changeme...").
    A long random key that happens to spell "dev" somewhere is not weak: it once was, and one
    generated key in a few hundred was refused."""
    rest = secret.lower()
    for word in WEAK_SECRET_WORDS:
        rest = rest.replace(word, "")
    return (len(secret) < MIN_SECRET_LENGTH or len(set(secret)) < 10
            or len(rest) < MIN_SECRET_LENGTH)


def _validate_production(settings: Mapping[str, Any]) -> None:
    """Production (PRODUCTION, or https with a real Twilio account) refuses what is only fit
    for a developer's machine: a guessable SECRET_KEY (anyone could sign a session) and the
    demo users (their passwords are printed to the log)."""
    if is_weak_secret(str(settings["SECRET_KEY"])):
        raise ConfigError(
            f"SECRET_KEY is too weak for production: use {MIN_SECRET_LENGTH}+ random characters "
            "(python -c 'import secrets; print(secrets.token_hex(32))'), or unset it to use "
            "instance/secret_key")
    if settings["SEED_DEMO"]:
        raise ConfigError("SEED_DEMO must be false in production: demo users have printed "
                          "passwords (create users with `flask --app app users create`)")
