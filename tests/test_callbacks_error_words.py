"""Why a callback is not done yet, told in the agent's language with the detail kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callbacks.error_words import reason_text

ROOT = Path(__file__).resolve().parents[1]


def _translator(lang: str):  # type: ignore[no-untyped-def]
    catalog = json.loads((ROOT / f"callbacks/translations/{lang}.json").read_text())
    return lambda key, **values: catalog[key].format(**values)


@pytest.mark.parametrize(("stored", "italian"), [
    ("busy", "occupato"),
    ("no answer; not reached after 3 attempts: an agent decides",
     "nessuna risposta; non raggiunto dopo 3 tentativi: decida lei"),
    ("call failed: 21215 geo permission", "la chiamata non è riuscita: 21215 geo permission"),
    ("retrying: HTTP 503 from Twilio", "nuovo tentativo: HTTP 503 from Twilio"),
    ("the agent's phone did not connect (busy): 31005",
     "il suo telefono non si è collegato (busy): 31005"),
    ("the caller answered but no agent was reached",
     "il chiamante ha risposto ma nessun operatore era in linea"),
])
def test_known_reasons_are_told_in_italian_keeping_the_technical_detail(
        stored: str, italian: str) -> None:
    assert reason_text(stored, _translator("it")) == italian


def test_an_unknown_reason_is_shown_as_stored_and_nothing_shows_nothing() -> None:
    assert reason_text("something new happened", _translator("it")) == "something new happened"
    assert reason_text(None, _translator("it")) == ""


def test_every_reason_has_both_languages() -> None:
    keys = {lang: {k for k in json.loads(
        (ROOT / f"callbacks/translations/{lang}.json").read_text()) if k.startswith(
        "console.error.")} for lang in ("it", "en")}
    assert keys["it"] == keys["en"] and len(keys["it"]) == 10
