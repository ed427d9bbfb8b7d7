"""A simulated phone call that runs the app's TwiML the way Twilio does.

`LocalCall(transport, voice_url, from_=..., to=..., signer=...).run(script)` POSTs the
voice URL with signed Twilio parameters, executes the returned verbs in order, follows
actions and redirects, falls back to the fallback URL on errors (ErrorCode/ErrorUrl), and
finally sends the status callback. The result is a `CallTranscript`.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urljoin

from localtwilio import listening
from localtwilio import twiml as tw
from localtwilio.caller import Caller, CallerAction, HangUp, Listening, as_caller
from localtwilio.dialing import DialHandler, new_call_sid, scripted_dial
from localtwilio.recordings import RecordingStore
from localtwilio.signing import Signer
from localtwilio.stream import MediaStreamClient
from localtwilio.transcript import CallTranscript, Exchange, Turn
from localtwilio.transport import HttpReply, Transport, with_query
from localtwilio.twiml import Dial, TwimlError, Verb, parse_twiml
from localtwilio.voices import Notice

log = logging.getLogger(__name__)
API_VERSION = "2010-04-01"
HTTP_RETRIEVAL_FAILURE = 11200
HTTP_CONNECTION_FAILURE = 11205
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."


@dataclass
class Goto:
    """Fetch a new document: from `url`, or inline `twiml` (REST Twiml / live update)."""

    url: str | None
    method: str = "POST"
    params: Mapping[str, str] | None = None
    kind: str = "action"
    twiml: str | None = None


class CallEnded(Exception):
    """Raised inside the verb loop when the call is over."""


def rfc2822_now() -> str:
    """Now, as Twilio formats timestamps in callbacks."""
    return format_datetime(datetime.now(UTC))


class LocalCall:
    """One call from a (scripted or interactive) caller to the app's voice URL."""

    def __init__(self, transport: Transport, voice_url: str, *, from_: str, to: str,
                 signer: Signer | None = None, account_sid: str = "AC" + "0" * 32,
                 call_sid: str | None = None, direction: str = "inbound",
                 method: str = "POST", twiml: str | None = None,
                 fallback_url: str | None = None, fallback_method: str = "POST",
                 status_callback: str | None = None, status_callback_method: str = "POST",
                 extra_params: Mapping[str, str] | None = None,
                 dial: DialHandler | None = None, recordings: RecordingStore | None = None,
                 recording_base_url: str = "http://localtwilio.test",
                 duplicate_webhooks: bool | Callable[[str, str], bool] = False,
                 realtime: bool = False, stream_idle_timeout: float = 5.0,
                 hangup_after: float | None = None, max_requests: int = 100,
                 on_answered: Callable[[LocalCall], None] | None = None) -> None:
        self.transport, self.voice_url, self.method = transport, voice_url, method.upper()
        self.from_, self.to, self.signer = from_, to, signer
        self.account_sid = account_sid
        self.call_sid = call_sid or new_call_sid()
        self.direction, self.twiml = direction, twiml
        self.fallback_url, self.fallback_method = fallback_url, fallback_method.upper()
        self.status_callback = status_callback
        self.status_callback_method = status_callback_method.upper()
        self.extra_params = dict(extra_params or {})
        self.dial_handler = dial or scripted_dial()
        self.recordings = recordings if recordings is not None else RecordingStore()
        self.recording_base_url = recording_base_url.rstrip("/")
        self.duplicate_webhooks = duplicate_webhooks
        self.realtime, self.stream_idle_timeout = realtime, stream_idle_timeout
        self.hangup_after, self.max_requests = hangup_after, max_requests
        self.transcript = CallTranscript(self.call_sid)
        self.caller: Caller = as_caller(None)
        self.elapsed = 0.0  # simulated seconds since the call was answered
        self.answered = False
        self.final_status = "completed"
        self.transferred_to: str | None = None
        self.forks: dict[str, MediaStreamClient] = {}
        self._interrupts: queue.Queue[Goto | str] = queue.Queue()
        self._first_request = True
        # runs once the first document is fetched, before its verbs (async AMD's verdict)
        self.on_answered = on_answered

    # ------------------------------------------------------------ public
    def run(self, script: Caller | Sequence[CallerAction] | None = None) -> CallTranscript:
        """Run the call to its end with `script` as the caller; return the transcript."""
        self.caller = as_caller(script)
        goto: Goto | None = Goto(self.voice_url, self.method, kind="webhook", twiml=self.twiml)
        try:
            while goto is not None:
                goto = self._run_document(goto)
            self._end("completed")
        except CallEnded:
            pass
        finally:
            self._finish()
        return self.transcript

    def redirect(self, url: str | None = None, method: str = "POST",
                 twiml: str | None = None) -> None:
        """Live-call update: leave the current TwiML and fetch `url` (or run `twiml`)."""
        self._interrupts.put(Goto(url, method.upper(), kind="redirect", twiml=twiml))

    def hang_up_remotely(self) -> None:
        """Live-call update with Status=completed: end the call at the next chance."""
        self._interrupts.put("hangup")

    def wait_for_interrupt(self, seconds: float) -> bool:
        """Block up to `seconds` (a caller on hold); True if an update arrived."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self._interrupts.empty():
                return True
            time.sleep(0.02)
        return not self._interrupts.empty()

    # ------------------------------------------------------------ helpers for verbs
    def add_turn(self, who: str, text: str, language: str | None = None, verb: str = "") -> None:
        """Append a turn to the transcript."""
        self.transcript.turns.append(Turn(who, text, language, verb))

    def notice(self, notice: Notice) -> None:
        """Log a warning or error as Twilio's debugger would show it for this call."""
        log.warning("call %s: Twilio %s %s: %s", self.call_sid, notice.level.lower(),
                    notice.code, notice.message)
        self.transcript.notices.append(notice)

    def listen(self, listening_for: Listening) -> CallerAction:
        """Ask the caller for input, unless their patience (hangup_after) has run out."""
        if self.hangup_after is not None and self.elapsed >= self.hangup_after:
            return HangUp()
        action = self.caller.next_action(listening_for)
        listening.mirror_to_forks(self, action)
        return action

    def caller_hung_up(self) -> None:
        """The caller put the phone down: stop everything."""
        self.add_turn("caller", "(hangs up)", verb="Hangup")
        self._end("hangup", "caller")

    def base_params(self) -> dict[str, str]:
        """Parameters Twilio sends with every voice request on this call."""
        status = "ringing" if self._first_request and self.direction == "inbound" \
            else "in-progress"
        return {"AccountSid": self.account_sid, "ApiVersion": API_VERSION,
                "CallSid": self.call_sid, "CallStatus": status, "Called": self.to,
                "Caller": self.from_, "Direction": self.direction, "From": self.from_,
                "To": self.to, **self.extra_params}

    def send(self, url: str, method: str, params: Mapping[str, str], kind: str) -> HttpReply:
        """Sign and send one request (twice when duplicates are on); log the exchange."""
        if kind != "status" and len(self.transcript.requests) >= self.max_requests:
            self._fail(f"more than {self.max_requests} requests: the flow loops")
        method = method.upper()
        target = with_query(url, params) if method == "GET" else url
        body = {} if method == "GET" else dict(params)
        headers = self.signer.headers(target, body) if self.signer else {}
        reply = self._send_once(method, target, body, headers, kind)
        duplicate = self.duplicate_webhooks
        if duplicate is True or (callable(duplicate) and duplicate(kind, url)):
            reply = self._send_once(method, target, body, headers, "duplicate")
        return reply

    def _send_once(self, method: str, url: str, body: dict[str, str], headers: dict[str, str],
                   kind: str) -> HttpReply:
        reply = self.transport.request(method, url, body, headers)
        self.transcript.requests.append(Exchange(method, url, body, headers, reply.status,
                                                 reply.text, kind))
        return reply

    def resolve(self, doc_url: str, url: str | None) -> str:
        """An action URL resolved against the document's URL (the default when absent)."""
        return urljoin(doc_url, url) if url else doc_url

    # ------------------------------------------------------------ the document loop
    def _load(self, goto: Goto) -> tuple[str, list[Verb]]:
        if goto.twiml is not None:
            try:
                return self.voice_url, parse_twiml(goto.twiml)
            except TwimlError as exc:
                self._fail(f"invalid TwiML given inline: {exc}")
        assert goto.url is not None
        params = {**self.base_params(), **(goto.params or {})}
        reply = self.send(goto.url, goto.method, params, goto.kind)
        self._first_request = False
        try:
            return goto.url, self._parse(reply)
        except TwimlError as exc:
            error = f"{goto.url}: {exc}"
            if self.fallback_url:
                fallback = {**params, "ErrorCode": str(exc.code), "ErrorUrl": goto.url}
                reply = self.send(self.fallback_url, self.fallback_method, fallback, "fallback")
                try:
                    return self.fallback_url, self._parse(reply)
                except TwimlError as again:
                    error += f"; fallback {self.fallback_url}: {again}"
            self._fail(error)
        raise AssertionError("unreachable")

    @staticmethod
    def _parse(reply: HttpReply) -> list[Verb]:
        if reply.status == 599:
            raise TwimlError(f"connection failed: {reply.text}", HTTP_CONNECTION_FAILURE)
        if reply.status >= 400:
            raise TwimlError(f"HTTP {reply.status}", HTTP_RETRIEVAL_FAILURE)
        return parse_twiml(reply.body)

    def _run_document(self, goto: Goto) -> Goto | None:
        doc_url, verbs = self._load(goto)
        if self.on_answered is not None:
            hook, self.on_answered = self.on_answered, None
            hook(self)
        for verb in verbs:
            pending = self._take_interrupt()
            if pending is not None:
                return pending
            if self.hangup_after is not None and self.elapsed >= self.hangup_after:
                self.caller_hung_up()
            if not isinstance(verb, tw.Reject):
                self.answered = True
            next_goto = self._execute(verb, doc_url)
            if next_goto is not None:
                return next_goto
        return None

    def _take_interrupt(self) -> Goto | None:
        try:
            item = self._interrupts.get_nowait()
        except queue.Empty:
            return None
        if item == "hangup":
            self.add_turn("system", "call ended through the REST API", verb="Hangup")
            self._end("hangup", "api")
        assert isinstance(item, Goto)
        return item

    def _execute(self, verb: Verb, doc_url: str) -> Goto | None:
        if isinstance(verb, tw.Say | tw.Play | tw.Pause):
            listening.play(self, verb)
            return None
        if isinstance(verb, tw.Gather):
            return listening.gather(self, verb, doc_url)
        if isinstance(verb, tw.Record):
            return listening.record(self, verb, doc_url)
        if isinstance(verb, tw.Connect):
            return listening.connect(self, verb, doc_url)
        if isinstance(verb, tw.Start):
            listening.start_fork(self, verb)
            return None
        if isinstance(verb, tw.StopStream):
            listening.stop_forks(self, verb.name)
            return None
        if isinstance(verb, Dial):
            return self._dial(verb, doc_url)
        if isinstance(verb, tw.Redirect):
            return Goto(self.resolve(doc_url, verb.url), verb.method, kind="redirect")
        if isinstance(verb, tw.Hangup):
            self.add_turn("app", "(hangs up)", verb="Hangup")
            self._end("hangup", "app")
        if isinstance(verb, tw.Reject):
            self.add_turn("app", f"(rejects the call: {verb.reason})", verb="Reject")
            if not self.answered:
                self.final_status = "busy" if verb.reason == "busy" else "no-answer"
            self._end("rejected", "app")
        if isinstance(verb, tw.Unsupported):
            self._fail(f"<{verb.name}> is not supported by the local stand-in")
        return None

    def _dial(self, verb: Dial, doc_url: str) -> Goto | None:
        if verb.unsupported:
            self._fail(f"<Dial><{verb.unsupported}> is not supported by the local stand-in")
        outcome = None
        for target in verb.targets:
            outcome = self.dial_handler(target, verb, self)
            self.add_turn("system", f"dial {target.value}: {outcome.status}", verb="Dial")
            self.elapsed += outcome.ring_seconds
            if outcome.bridged:
                self.transferred_to = target.value
                self.elapsed += outcome.duration
                break
        assert outcome is not None
        action = self.resolve(doc_url, verb.action) if verb.action else None
        if outcome.bridged and outcome.caller_hangs_up:
            if action:  # Twilio still requests the action; the reply is not executed
                self.send(action, verb.method, {**self.base_params(), **outcome.action_params()},
                          "action")
            self._end("hangup", "caller")
        if action:
            return Goto(action, verb.method, outcome.action_params(), "action")
        return None

    # ------------------------------------------------------------ ending
    def _end(self, outcome: str, by: str | None = None) -> None:
        if not self.transcript.outcome:
            self.transcript.outcome = outcome
            self.transcript.hung_up_by = by
        raise CallEnded

    def _fail(self, message: str) -> None:
        log.warning("call %s: %s", self.call_sid, message)
        self.transcript.error = message
        self.add_turn("system", APPLICATION_ERROR, "en-US", "Say")
        self._end("error")

    def _finish(self) -> None:
        listening.stop_forks(self, None)
        if self.transferred_to and self.transcript.outcome in {"hangup", "completed"}:
            self.transcript.outcome = f"transferred:{self.transferred_to}"
        self.transcript.duration = math.ceil(self.elapsed) if self.answered else 0
        if self.status_callback:
            params = {**self.base_params(), "CallStatus": self.final_status,
                      "CallDuration": str(self.transcript.duration),
                      "Timestamp": rfc2822_now(), "CallbackSource": "call-progress-events",
                      "SequenceNumber": "0"}
            self.send(self.status_callback, self.status_callback_method, params, "status")
