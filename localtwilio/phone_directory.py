"""The local phones open in this process: who is on which call, which page has which number.

`PhoneDirectory` (kept in `app.extensions["localtwilio.phones"]`) places a page's call to
the hotline (`dial`), finds the page registered for a number when the REST stand-in rings
it (`line_for_number`), and relays what the app's speech socket recognised to the page on
that call (`observe`, wrapped around the `speech.result_sink`), so the page can show what
was understood turn by turn. It knows nothing of flows: only call sids, numbers and pages.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localtwilio.phone_line import PhoneLine
from localtwilio.recordings import RecordingStore
from localtwilio.runner import LocalCall
from localtwilio.signing import Signer
from localtwilio.transcript import CallTranscript
from localtwilio.transport import RequestsTransport, Transport

log = logging.getLogger(__name__)
NUMBER = re.compile(r"^\+[1-9][0-9]{5,14}$")


def valid_number(value: object) -> str | None:
    """`value` as an E.164 number ("+39 333 123" -> "+39333123"), or None."""
    text = re.sub(r"[\s().-]", "", str(value or ""))
    return text if NUMBER.match(text) else None


@dataclass(frozen=True)
class Hotline:
    """Where calls to the hotline go: its webhooks (as configured at Twilio) and account."""

    voice_url: str
    status_url: str
    fallback_url: str
    number: str
    account_sid: str
    auth_token: str


def call_summary(call: LocalCall, transcript: CallTranscript) -> dict[str, Any]:
    """The `ended` message for the page: how the call ended and how long it lasted."""
    return {"type": "ended", "outcome": transcript.outcome, "error": transcript.error,
            "transferred_to": call.transferred_to, "duration": transcript.duration,
            "call_sid": call.call_sid}


class PhoneDirectory:
    """Pages registered by number, and the page on each live call."""

    def __init__(self, hotline: Hotline, transport: Transport | None = None) -> None:
        self.hotline = hotline
        self.transport: Transport = transport or RequestsTransport()
        self._by_number: dict[str, PhoneLine] = {}
        # Where `<Record>` keeps audio and the base of the RecordingUrl it posts: the REST
        # stand-in's store and address once it is mounted, so the app fetches the message as
        # it would from Twilio (`localtwilio.phone._mount_stand_in` sets both).
        self.recordings: RecordingStore | None = None
        self.recording_base_url = "http://localtwilio.test"
        self._by_call: dict[str, PhoneLine] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ registration
    def register(self, number: str, line: PhoneLine) -> None:
        """The page at `line` answers calls to `number` (the latest page wins)."""
        with self._lock:
            self._by_number[number] = line

    def unregister(self, line: PhoneLine) -> None:
        """Forget a page that left."""
        with self._lock:
            for number in [n for n, held in self._by_number.items() if held is line]:
                del self._by_number[number]
            for sid in [s for s, held in self._by_call.items() if held is line]:
                del self._by_call[sid]

    def line_for_number(self, number: str) -> PhoneLine | None:
        """The open page registered for `number`, if any."""
        with self._lock:
            line = self._by_number.get(number)
        return line if line is not None and not line.closed.is_set() else None

    def attach(self, call_sid: str, line: PhoneLine) -> None:
        """`line` is on call `call_sid` (recognition results for it go to the page)."""
        with self._lock:
            self._by_call[call_sid] = line

    def detach(self, call_sid: str) -> None:
        """The call is over."""
        with self._lock:
            self._by_call.pop(call_sid, None)

    # ------------------------------------------------------------ calls
    def dial(self, line: PhoneLine, from_: str, to: str | None = None,
             on_end: Callable[[], None] | None = None) -> LocalCall:
        """Call the hotline from the page at `line`, on a thread; returns the live call."""
        hotline = self.hotline
        call = LocalCall(self.transport, hotline.voice_url, from_=from_,
                         to=to or hotline.number, signer=Signer(hotline.auth_token),
                         account_sid=hotline.account_sid, fallback_url=hotline.fallback_url,
                         status_callback=hotline.status_url, realtime=True,
                         recordings=self.recordings,
                         recording_base_url=self.recording_base_url)
        self.attach(call.call_sid, line)
        line.reset(call.call_sid)

        def run() -> None:
            line.send({"type": "connected", "call_sid": call.call_sid, "direction": "inbound"})
            try:
                transcript = call.run(line)
                line.send(call_summary(call, transcript))
            except Exception:
                log.exception("local phone call %s failed", call.call_sid)
                line.send({"type": "ended", "outcome": "error", "call_sid": call.call_sid})
            finally:
                self.detach(call.call_sid)
                line.call_sid = None
                if on_end is not None:
                    on_end()

        threading.Thread(target=run, name=f"phone-{call.call_sid}", daemon=True).start()
        return call

    # ------------------------------------------------------------ recognition results
    def observe(self, call_sid: str, utterance: Any) -> None:
        """Tell the page on `call_sid` what the speech socket recognised (if a page is on it)."""
        with self._lock:
            line = self._by_call.get(call_sid)
        if line is None:
            return
        line.send({"type": "recognised", "text": getattr(utterance, "text", ""),
                   "digits": getattr(utterance, "digits", ""),
                   "confidence": round(float(getattr(utterance, "confidence", 0.0)), 3),
                   "reason": getattr(utterance, "reason", "")})

    def partial(self, call_sid: str, text: str) -> None:
        """Partial sink: show the words recognised so far on the page on `call_sid`."""
        with self._lock:
            line = self._by_call.get(call_sid)
        if line is not None:
            line.send({"type": "partial", "text": text})

    def wrap_sink(self, sink: Callable[..., None]) -> Callable[..., None]:
        """A result sink that stores as before, then shows the result on the caller's page."""
        def observed(call_sid: str, parameters: dict[str, str], utterance: Any) -> None:
            try:
                sink(call_sid, parameters, utterance)
            finally:
                self.observe(call_sid, utterance)
        return observed
