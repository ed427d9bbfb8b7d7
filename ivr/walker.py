"""Walking a flow: entering steps, running those that ask nothing, and listening.

`FlowWalker` turns "go to step X" into the verbs the caller hears (see ivr.twiml) and the
call's new position; `ivr.engine.CallEngine` builds on it to handle Twilio's webhooks and
decide what each answer means. Guards: a step entered a third time goes to the human step
instead, and a chain of steps that ask nothing is cut after MAX_CHAIN steps. A transfer that
cannot happen says why first (closed, no agent free) in the flow's own words
(settings.fallback_reasons), then goes on to its `closed` or `on_no_answer` step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ivr import handoff
from ivr.flowdoc import FlowDoc
from ivr.hours import is_open, reopening_words
from ivr.models import Call
from ivr.twiml import Hangup, Listen, RecordMessage, Speak, Transfer, Verb
from ivr.voices import say_language, voice_for
from speech.understanding import Understanding

log = logging.getLogger(__name__)

MAX_CHAIN = 25
ASK_PHASE = ".ask"
EMERGENCY_PHASE = ".emergency"  # "Is it an emergency?" asked at a step (settings text)
EXPECTING = {"ask": "intent", "confirm": "yes_no", "collect_number": "yes_no",
             "ask_time": "time"}


class Urls(Protocol):
    """Absolute URLs for the TwiML we return (built by the web layer)."""

    def step(self, call_sid: str, step: str, attempt: int) -> str: ...

    def stream(self) -> str: ...


@dataclass
class EngineOptions:
    """The app's side of the engine: how to listen, whom to dial."""

    speech_input: str = "auto"  # "auto" | "stream" | "gather"
    fallback_number: str = ""
    caller_id: str | None = None
    speech_available: Any = None  # callable(lang) -> bool
    tts_available: Any = None  # callable() -> bool: barge-in prompts can be synthesised


class FlowWalker:
    """Moves one call through its flow document; one instance per request."""

    def __init__(self, session: Session, *, now: datetime, urls: Urls,
                 options: EngineOptions, understanding: Understanding | None = None) -> None:
        self.session = session
        self.now = now
        self.urls = urls
        self.options = options
        self.understanding = understanding or Understanding()
        self._digests: dict[int, str] = {}

    # ------------------------------------------------------------------ moving on
    def _enter(self, call: Call, flow: FlowDoc, name: str,
               verbs: list[Verb] | None = None) -> list[Verb]:
        """Go to step `name`, running steps that ask nothing until one waits or ends."""
        verbs = verbs if verbs is not None else []
        for _ in range(MAX_CHAIN):
            if call.path.count(name) >= 2:
                if name == flow.human_step or call.path.count(flow.human_step) >= 2:
                    return self._goodbye(call, flow, verbs, "loop_guard")
                log.warning("call %s: step %s reached a third time; to a human", call.call_sid,
                            name)
                name = flow.human_step
            call.current_step, call.attempts, call.path = name, 0, [*call.path, name]
            step = flow.step(name)
            kind = step["type"]
            if kind == "say":
                if not (step.get("digital_only") and call.not_digital):
                    reopens = (reopening_words(flow.settings, self.now, call.language)
                               if "{reopens}" in str(step.get("prompt")) else "")
                    verbs.append(self._speak(call, flow, flow.text(
                        name, "prompt", call.language, reopens=reopens)))
                name = step["next"]
            elif kind == "hours":
                name = step["open"] if is_open(flow.settings, self.now) else step["closed"]
            elif kind == "route":
                routes = step["routes"]
                name = (step["not_digital"] if call.not_digital and "not_digital" in step
                        else routes.get(call.intent or "", routes["default"]))
            elif kind == "book":
                source = step.get("source") or (
                    "keypad" if call.need_source == "keypad" else "speech")
                promise = handoff.book_for_call(self.session, call, source=source, now=self.now,
                                                defer_write=True)
                call.outcome = "callback_booked"
                reached_human(call, self.now)
                verbs.append(self._speak(call, flow, flow.text(
                    name, "prompt", call.language, promise=promise,
                    number=spell(call.callback_number or call.from_number or ""))))
                name = step["next"]
            elif kind == "end":
                return self._goodbye(call, flow, verbs, call.outcome or "completed", name)
            elif kind == "transfer":
                if not is_open(flow.settings, self.now):
                    verbs.append(self._speak(call, flow, flow.reason("closed", call.language)))
                    name = step["closed"]
                    continue
                number = step.get("number") or flow.settings.get("transfer_number") \
                    or self.options.fallback_number
                if not number:
                    verbs.append(self._speak(call, flow, flow.reason("no_agent", call.language)))
                    name = step["on_no_answer"]
                    continue
                verbs.append(self._speak(call, flow, flow.text(name, "prompt", call.language)))
                verbs.append(Transfer(number, self.urls.step(call.call_sid, name, 0),
                                      timeout=int(step.get("timeout", 30)),
                                      caller_id=self.options.caller_id))
                return verbs
            elif kind == "record":
                verbs.append(self._speak(call, flow, flow.text(name, "prompt", call.language)))
                verbs.append(RecordMessage(self.urls.step(call.call_sid, name, 0),
                                           max_length=int(step.get("max_length", 90))))
                return verbs
            elif kind == "collect_number" and call.from_number is None:
                return self._listen(call, flow, name + ASK_PHASE, 0, verbs)
            else:  # ask, confirm, collect_number
                return self._listen(call, flow, name, 0, verbs)
        log.error("call %s: flow chain too long at %s", call.call_sid, name)
        return self._goodbye(call, flow, verbs, "chain_guard")

    def _goodbye(self, call: Call, flow: FlowDoc, verbs: list[Verb], outcome: str,
                 step: str | None = None) -> list[Verb]:
        end = step or next((n for n, s in flow.document["steps"].items()
                            if s["type"] == "end"), None)
        if end is not None:
            verbs.append(self._speak(call, flow, flow.text(end, "prompt", call.language)))
        call.outcome = call.outcome or outcome
        verbs.append(Hangup())
        return verbs

    # ------------------------------------------------------------------ listening
    def _mode(self, lang: str, flow: FlowDoc) -> str:
        for choice in (self.options.speech_input, flow.settings.get("speech_input", "auto")):
            if choice in ("stream", "gather"):
                return str(choice)
        available = self.options.speech_available
        return "stream" if available is not None and available(lang) else "gather"

    def _barge_in(self, flow: FlowDoc) -> bool:
        """Play the question over the stream? Only if the server can synthesise it: else
        the caller would hear silence, so Twilio's <Say> asks it (no interrupting)."""
        if not flow.settings.get("barge_in"):
            return False
        available = self.options.tts_available
        if available is not None and available():
            return True
        log.warning("barge_in is on but prompts cannot be synthesised here (espeak-ng/sox "
                    "missing): questions are said with <Say>")
        return False

    def _speak(self, call: Call, flow: FlowDoc, text: str) -> Speak:
        settings = flow.settings
        slow = settings["not_digital"] if call.not_digital else {}
        return Speak(text, language=say_language(settings, call.language),
                     voice=voice_for(settings, call.language), rate=slow.get("prosody_rate"),
                     pause_after=int(slow.get("pause_seconds", 0)))

    def _listen(self, call: Call, flow: FlowDoc, step_key: str, attempt: int,
                verbs: list[Verb], silent: bool = False) -> list[Verb]:
        """Ask the step's question and listen; `silent`: the caller said nothing last time
        (the step's short `silence_reprompt`, if it has one, is asked)."""
        name, asking = split_step(step_key)
        step = flow.step(name)
        expecting = "phone" if asking else EXPECTING[step["type"]]
        if is_emergency_question(step_key):
            expecting, silent = "yes_no", False
        silent = silent and attempt > 0 and not asking and "silence_reprompt" in step
        text = question_text(call, flow, step_key, attempt, silent=silent)
        call.current_step, call.attempts = step_key, attempt
        slow = flow.settings["not_digital"] if call.not_digital else {}
        timeout = int(slow.get("listen_timeout") or flow.settings["listen_timeout"])
        mode = self._mode(call.language, flow)
        action = self.urls.step(call.call_sid, step_key, attempt)
        prompt = self._speak(call, flow, text)
        if mode == "stream":
            verbs.append(Listen(action, [prompt], mode="stream", stream_url=self.urls.stream(),
                                parameters={"call": call.call_sid, "step": step_key,
                                            "attempt": str(attempt), "expecting": expecting,
                                            **({"silent": "1"} if silent else {})},
                                barge_in=self._barge_in(flow)))
        else:
            hints = flow.memo(("hints", call.language, expecting), lambda: self.understanding
                              .phrases(flow.document, call.language, expecting)[:80])
            verbs.append(Listen(action, [prompt], mode="gather", timeout=timeout,
                                language=prompt.language, hints=hints,
                                num_digits=None if asking else 1))
        return verbs


def reached_human(call: Call, at: datetime) -> None:
    """Note when the caller first reached a person or a booked callback (answer -> `at`)."""
    if call.seconds_to_human is None:
        call.seconds_to_human = round(max((at - call.started_at).total_seconds(), 0.0), 1)


def question_text(call: Call, flow: FlowDoc, step_key: str, attempt: int,
                  silent: bool = False) -> str:
    """The words of the question a listening step asks (its prompt or reprompt; `silent`:
    its silence_reprompt, after a try with no answer at all)."""
    name, asking = split_step(step_key)
    if is_emergency_question(step_key):
        texts = flow.settings.get("emergency_question") or {}
        return str(texts.get(call.language) or texts.get(flow.default_language) or "")
    key = ("ask_" if asking else "") + ("prompt" if attempt == 0 else "reprompt")
    if silent and attempt > 0 and not asking and "silence_reprompt" in flow.step(name):
        key = "silence_reprompt"
    number = spell((call.from_number or "")[-3:])
    return flow.text(name, key, call.language, label=flow.label(call.intent, call.language),
                     number=number)


def split_step(step_key: str) -> tuple[str, bool]:
    """(step name, asking for a number) of a listening key ("callback_number.ask")."""
    if step_key.endswith(EMERGENCY_PHASE):
        return step_key[:-len(EMERGENCY_PHASE)], False
    if step_key.endswith(ASK_PHASE):
        return step_key[:-len(ASK_PHASE)], True
    return step_key, False


def is_emergency_question(step_key: str) -> bool:
    """Whether `step_key` is the "Is it an emergency?" question asked at a step."""
    return step_key.endswith(EMERGENCY_PHASE)


def spell(digits: str) -> str:
    """Digits said one by one ("567" -> "5 6 7")."""
    return " ".join(ch for ch in digits if ch.isdigit())
