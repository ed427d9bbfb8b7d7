"""One entry point for the flow engine: what did the caller mean at this step?

`Understanding` is what `app.extensions["understanding"]` holds. It is stateless apart
from the classifier cache (keyed by the content hash of a flow's intents), so one
instance serves every call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from speech.cues import Cue, detect_human, detect_not_digital
from speech.entities import parse_phone_number, parse_yes_no
from speech.intents import NO_MATCH, IntentResult, classifier_for
from speech.normalize import normalize
from speech.phrases import expected_phrases
from speech.timeparse import OpeningHours, TimeWindow, parse_callback_time

DEFAULT_CONFIRM_BELOW = 0.7
DEFAULT_REJECT_BELOW = 0.3


@dataclass(frozen=True)
class Understood:
    """Everything found in one utterance; fields that do not apply are None."""

    text: str
    lang: str
    intent: IntentResult | None = None
    yes_no: str | None = None
    phone: str | None = None
    time_window: TimeWindow | None = None
    not_digital: Cue | None = None
    human: Cue | None = None

    @property
    def wants_human(self) -> bool:
        """Whether the caller asked for a person."""
        return self.human is not None


def flow_languages(flow_doc: Mapping) -> list[str]:
    """The flow's languages, or those its intents have examples in."""
    languages = list(flow_doc.get("languages") or [])
    if languages:
        return languages
    found: dict[str, None] = {}
    for spec in (flow_doc.get("intents") or {}).values():
        for lang in (spec.get("examples") or {}):
            found.setdefault(lang, None)
    return list(found)


def thresholds(flow_doc: Mapping) -> tuple[float, float]:
    """(confirm_below, reject_below) from the flow's settings, with defaults."""
    settings = flow_doc.get("settings") or {}
    return (float(settings.get("confirm_below", DEFAULT_CONFIRM_BELOW)),
            float(settings.get("reject_below", DEFAULT_REJECT_BELOW)))


def decide(result: IntentResult, confirm_below: float, reject_below: float) -> str:
    """"accept", "confirm" or "reject" for an intent result under a flow's thresholds."""
    if result.intent is None or result.confidence < reject_below:
        return "reject"
    if result.confidence < confirm_below:
        return "confirm"
    return "accept"


class Understanding:
    """The understanding side of the hotline, shared by every call."""

    def classify(self, flow_doc: Mapping, text: str, lang: str,
                 languages: Sequence[str] | None = None) -> IntentResult:
        """The caller's intent under the flow's `intents` section."""
        intents = flow_doc.get("intents") or {}
        if not intents:
            return NO_MATCH
        return classifier_for(intents, languages or flow_languages(flow_doc)).classify(
            text, lang)

    def phrases(self, flow_doc: Mapping, lang: str, expecting: str) -> list[str]:
        """Phrase list for the recogniser at a step (see `speech.phrases`)."""
        return expected_phrases(flow_doc, lang, expecting)

    def understand(self, flow_doc: Mapping, text: str, lang: str, expecting: str,
                   now: datetime | None = None, tz: str | None = None) -> Understood:
        """Interpret an utterance for a step expecting "intent", "yes_no", "phone", "time"
        or "free"; the cues (not digital, wants a human) are looked for every time."""
        if not normalize(text or "", lang):
            return Understood(text or "", lang)
        settings = flow_doc.get("settings") or {}
        found: dict = {"not_digital": detect_not_digital(text, lang),
                       "human": detect_human(text, lang)}
        if expecting in ("intent", "free"):
            found["intent"] = self.classify(flow_doc, text, lang)
        elif expecting == "yes_no":
            found["yes_no"] = parse_yes_no(text, lang)
        elif expecting == "phone":
            found["phone"] = parse_phone_number(text, lang)
        elif expecting == "time":
            if now is None:
                raise ValueError("parsing a callback time needs `now`")
            hours = OpeningHours.from_settings(settings)
            found["time_window"] = parse_callback_time(
                text, lang, now, hours, tz or str(settings.get("timezone", "Europe/Rome")))
        return Understood(text, lang, **found)
