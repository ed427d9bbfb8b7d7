"""The REST stand-in: the subset of Twilio's 2010-04-01 Calls API the product uses.

`create_stand_in(account_sid, auth_token, transport=...)` returns a Flask app; the state
(calls, status callbacks, callee behaviour, injected faults) is the `StandIn` kept in
`app.extensions["localtwilio"]`. Calls are driven on background threads, like Twilio's
asynchronous call progress; `StandIn.wait_idle()` waits for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, jsonify, request

from localtwilio import validation
from localtwilio.callee import CalleeBook
from localtwilio.calls import FINAL_STATUSES, CallRecord, StatusCallbackRecord
from localtwilio.dialing import new_call_sid
from localtwilio.driver import CallDriver
from localtwilio.faults import ERROR_CODES, ERROR_MESSAGES, HOLD_LIMIT, Faults
from localtwilio.recordings import RecordingStore
from localtwilio.signing import Signer
from localtwilio.transport import Transport
from localtwilio.validation import TwilioApiError, error_response

PREFIX = "/2010-04-01/Accounts/<account_sid>"


class StandIn:
    """The stand-in's state, shared by its views, its call threads and the tests."""

    def __init__(self, account_sid: str, auth_token: str, transport: Transport | None,
                 base_url: str, time_scale: float, duplicate_webhooks: bool) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.transport = transport  # how calls reach the app; set before placing calls
        self.signer = Signer(auth_token)
        self.base_url = base_url
        self.time_scale = time_scale  # real seconds per simulated second of ringing
        self.duplicate_webhooks = duplicate_webhooks
        self.callees = CalleeBook()
        self.faults = Faults()
        self.recordings = RecordingStore()
        # Twilio's "Enforce HTTP Auth on Media URLs" account setting (off by default there)
        self.recordings_need_auth = False
        self.calls: dict[str, CallRecord] = {}
        self.callbacks: list[StatusCallbackRecord] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        # what progresses each call; the local phone swaps in one that can ring its pages
        self.driver_factory: Callable[[StandIn, CallRecord], CallDriver] = CallDriver

    def add_call(self, call: CallRecord) -> None:
        """Register a call (API-created or a dialled leg)."""
        with self._lock:
            self.calls[call.sid] = call

    def record_callback(self, record: StatusCallbackRecord) -> None:
        """Keep a delivered status callback for inspection."""
        with self._lock:
            self.callbacks.append(record)

    def start(self, call: CallRecord) -> None:
        """Drive `call` on a background thread."""
        if self.transport is None:
            raise RuntimeError("the stand-in has no transport to reach the app")
        thread = threading.Thread(target=self.driver_factory(self, call).run, daemon=True,
                                  name=f"call-{call.sid}")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every call placed so far has reached a final status."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise TimeoutError(f"{thread.name} still running after {timeout} s")

    def callbacks_for(self, call_sid: str) -> list[StatusCallbackRecord]:
        """Status callbacks delivered for one call, in delivery order."""
        with self._lock:
            return [c for c in self.callbacks if c.call_sid == call_sid]


def _check_auth(state: StandIn, account_sid: str) -> None:
    auth = request.authorization
    if auth is None or (auth.username, auth.password) != (state.account_sid, state.auth_token):
        raise TwilioApiError(20003, "Authenticate", 401)
    if account_sid != state.account_sid:
        raise TwilioApiError(20404, f"The requested resource {request.path} was not found", 404)


def _call_or_404(state: StandIn, call_sid: str) -> CallRecord:
    call = state.calls.get(call_sid)
    if call is None:
        raise TwilioApiError(20404, f"The requested resource {request.path} was not found", 404)
    return call


InspectionGuard = Callable[[], Response | None]  # None lets the request through


def create_stand_in(account_sid: str, auth_token: str, *, transport: Transport | None = None,
                    base_url: str = "http://localtwilio.test", time_scale: float = 0.0,
                    duplicate_webhooks: bool = False,
                    inspection_guard: InspectionGuard | None = None) -> Flask:
    """A Flask app speaking Twilio's Calls API; its state is app.extensions["localtwilio"].

    `inspection_guard` runs before the inspection routes (/_localtwilio/...), which show
    every call's numbers and prompts; the local phone requires a console login there.
    """
    app = Flask("localtwilio")
    state = StandIn(account_sid, auth_token, transport, base_url, time_scale, duplicate_webhooks)
    app.extensions["localtwilio"] = state

    @app.errorhandler(TwilioApiError)
    def api_error(exc: TwilioApiError) -> Response:
        return error_response(exc)

    @app.before_request
    def inject_faults() -> Response | None:
        if not request.path.startswith("/2010-04-01/"):
            return None
        status, delay, hold = state.faults.take()
        if hold is not None:
            hold.wait(HOLD_LIMIT)
        if delay:
            time.sleep(delay)
        if status is not None:
            return error_response(TwilioApiError(ERROR_CODES[status], ERROR_MESSAGES[status],
                                                 status))
        return None

    @app.before_request
    def guard_inspection() -> Response | None:
        if inspection_guard is not None and request.path.startswith("/_localtwilio/"):
            return inspection_guard()
        return None

    @app.teardown_request
    def count_answered(_exc: BaseException | None) -> None:
        if request.path.startswith("/2010-04-01/"):
            state.faults.done()

    @app.post(f"{PREFIX}/Calls.json")
    def create_call(account_sid: str) -> tuple[Response, int]:
        """Place an outbound call (Twilio: Create a Call resource)."""
        _check_auth(state, account_sid)
        fields = validation.create_call_fields(request.form)
        call = CallRecord(new_call_sid(), account_sid, **fields)
        state.add_call(call)
        created = call.to_json()  # as created: the call starts progressing right after
        state.start(call)
        return jsonify(created), 201

    @app.get(f"{PREFIX}/Calls.json")
    def list_calls(account_sid: str) -> Response:
        """List calls, newest first, optionally filtered by To/From/Status."""
        _check_auth(state, account_sid)
        calls = [c for c in reversed(list(state.calls.values()))
                 if all(request.args.get(k) in (None, v) for k, v in
                        (("To", c.to), ("From", c.from_), ("Status", c.status)))]
        uri = request.full_path.rstrip("?")
        return jsonify({"calls": [c.to_json() for c in calls], "page": 0,
                        "page_size": len(calls), "start": 0, "end": max(len(calls) - 1, 0),
                        "uri": uri, "first_page_uri": uri, "next_page_uri": None,
                        "previous_page_uri": None})

    @app.get(f"{PREFIX}/Calls/<call_sid>.json")
    def fetch_call(account_sid: str, call_sid: str) -> Response:
        """Fetch one call."""
        _check_auth(state, account_sid)
        return jsonify(_call_or_404(state, call_sid).to_json())

    @app.post(f"{PREFIX}/Calls/<call_sid>.json")
    def update_call(account_sid: str, call_sid: str) -> Response:
        """Update a live call: redirect it (Url/Twiml) or end it (Status)."""
        _check_auth(state, account_sid)
        call = _call_or_404(state, call_sid)
        validation.apply_update(call, request.form)
        return jsonify(call.to_json())

    @app.get(f"{PREFIX}/Recordings/<recording_sid>")
    def recording_media(account_sid: str, recording_sid: str) -> Response:
        """The recording's audio as WAV (Twilio serves .wav with or without the suffix)."""
        if state.recordings_need_auth:
            _check_auth(state, account_sid)
        recording = state.recordings.get(recording_sid.removesuffix(".wav"))
        if recording is None:
            abort(404)
        return Response(recording.wav, mimetype="audio/x-wav")

    @app.delete(f"{PREFIX}/Recordings/<recording_sid>.json")
    def delete_recording(account_sid: str, recording_sid: str) -> Response:
        """Delete a recording as Twilio does: 204 with no body, 404 (code 20404) if unknown."""
        _check_auth(state, account_sid)
        if not state.recordings.delete(recording_sid):
            raise TwilioApiError(20404, f"The requested resource {request.path} was not found",
                                 404)
        return Response(status=204)

    @app.get("/_localtwilio/calls")
    def inspect_calls() -> Response:
        """Inspection: every call with its transcript outcome."""
        return jsonify([_inspect(c) for c in state.calls.values()])

    @app.get("/_localtwilio/callbacks")
    def inspect_callbacks() -> Response:
        """Inspection: every status callback sent, with the app's response status."""
        return jsonify([vars(c) for c in state.callbacks])

    return app


def _inspect(call: CallRecord) -> dict[str, Any]:
    data = call.to_json()
    transcript = call.transcript
    data["final"] = call.status in FINAL_STATUSES
    data["outcome"] = transcript.outcome if transcript else None
    data["prompts"] = transcript.prompts if transcript else []
    return data
