"""A `<Dial><Number>` leg that rings a local phone page, and the bridge once it answers.

When the TwiML of a call in progress dials a number an open /phone page has registered
(the agent-first callback: the agent's leg answers, then `<Dial>` rings the caller), the
page gets `incoming`, and its answer decides Twilio's DialCallStatus: decline -> busy, no
answer within the Dial's timeout -> no-answer, answer -> the two parties are bridged and
the Dial ends `completed` when one of them hangs up.

Between two pages the bridge carries voice both ways: each page's microphone frames
(`audio`, 8 kHz mu-law) are checked (`relayable_audio`) and sent to the other page as
`remote_audio`, which it plays at once; typed words (`say`) are relayed as `remote`
messages. The far side of the bridge is either another page (an agent who opened /phone
registered with their own number: their hang-up ends it) or the stand-in's simulated
callee, who hears nothing and says nothing, "talks" for its `talk_seconds` (real seconds
here: a page is live) and then hangs up.
"""

from __future__ import annotations

import base64
import binascii
import logging
import queue
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localtwilio.calls import CallRecord
from localtwilio.dialing import DialOutcome, new_call_sid
from localtwilio.phone_line import PhoneLine

if TYPE_CHECKING:
    from localtwilio.driver import CallDriver
    from localtwilio.runner import LocalCall
    from localtwilio.twiml import Dial, DialTarget

log = logging.getLogger(__name__)
REFUSALS = {"decline": "busy", "canceled": "canceled", "no-answer": "no-answer"}
MAX_AUDIO_FRAME_BYTES = 8000  # one second of 8 kHz mu-law: pages send 160 bytes (20 ms)
_MAX_AUDIO_FRAME_CHARS = 4 * -(-MAX_AUDIO_FRAME_BYTES // 3)  # its base64 length
IDLE_POLL_SECONDS = 0.01  # the bridge's wait when neither side has sent anything


@dataclass(frozen=True)
class BridgeEnd:
    """How a bridged conversation ended: who hung up and after how many seconds."""

    by_callee: bool
    seconds: int


def next_message(line: PhoneLine | None, wait: float) -> dict[str, Any] | None:
    """The next message from `line` within `wait` seconds (None: nothing, or no page)."""
    if line is None:
        time.sleep(wait)
        return None
    try:
        return line.inbox.get(timeout=wait)
    except queue.Empty:
        return None


def wait_for_answer(line: PhoneLine, seconds: float, far: PhoneLine | None = None,
                    call: CallRecord | None = None) -> str:
    """"answer", "decline", "no-answer" (timed out or page gone) or "canceled".

    Canceled: the call was canceled through the API, or the far page hung up while
    `line` was ringing (its hang-up is put back for the far side's call to act on).
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if call is not None and call.status == "canceled":
            return "canceled"
        if line.closed.is_set():
            return "no-answer"
        if far is not None and far.closed.is_set():
            return "canceled"
        if far is not None and _far_hung_up(far):
            return "canceled"
        message = next_message(line, 0.05)
        kind = (message or {}).get("type")
        if kind == "answer":
            return "answer"
        if kind in {"decline", "hangup"}:
            return "decline"
    return "no-answer"


def _far_hung_up(far: PhoneLine) -> bool:
    """Whether the far page hung up; the rest of what it sent while ringing is not heard."""
    while True:
        try:
            held = far.inbox.get_nowait()
        except queue.Empty:
            return False
        if held.get("type") == "hangup":
            far.inbox.put(held)  # for the far side's call to act on
            return True


def relayable_audio(message: dict[str, Any]) -> str | None:
    """The base64 mu-law of an `audio` message worth relaying (None: empty, junk, too long)."""
    payload = message.get("payload")
    if not isinstance(payload, str) or not payload or len(payload) > _MAX_AUDIO_FRAME_CHARS:
        return None
    try:
        ulaw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not ulaw or len(ulaw) > MAX_AUDIO_FRAME_BYTES:
        return None
    return base64.b64encode(ulaw).decode("ascii")


def _drain(line: PhoneLine) -> list[dict[str, Any]]:
    """Everything `line`'s page has sent so far, without waiting."""
    messages: list[dict[str, Any]] = []
    while True:
        try:
            messages.append(line.inbox.get_nowait())
        except queue.Empty:
            return messages


def bridge(callee: PhoneLine, far: PhoneLine | None, far_talk_seconds: float) -> BridgeEnd:
    """Hold the bridged conversation until one side hangs up; relay voice and typed words.

    Each side's queue is emptied on every turn, so a microphone streaming 50 frames a
    second never falls behind while the other side is quiet.
    """
    started = time.monotonic()
    try:
        return _hold(callee, far, started, None if far is not None else started + far_talk_seconds)
    finally:
        if far is not None:
            _drop_audio(far)


def _hold(callee: PhoneLine, far: PhoneLine | None, started: float,
          deadline: float | None) -> BridgeEnd:
    while True:
        if callee.closed.is_set():
            return BridgeEnd(True, _since(started))
        if far is not None and far.closed.is_set():
            return BridgeEnd(False, _since(started))
        if deadline is not None and time.monotonic() >= deadline:
            return BridgeEnd(False, _since(started))
        heard = False
        for source, target, is_callee in ((callee, far, True), (far, callee, False)):
            if source is None:  # the simulated callee: nothing to hear
                continue
            for message in _drain(source):
                heard = True
                if message.get("type") == "hangup":
                    return BridgeEnd(is_callee, _since(started))
                if target is not None:
                    _relay(message, source, target)
        if not heard:
            time.sleep(IDLE_POLL_SECONDS)


def _relay(message: dict[str, Any], source: PhoneLine, target: PhoneLine) -> None:
    """Pass one message of a bridged page to the other page: voice or typed words."""
    kind = message.get("type")
    if kind == "audio":
        audio = relayable_audio(message)
        if audio is None:
            log.debug("dropped a junk audio frame on call %s", source.call_sid)
        else:
            target.send({"type": "remote_audio", "audio": audio})
    elif kind == "say":
        text = str(message.get("text", "")).strip()[:500]
        if text:
            target.send({"type": "remote", "text": text})


def _drop_audio(line: PhoneLine) -> None:
    """The bridge is over: the far page's queued microphone frames are not heard."""
    for message in _drain(line):
        if message.get("type") != "audio":
            line.inbox.put(message)


def _since(started: float) -> int:
    return max(1, round(time.monotonic() - started))


def dial_page(driver: CallDriver, line: PhoneLine, target: DialTarget, dial: Dial,
              parent: LocalCall) -> DialOutcome:
    """Ring the page at `line` as the dialled party of `parent`'s `<Dial>`; bridge it."""
    call = driver.call
    far = parent.caller if isinstance(parent.caller, PhoneLine) else None
    leg = CallRecord(new_call_sid(), call.account_sid, target.value,
                     dial.caller_id or call.to, direction="outbound-dial",
                     parent_call_sid=parent.call_sid, timeout=dial.timeout,
                     status_callback=target.status_callback,
                     events=frozenset(target.status_callback_event or ("completed",)))
    driver.stand_in.add_call(leg)
    try:
        return _ring_and_bridge(driver, line, leg, far)
    finally:
        leg.done.set()


def _ring_and_bridge(driver: CallDriver, line: PhoneLine, leg: CallRecord,
                     far: PhoneLine | None) -> DialOutcome:
    emit = driver._emit
    emit(leg, "initiated", "initiated")
    if line.call_sid is not None:  # the page is on another call
        leg.set_status("busy")
        emit(leg, "completed")
        return DialOutcome("busy", 0, leg.sid, ring_seconds=0)
    line.reset(leg.sid)
    leg.set_status("ringing")
    emit(leg, "ringing")
    ringing = time.monotonic()
    line.send({"type": "incoming", "call_sid": leg.sid, "from": leg.from_, "to": leg.to})
    answer = wait_for_answer(line, float(leg.timeout), far, driver.call)
    ring_seconds = round(time.monotonic() - ringing)
    if answer != "answer":
        line.send({"type": "ended", "outcome": answer, "call_sid": leg.sid})
        line.reset(None)
        leg.set_status(REFUSALS.get(answer, "no-answer"))
        emit(leg, "completed")
        return DialOutcome(leg.status, 0, leg.sid, ring_seconds=ring_seconds)
    leg.set_status("in-progress")
    emit(leg, "answered")
    line.send({"type": "connected", "call_sid": leg.sid, "direction": leg.direction})
    if far is not None:
        far.send({"type": "bridged", "to": leg.to})
    talk = driver.stand_in.callees.get(driver.call.to).talk_seconds
    try:
        end = bridge(line, far, float(talk))
    finally:
        line.reset(None)
    line.send({"type": "ended", "outcome": "hangup" if end.by_callee else "completed",
               "duration": end.seconds, "call_sid": leg.sid})
    leg.duration = end.seconds
    leg.set_status("completed")
    emit(leg, "completed")
    return DialOutcome("completed", end.seconds, leg.sid, caller_hangs_up=not end.by_callee,
                       ring_seconds=ring_seconds)
