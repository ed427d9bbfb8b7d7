"""A `<Dial><Number>` leg that rings a local phone page, and the bridge once it answers.

When the TwiML of a call in progress dials a number an open /phone page has registered
(the agent-first callback: the agent's leg answers, then `<Dial>` rings the caller), the
page gets `incoming`, and its answer decides Twilio's DialCallStatus: decline -> busy, no
answer within the Dial's timeout -> no-answer, answer -> the two parties are bridged and
the Dial ends `completed` when one of them hangs up.

The bridge carries no audio: typed words (`say`) are relayed to the other side as `remote`
messages. The far side of the bridge is either another page (an agent who opened /phone
registered with their own number: their hang-up ends it) or the stand-in's simulated
callee, who "talks" for its `talk_seconds` (real seconds here: a page is live) and then
hangs up.
"""

from __future__ import annotations

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

REFUSALS = {"decline": "busy", "canceled": "canceled", "no-answer": "no-answer"}


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
        if far is not None and not far.inbox.empty():
            held = far.inbox.get_nowait()  # the far page's audio is not heard while ringing
            if held.get("type") == "hangup":
                far.inbox.put(held)
                return "canceled"
        message = next_message(line, 0.05)
        kind = (message or {}).get("type")
        if kind == "answer":
            return "answer"
        if kind in {"decline", "hangup"}:
            return "decline"
    return "no-answer"


def bridge(callee: PhoneLine, far: PhoneLine | None, far_talk_seconds: float) -> BridgeEnd:
    """Hold the bridged conversation until one side hangs up; relay typed words."""
    started = time.monotonic()
    deadline = None if far is not None else started + far_talk_seconds
    while True:
        if callee.closed.is_set():
            return BridgeEnd(True, _since(started))
        if far is not None and far.closed.is_set():
            return BridgeEnd(False, _since(started))
        if deadline is not None and time.monotonic() >= deadline:
            return BridgeEnd(False, _since(started))
        for source, target, is_callee in ((callee, far, True), (far, callee, False)):
            message = next_message(source, 0.05) if source is not None else None
            kind = (message or {}).get("type")
            if kind == "hangup":
                return BridgeEnd(is_callee, _since(started))
            if kind == "say" and message and target is not None:
                text = str(message.get("text", "")).strip()[:500]
                if text:
                    target.send({"type": "remote", "text": text})


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
