"""Drives a call created through the REST stand-in, the way Twilio progresses a real one.

initiated -> ringing -> (busy | no-answer | failed) or in-progress -> TwiML -> completed,
with a status callback for each requested event (SequenceNumber, Timestamp,
CallbackSource, AnsweredBy under AMD), and a simulated second leg for `<Dial><Number>`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from localtwilio.caller import ScriptedCaller
from localtwilio.calls import CallRecord, StatusCallbackRecord
from localtwilio.dialing import DialOutcome, new_call_sid
from localtwilio.runner import LocalCall, rfc2822_now
from localtwilio.transport import with_query
from localtwilio.twiml import Dial, DialTarget
from localtwilio.voices import Notice

if TYPE_CHECKING:
    from localtwilio.rest import StandIn

log = logging.getLogger(__name__)


class CallDriver:
    """Runs one call (and its dialled legs) and sends its status callbacks."""

    def __init__(self, stand_in: StandIn, call: CallRecord) -> None:
        self.stand_in, self.call = stand_in, call
        assert stand_in.transport is not None, "the stand-in needs a transport to the app"
        self.transport = stand_in.transport
        self._held: list[tuple[CallRecord, str, dict[str, str]]] = []

    def run(self) -> None:
        """Progress the call to a final status; never raises (errors end the call failed)."""
        try:
            self._run()
        except Exception:  # a broken app must not kill the stand-in's thread silently
            log.exception("call %s: driver failed", self.call.sid)
            if self.call.status not in {"completed", "busy", "no-answer", "failed", "canceled"}:
                self.call.set_status("failed")
                self._emit(self.call, "completed")
        finally:
            self._flush()
            self.call.done.set()

    def _ring(self, call: CallRecord, seconds: float) -> None:
        self._emit(call, "initiated", "initiated")
        if call.status == "canceled":
            return
        call.set_status("ringing")
        self._emit(call, "ringing")
        deadline = time.monotonic() + seconds * self.stand_in.time_scale
        while call.status == "ringing" and time.monotonic() < deadline:
            time.sleep(0.02)  # an API update may cancel the call while it rings

    def _run(self) -> None:
        call = self.call
        callee = self.stand_in.callees.get(call.to)
        self._ring(call, min(callee.ring_seconds, call.timeout))
        if call.status == "canceled":
            self._emit(call, "completed")
            return
        if not callee.picks_up or callee.ring_seconds > call.timeout:
            call.set_status(callee.final_status if not callee.picks_up else "no-answer")
            self._emit(call, "completed")
            return
        call.answered_by = callee.answered_by(call.machine_detection)
        call.set_status("in-progress")
        self._emit(call, "answered")
        synchronous = call.answered_by and not call.async_amd
        live = self._answered_call(
            extra_params={"AnsweredBy": call.answered_by} if synchronous else None,
            hangup_after=callee.hangup_after,
            duplicate_webhooks=self.stand_in.duplicate_webhooks,
            on_answered=self._async_amd_verdict if call.async_amd else None)
        call.live = live
        transcript = live.run(ScriptedCaller(callee.script))
        call.transcript, call.live = transcript, None
        call.duration = transcript.duration
        call.set_status("completed")
        self._emit(call, "completed")

    def _answered_call(self, **options: Any) -> LocalCall:
        """The answered call running the app's TwiML, as Twilio runs it."""
        call = self.call
        return LocalCall(
            self.transport, call.url or "", from_=call.from_, to=call.to,
            signer=self.stand_in.signer, account_sid=call.account_sid, call_sid=call.sid,
            direction=call.direction, method=call.method, twiml=call.twiml,
            fallback_url=call.fallback_url, dial=self._dial_leg,
            recordings=self.stand_in.recordings, recording_base_url=self.stand_in.base_url,
            **options)

    def _async_amd_verdict(self, live: LocalCall) -> None:
        """AsyncAmd: the TwiML is already playing; AMD's verdict is POSTed on its own."""
        call = self.call
        if call.async_amd_status_callback and call.answered_by:
            self._amd_callback(call, call.async_amd_status_callback,
                               call.async_amd_status_callback_method)
        elif call.answered_by:
            live.notice(Notice(21262, "No AMD status callback URL provided"))

    def _amd_callback(self, call: CallRecord, url: str, method: str = "POST") -> None:
        params = {"AccountSid": call.account_sid, "CallSid": call.sid,
                  "AnsweredBy": call.answered_by or "unknown",
                  "MachineDetectionDuration": "3200"}
        if call.parent_call_sid:
            params["ParentCallSid"] = call.parent_call_sid
        target = with_query(url, params) if method.upper() == "GET" else url
        body = {} if method.upper() == "GET" else params
        reply = self.transport.request(method.upper(), target, body,
                                       self.stand_in.signer.headers(target, body))
        self.stand_in.record_callback(StatusCallbackRecord(
            call.sid, "amd", url, dict(params), reply.status, reply.text))

    def _screen(self, target: DialTarget, leg: CallRecord, callee: Any,
                parent: LocalCall) -> bool:
        """<Number url>: run the screening TwiML on the answered leg (the dialled person
        hears it, may press keys); True if it ends with the leg still there to bridge."""
        assert target.url is not None
        whisper = LocalCall(
            self.transport, parent.resolve(parent.voice_url, target.url),
            from_=leg.from_, to=leg.to,
            signer=self.stand_in.signer, account_sid=leg.account_sid, call_sid=leg.sid,
            direction="outbound-dial", method=target.method,
            extra_params={"ParentCallSid": leg.parent_call_sid or ""},
            dial=lambda *_: DialOutcome("failed"))
        transcript = whisper.run(ScriptedCaller(callee.script))
        leg.transcript = transcript
        return transcript.outcome == "completed" and not transcript.error

    def _dial_leg(self, target: DialTarget, dial: Dial, parent: LocalCall) -> DialOutcome:
        """Simulate the dialled party of a `<Dial><Number>`: a child call of its own."""
        callee = self.stand_in.callees.get(target.value)
        leg = CallRecord(new_call_sid(), self.call.account_sid, target.value,
                         dial.caller_id or self.call.to, direction="outbound-dial",
                         parent_call_sid=parent.call_sid, timeout=dial.timeout,
                         status_callback=target.status_callback,
                         events=frozenset(target.status_callback_event or ("completed",)))
        self.stand_in.add_call(leg)
        self._ring(leg, 0)
        if not callee.picks_up or callee.ring_seconds > dial.timeout:
            leg.set_status(callee.final_status if not callee.picks_up else "no-answer")
            self._emit(leg, "completed")
            leg.done.set()
            return DialOutcome(leg.status, 0, leg.sid, ring_seconds=callee.ring_seconds)
        leg.set_status("in-progress")
        self._emit(leg, "answered")
        if target.machine_detection:  # AMD on the dialled leg: verdict to amdStatusCallback
            leg.answered_by = callee.answered_by(target.machine_detection)
            if target.amd_status_callback:
                self._amd_callback(leg, parent.resolve(parent.voice_url,
                                                       target.amd_status_callback))
        if target.url and not self._screen(target, leg, callee, parent):
            leg.set_status("completed")  # answered, then screened out: never bridged
            self._emit(leg, "completed")
            leg.done.set()
            return DialOutcome("completed", 0, leg.sid, caller_hangs_up=False,
                               ring_seconds=callee.ring_seconds, screened_out=True)
        talk = int(callee.hangup_after) if callee.hangup_after else callee.talk_seconds
        leg.duration = talk
        leg.set_status("completed")
        self._emit(leg, "completed")
        leg.done.set()
        return DialOutcome("completed", talk, leg.sid, caller_hangs_up=False,
                           ring_seconds=callee.ring_seconds)

    # ------------------------------------------------------------ status callbacks
    def _emit(self, call: CallRecord, event: str, status: str | None = None) -> None:
        if not call.status_callback or event not in call.events:
            return
        params = {**call.webhook_params(), "CallStatus": status or call.status,
                  "Timestamp": rfc2822_now(), "CallbackSource": "call-progress-events",
                  "SequenceNumber": str(call.next_sequence())}
        if event == "completed":
            params["CallDuration"] = str(call.duration or 0)
        if self.stand_in.faults.callbacks.out_of_order:
            self._held.append((call, event, params))
        else:
            self._deliver(call, event, params)

    def _flush(self) -> None:
        for call, event, params in reversed(self._held):
            self._deliver(call, event, params)
        self._held.clear()

    def _deliver(self, call: CallRecord, event: str, params: dict[str, str]) -> None:
        assert call.status_callback
        method = call.status_callback_method.upper()
        url = with_query(call.status_callback, params) if method == "GET" else call.status_callback
        body = {} if method == "GET" else params
        headers = self.stand_in.signer.headers(url, body)  # a duplicate is the same request
        for _ in range(2 if self.stand_in.faults.callbacks.duplicate else 1):
            reply = self.transport.request(method, url, body, headers)
            self.stand_in.record_callback(StatusCallbackRecord(
                call.sid, event, url, dict(params), reply.status, reply.text))
