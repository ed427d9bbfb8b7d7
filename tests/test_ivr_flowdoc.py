"""Flow documents: the shipped flows are valid; broken ones are refused with reasons."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from ivr.flowdoc import FLOWS_DIR, FlowDoc, FlowError, check_document, default_flow_files

MAIN = yaml.safe_load((FLOWS_DIR / "main.yaml").read_text(encoding="utf-8"))


def test_the_default_flow_is_valid_and_has_intents_in_both_languages() -> None:
    assert [p.name for p in default_flow_files()] == ["main.yaml"]
    document = check_document(MAIN)
    for intent in document["intents"].values():
        assert set(intent["examples"]) == {"it", "en"}
    assert set(document["languages"]) == {"it", "en"}


def _broken(change: Any) -> list[str]:
    document = copy.deepcopy(MAIN)
    change(document)
    with pytest.raises(FlowError) as info:
        check_document(document)
    return [f"{p.path}: {p.text('en')}" for p in info.value.problems]


def test_a_step_pointing_nowhere_is_refused() -> None:
    problems = _broken(lambda d: d["steps"]["welcome"].update(next="nowhere"))
    assert problems == ["steps/welcome/next: No step named 'nowhere'"]


def test_a_prompt_missing_a_language_is_refused() -> None:
    problems = _broken(lambda d: d["steps"]["goodbye"]["prompt"].pop("en"))
    assert problems == ["steps/goodbye/prompt/en: No text in en"]


def test_a_keypad_choice_must_be_an_intent() -> None:
    problems = _broken(lambda d: d["steps"]["ask_need"]["keypad"].update({"7": "pizza"}))
    assert problems == ["steps/ask_need/keypad/7: No intent named 'pizza'"]


def test_steps_that_never_listen_cannot_loop() -> None:
    def loop(d: dict[str, Any]) -> None:
        d["steps"]["closed_notice"]["next"] = "welcome"
        d["steps"]["opening"]["open"] = "closed_notice"

    assert any("Loop that never asks the caller anything" in p for p in _broken(loop))


def test_a_basic_voice_that_cannot_speak_the_language_is_refused() -> None:
    problems = _broken(lambda d: d["settings"]["voice"].update(it="man"))
    assert problems == ["settings/voice/it: Twilio's 'man' voice does not speak it-IT; name a "
                        "Polly voice (e.g. Polly.Bianca-Neural)"]
    assert any(p.startswith("settings/voice/it") for p in _broken(
        lambda d: d["settings"]["voice"].update(it="Bianca")))  # not a Twilio voice name


@pytest.mark.parametrize("voices", [{"it": "alice", "en": "woman"},
                                    {"it": "Polly.Carla", "en": "Google.en-GB-Neural2-A"}])
def test_voices_that_speak_the_language_are_accepted(voices: dict[str, str]) -> None:
    document = copy.deepcopy(MAIN)
    document["settings"]["voice"] = voices
    check_document(document)


@pytest.mark.parametrize(("change", "where"), [
    (lambda d: d["steps"]["ask_need"].pop("reprompt"), "steps/ask_need"),
    (lambda d: d["steps"]["welcome"].update(type="dance"), "steps/welcome/type"),
    (lambda d: d["settings"].update(confirm_below=3), "settings/confirm_below"),
    (lambda d: d["settings"]["opening_hours"].update(mon=["8-19"]), "settings/opening_hours"),
    (lambda d: d.update(start="Welcome!"), "start"),
])
def test_schema_errors_name_the_place(change: Any, where: str) -> None:
    assert any(p.startswith(where) for p in _broken(change))


def test_flowdoc_fills_prompts_and_labels() -> None:
    flow = FlowDoc(check_document(MAIN))
    assert flow.label("billing", "en") == "your bill"
    assert flow.text("confirm_need", "prompt", "it", label="la bolletta") == (
        "Ha bisogno di aiuto per la bolletta, è corretto?")
    assert flow.text("goodbye", "prompt", "ko") == "Grazie per aver chiamato. Arrivederci."
    assert flow.settings["not_digital"]["prosody_rate"] == "85%"
    assert flow.human_step == "human"


def test_an_emergency_step_must_exist() -> None:
    problems = _broken(lambda d: d["settings"].update(emergency_step="nowhere"))
    assert problems == ["settings/emergency_step: No step named 'nowhere' for emergencies"]


def test_emergency_settings_are_checked_and_default_to_none() -> None:
    assert any("emergency_number" in p for p in _broken(
        lambda d: d["settings"].update(emergency_number="call the police")))
    document = copy.deepcopy(MAIN)
    for key in ("emergency_step", "emergency_number", "fallback_reasons"):
        document["settings"].pop(key)
    flow = FlowDoc(check_document(document))
    assert flow.emergency_step is None and flow.emergency_number("it") == ""
    assert flow.reason("closed", "en") == "We are closed right now."
    assert "chiami subito il ." in flow.text("emergency_advice", "prompt", "it")


def test_an_ask_step_may_send_silent_callers_somewhere_that_exists() -> None:
    problems = _broken(lambda d: d["steps"]["ask_need"].update(on_silence="nowhere"))
    assert problems == ["steps/ask_need/on_silence: No step named 'nowhere'"]
