"""A call told two-sided for the agent: what the hotline asked, what the caller answered.

The hotline's side is the prompt of the step in the flow version the call ran, in the
agent's language when the flow has it (else the caller's), with its placeholders shown as
"…" (the filled text was spoken, not stored). The caller's side is their exact words, in
their language, with the recogniser's confidence, or the keys they pressed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ivr.models import Call

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class Turn:
    """One question and its answer."""

    asked: str
    asked_language: str
    said: str
    said_language: str
    digits: str
    asr_confidence: float | None


def _prompt(step: dict[str, Any], attempt: int, agent_language: str,
            call_language: str) -> tuple[str, str]:
    texts = (step.get("reprompt") if attempt else None) or step.get("prompt") or {}
    if not isinstance(texts, dict):
        return "", call_language
    for language in (agent_language, call_language):
        if texts.get(language):
            return PLACEHOLDER.sub("…", str(texts[language])), language
    return "", call_language


def turns(call: Call, agent_language: str) -> list[Turn]:
    """The call's questions and answers, in order (steps where the caller said nothing are
    left out)."""
    document = call.flow_version.document if call.flow_version is not None else {}
    steps = document.get("steps", {}) if isinstance(document, dict) else {}
    found = []
    for event in sorted(call.events, key=lambda e: (e.created_at, e.id)):
        if not (event.words or event.digits):
            continue
        asked, asked_language = _prompt(steps.get(event.step) or {}, event.attempt,
                                        agent_language, call.language)
        found.append(Turn(asked, asked_language, event.words or "", call.language,
                          event.digits or "", event.asr_confidence))
    return found
