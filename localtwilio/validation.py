"""Request validation and Twilio-shaped errors for the REST stand-in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from flask import Response, jsonify
from werkzeug.datastructures import MultiDict

from localtwilio.calls import FINAL_STATUSES, CallRecord

EVENTS = {"initiated", "ringing", "answered", "completed"}
MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


class TwilioApiError(Exception):
    """An error answered as Twilio does: {"code", "message", "more_info", "status"}."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def error_response(exc: TwilioApiError) -> Response:
    """The JSON error body Twilio's REST API returns."""
    response = jsonify({"code": exc.code, "message": exc.message,
                        "more_info": MORE_INFO.format(code=exc.code), "status": exc.status})
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def _valid_address(value: str) -> bool:
    if value.startswith(("client:", "sip:")):
        return len(value) > len("sip:")
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def _valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https", "ws", "wss"} and bool(parts.netloc)


def _method(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "POST").upper()
    if value not in {"GET", "POST"}:
        raise TwilioApiError(21209 if name == "Method" else 21609, f"Invalid {name}: {value}")
    return value


def create_call_fields(form: MultiDict[str, str]) -> dict[str, Any]:
    """Validate a Create Call request; return CallRecord fields or raise TwilioApiError."""
    to, from_ = form.get("To", "").strip(), form.get("From", "").strip()
    if not to:
        raise TwilioApiError(21201, "No 'To' number is specified")
    if not _valid_address(to):
        raise TwilioApiError(21211, f"Invalid 'To' Phone Number: {to}")
    if not from_:
        raise TwilioApiError(21213, "No 'From' number is specified")
    if not _valid_address(from_):
        raise TwilioApiError(21212, f"Invalid 'From' Phone Number: {from_}")
    url, twiml = form.get("Url"), form.get("Twiml")
    if not url and not twiml:
        raise TwilioApiError(21205, "Url parameter is required.")
    for name in ("Url", "StatusCallback", "FallbackUrl", "AsyncAmdStatusCallback"):
        if form.get(name) and not _valid_url(form[name]):
            raise TwilioApiError(21205 if name != "StatusCallback" else 21609,
                                 f"Invalid {name}: {form[name]}")
    events = {e for value in form.getlist("StatusCallbackEvent") for e in value.split()}
    if events - EVENTS:
        raise TwilioApiError(21626, "Invalid 'StatusCallbackEvent'")
    detection = form.get("MachineDetection")
    if detection and detection not in {"Enable", "DetectMessageEnd"}:
        raise TwilioApiError(21235, f"Invalid MachineDetection: {detection}")
    async_amd = form.get("AsyncAmd", "false").lower() == "true"
    try:
        timeout = int(form.get("Timeout", "60"))
    except ValueError as exc:
        raise TwilioApiError(21216, "Invalid Timeout") from exc
    return {"to": to, "from_": from_, "url": url, "twiml": twiml,
            "method": _method(form, "Method"), "fallback_url": form.get("FallbackUrl"),
            "status_callback": form.get("StatusCallback"),
            "status_callback_method": _method(form, "StatusCallbackMethod"),
            "events": frozenset(events or {"completed"}), "machine_detection": detection,
            "timeout": max(1, min(timeout, 600)),
            "record": form.get("Record", "false").lower() == "true",
            "async_amd": async_amd and bool(detection),
            "async_amd_status_callback": form.get("AsyncAmdStatusCallback"),
            "async_amd_status_callback_method": _method(form, "AsyncAmdStatusCallbackMethod")}


def apply_update(call: CallRecord, form: Mapping[str, str]) -> None:
    """Update a call: Status=canceled|completed ends it; Url/Twiml redirects it if live."""
    status = form.get("Status")
    if status is not None and status not in {"canceled", "completed"}:
        raise TwilioApiError(21218, f"Invalid Status: {status}")
    if status and call.status not in FINAL_STATUSES:
        if call.status in {"queued", "ringing"}:
            call.set_status("canceled")
        elif status == "completed" and call.live is not None:
            call.live.hang_up_remotely()
        return
    url, twiml = form.get("Url"), form.get("Twiml")
    if url or twiml:
        if call.live is None or call.status != "in-progress":
            raise TwilioApiError(21220, "Call is not in-progress. Cannot redirect.")
        if url and not _valid_url(url):
            raise TwilioApiError(21205, f"Invalid Url: {url}")
        call.live.redirect(url, _method(form, "Method"), twiml)
