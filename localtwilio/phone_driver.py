"""Outbound calls that ring a local phone page, and the REST stand-in mounted in the app.

When the app (say, "Call now" in the agent console) creates a call through the REST
stand-in to a number a phone page has registered, `PhoneCallDriver` rings that page
(`incoming`), waits for it to answer or decline (or for the call's timeout), and then runs
the call's TwiML with the page as the callee, exactly like an inbound call from the page.
Calls to any other number behave as the stand-in's configured callees (`CallDriver`).

The same goes for the second leg of a `<Dial><Number>` in any call's TwiML: a number a page
registered rings that page (`localtwilio.phone_bridge`), so the agent-first callback (the
agent's leg answers, then dials the caller) rings the caller's page. In the embedded
default the agent's own leg is answered by the stand-in's simulated callee, unless the
agent has opened /phone registered with their own number: then that page rings first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from localtwilio.calls import CallRecord
from localtwilio.dialing import DialOutcome
from localtwilio.driver import CallDriver
from localtwilio.phone_bridge import REFUSALS, dial_page, wait_for_answer
from localtwilio.phone_directory import call_summary
from localtwilio.phone_line import PhoneLine

if TYPE_CHECKING:
    from localtwilio.phone_directory import PhoneDirectory
    from localtwilio.rest import StandIn
    from localtwilio.runner import LocalCall
    from localtwilio.twiml import Dial, DialTarget

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
        answer = wait_for_answer(line, float(call.timeout), call=call)
        if answer != "answer":
            line.send({"type": "ended", "outcome": answer, "call_sid": call.sid})
            line.reset(None)
            call.set_status(REFUSALS.get(answer, "no-answer"))
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

    def _dial_leg(self, target: DialTarget, dial: Dial, parent: LocalCall) -> DialOutcome:
        """A `<Dial><Number>` to a number a page registered rings that page."""
        line = self.directory.line_for_number(target.value)
        if line is None:
            return super()._dial_leg(target, dial, parent)
        return dial_page(self, line, target, dial, parent)
