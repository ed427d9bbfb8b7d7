"""Outbound calls that ring a local phone page, and the REST stand-in mounted in the app.

When the app (say, "Call now" in the agent console) creates a call through the REST
stand-in to a number a phone page has registered, `PhoneCallDriver` rings that page
(`incoming`), waits for it to answer or decline (or for the call's timeout), and then runs
the call's TwiML with the page as the callee, exactly like an inbound call from the page.
Calls to any other number behave as the stand-in's configured callees (`CallDriver`).
"""

from __future__ import annotations

import logging
import queue
import time
from typing import TYPE_CHECKING

from localtwilio.calls import CallRecord
from localtwilio.driver import CallDriver
from localtwilio.phone_directory import call_summary
from localtwilio.phone_line import PhoneLine

if TYPE_CHECKING:
    from localtwilio.phone_directory import PhoneDirectory
    from localtwilio.rest import StandIn

log = logging.getLogger(__name__)


class PhoneCallDriver(CallDriver):
    """A CallDriver that rings an open phone page for numbers registered in `directory`."""

    def __init__(self, stand_in: StandIn, call: CallRecord, directory: PhoneDirectory) -> None:
        super().__init__(stand_in, call)
        self.directory = directory

    def _run(self) -> None:
        line = self.directory.line_for_number(self.call.to)
        if line is None or line.call_sid is not None:  # no page, or the page is busy
            if line is not None:
                self._busy()
                return
            super()._run()
            return
        self._ring_page(line)

    def _busy(self) -> None:
        call = self.call
        self._emit(call, "initiated", "initiated")
        call.set_status("busy")
        self._emit(call, "completed")

    def _ring_page(self, line: PhoneLine) -> None:
        call = self.call
        line.reset(call.sid)
        self._emit(call, "initiated", "initiated")
        call.set_status("ringing")
        self._emit(call, "ringing")
        line.send({"type": "incoming", "call_sid": call.sid, "from": call.from_,
                   "to": call.to})
        answer = self._wait_for_answer(line, float(call.timeout))
        if answer != "answer":
            line.send({"type": "ended", "outcome": answer, "call_sid": call.sid})
            line.reset(None)
            call.set_status({"decline": "busy", "canceled": "canceled"}.get(answer,
                                                                             "no-answer"))
            self._emit(call, "completed")
            return
        call.set_status("in-progress")
        self._emit(call, "answered")
        live = self._answered_call(realtime=True)
        call.live = live
        self.directory.attach(call.sid, line)
        line.send({"type": "connected", "call_sid": call.sid, "direction": call.direction})
        try:
            transcript = live.run(line)
        finally:
            self.directory.detach(call.sid)
            line.reset(None)
        line.send(call_summary(live, transcript))
        call.transcript, call.live = transcript, None
        call.duration = transcript.duration
        call.set_status("completed")
        self._emit(call, "completed")

    def _wait_for_answer(self, line: PhoneLine, seconds: float) -> str:
        """"answer", "decline", "no-answer" (timed out) or "canceled" (by the API)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.call.status == "canceled":
                return "canceled"
            if line.closed.is_set():
                return "no-answer"
            try:
                message = line.inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            kind = message.get("type")
            if kind == "answer":
                return "answer"
            if kind in {"decline", "hangup"}:
                return "decline"
        return "no-answer"
