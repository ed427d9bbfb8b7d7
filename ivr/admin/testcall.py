"""Test calls: the admin's calls through the live engine, in a transaction never committed.

"Try it", the test-call chat and the evaluation gate all drive `ivr.engine.CallEngine`,
the same code that answers Twilio, so what an admin sees is what a caller gets. A test
call runs in a session of its own that is rolled back at the end: the call, its events
and any callback it books are real rows while the call runs (the engine reads and locks
them as for a live call), and none of them outlives it. The chat is stateless between
requests: each turn replays the caller's answers so far from the start. A test call can
end with the caller hanging up: the engine gets the same "completed" status Twilio
sends for a live call (`CallEngine.status`), so a mid-flow hang-up books the same
callback (with the caller's words, or a silent one) a caller would get.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.engine import Answer, CallEngine, EngineOptions
from ivr.flow_store import PickedFlow, flow_doc
from ivr.models import Call, CallEvent, FlowVersion
from ivr.walker import split_step
from speech.understanding import Understanding

TEST_CALLER = "+390200000000"
"""The caller id of test calls (a number no profile has: callers are digital by default)."""
MAX_TURNS = 20


CallRunner = Callable[[FlowVersion, str, list[str]], "TestCall"]
"""(version, language, answers) -> the test call, with the app's parts bound in."""


class TestUrls:
    """Action URLs of a test call: never requested, only shown."""

    def step(self, call_sid: str, step: str, attempt: int) -> str:
        """A placeholder action URL naming the step."""
        return f"test-call:{call_sid}/{step}/{attempt}"

    def stream(self) -> str:
        """No speech socket: test calls are typed (or transcribed before)."""
        return "ws://test-call/stream"


@dataclass
class Turn:
    """One exchange: what the caller said (none at the start), what the hotline understood,
    the steps it went through and what it said."""

    heard: str | None
    intent: str | None = None
    confidence: float | None = None
    decision: str = ""
    steps: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    waits_at: str | None = None  # the step now waiting for the caller, None: call over
    ends: str | None = None  # transfer | message | hangup


@dataclass
class HangUp:
    """What the engine did when the caller hung up: where they were, how the call ended
    (`hangup_callback`, `hangup`, or the outcome it already had) and the callback booked
    (its source: "hangup" with the caller's words, "silent" without), if any."""

    at: str | None
    outcome: str | None
    callback: str | None = None
    callback_intent: str | None = None


@dataclass
class TestCall:
    """A whole test call: its turns, the path and how it ended."""

    language: str
    version: int
    turns: list[Turn] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    outcome: str | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    hangup: HangUp | None = None

    @property
    def over(self) -> bool:
        """True when the hotline put the caller through, hung up or recorded a message,
        or the caller hung up."""
        return self.hangup is not None or (bool(self.turns)
                                           and self.turns[-1].waits_at is None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready result."""
        return {**asdict(self), "over": self.over}


def heard_in(twiml: str) -> tuple[list[str], str | None]:
    """What the caller hears in a TwiML answer, and how the call ends there (None: it
    listens for an answer)."""
    said: list[str] = []
    ends: str | None = None
    listening = False
    for element in ET.fromstring(twiml).iter():
        words = " ".join("".join(element.itertext()).split()) if element.tag == "Say" else ""
        if words:  # slower prompts wrap their words in SSML <prosody>
            said.append(words)
        elif element.tag in ("Gather", "Connect"):
            listening = True
        elif element.tag == "Dial":
            ends = "transfer"
        elif element.tag == "Record":
            ends = "message"
        elif element.tag == "Hangup" and ends is None:
            ends = "hangup"
    return said, (None if listening and ends is None else ends or "hangup")


def as_answer(text: str) -> Answer:
    """A typed answer: digits are keys pressed, anything else is words heard."""
    text = text.strip()
    if text and all(ch.isdigit() or ch in "*#" for ch in text):
        return Answer(digits=text, source="dtmf")
    return Answer(words=text or None, asr_confidence=None if not text else 1.0,
                  source="twilio" if text else None)


def run_test_call(session_factory: Callable[[], Session], version: FlowVersion, lang: str,
                  answers: Sequence[str], *, now: datetime, options: EngineOptions,
                  understanding: Understanding | None = None,
                  not_digital: bool = False, hang_up: bool = False) -> TestCall:
    """Run a call on `version` in `lang`, answering each question with the next answer.

    Stops when the answers run out or the call is over; with `hang_up`, the caller then
    hangs up (if the hotline has not ended the call). Nothing is committed.
    """
    session = session_factory()
    try:
        return _run(session, version, lang, answers, now=now, options=options,
                    understanding=understanding, not_digital=not_digital,
                    hang_up=hang_up)
    finally:
        session.rollback()
        session.close()


def _run(session: Session, version: FlowVersion, lang: str, answers: Sequence[str], *,
         now: datetime, options: EngineOptions, understanding: Understanding | None,
         not_digital: bool, hang_up: bool) -> TestCall:
    doc = flow_doc(version)
    engine = CallEngine(session, now=now, urls=TestUrls(), options=options,
                        understanding=understanding)
    sid = f"TEST{uuid.uuid4().hex}"
    twiml = engine.start(sid, TEST_CALLER, "", pinned=PickedFlow(version.id, version.number,
                                                                  doc),
                         language=lang, not_digital=not_digital)
    call = session.scalar(select(Call).where(Call.call_sid == sid))
    assert call is not None
    result = TestCall(language=call.language, version=version.number)
    result.turns.append(_turn(None, twiml, call, [], None))
    for text in answers[:MAX_TURNS]:
        if result.over:
            break
        before = list(call.path)
        step, attempt = call.current_step, call.attempts
        twiml = engine.answer(sid, step, attempt, as_answer(text))
        session.flush()
        event = session.scalar(select(CallEvent).where(
            CallEvent.call_id == call.id, CallEvent.step == step,
            CallEvent.attempt == attempt))
        result.turns.append(_turn(text, twiml, call, before, event))
    if hang_up and not result.over:
        at = call.current_step
        engine.status(sid, "completed")  # what Twilio reports when a caller hangs up
        session.flush()
        booked = call.callback_request
        result.hangup = HangUp(at=at, outcome=call.outcome,
                               callback=booked.source if booked is not None else None,
                               callback_intent=booked.intent if booked is not None else None)
    result.path = list(call.path)
    result.outcome = call.outcome
    result.intent, result.intent_confidence = call.intent, call.intent_confidence
    return result


def _turn(heard: str | None, twiml: str, call: Call, before: list[str],
          event: CallEvent | None) -> Turn:
    said, ends = heard_in(twiml)
    steps = list(call.path[len(before):]) if call.path[:len(before)] == before else list(
        call.path)
    waiting = None if ends else call.current_step
    turn = Turn(heard=heard, said=said, steps=steps, ends=ends, waits_at=waiting)
    if event is not None:
        turn.decision = event.decision or ""
        turn.intent = event.intent
        turn.confidence = round(event.confidence, 4) if event.confidence is not None else None
    return turn


def first_question_kind(version: FlowVersion, step_key: str | None) -> str | None:
    """The type of the step a test call waits at (None when it is over)."""
    if step_key is None:
        return None
    name, _ = split_step(step_key)
    return str(flow_doc(version).step(name)["type"])
