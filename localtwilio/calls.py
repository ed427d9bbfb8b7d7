"""Calls placed through the REST stand-in: their Twilio-shaped record and JSON."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from localtwilio.runner import LocalCall
from localtwilio.transcript import CallTranscript

API_VERSION = "2010-04-01"
FINAL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}


def _rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment else None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class StatusCallbackRecord:
    """One status callback the stand-in sent, and what the app answered."""

    call_sid: str
    event: str
    url: str
    params: dict[str, str]
    status: int
    body: str


@dataclass
class CallRecord:
    """A call resource: what was asked for, its state, and (once run) its transcript."""

    sid: str
    account_sid: str
    to: str
    from_: str
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    fallback_url: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    events: frozenset[str] = frozenset({"completed"})
    machine_detection: str | None = None
    async_amd: bool = False  # AMD runs while the call's TwiML already plays
    async_amd_status_callback: str | None = None
    async_amd_status_callback_method: str = "POST"
    timeout: int = 60
    record: bool = False
    direction: str = "outbound-api"
    parent_call_sid: str | None = None
    status: str = "queued"
    answered_by: str | None = None
    date_created: datetime = field(default_factory=_now)
    date_updated: datetime = field(default_factory=_now)
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    transcript: CallTranscript | None = None
    live: LocalCall | None = None
    sequence: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_status(self, status: str) -> None:
        """Move to `status`, stamping start/end times as Twilio does."""
        self.status = status
        self.date_updated = _now()
        if status == "in-progress" and self.start_time is None:
            self.start_time = self.date_updated
        if status in FINAL_STATUSES:
            self.end_time = self.date_updated
            if self.duration is None:
                self.duration = 0

    def next_sequence(self) -> int:
        """The SequenceNumber of the next status callback (0, 1, 2...)."""
        with self.lock:
            number = self.sequence
            self.sequence += 1
            return number

    def webhook_params(self) -> dict[str, str]:
        """Parameters every request about this call carries."""
        params = {"AccountSid": self.account_sid, "ApiVersion": API_VERSION,
                  "CallSid": self.sid, "CallStatus": self.status, "Called": self.to,
                  "Caller": self.from_, "Direction": self.direction, "From": self.from_,
                  "To": self.to}
        if self.parent_call_sid:
            params["ParentCallSid"] = self.parent_call_sid
        if self.answered_by:
            params["AnsweredBy"] = self.answered_by
        return params

    def to_json(self) -> dict[str, Any]:
        """The Call resource as Twilio's 2010-04-01 API returns it."""
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{self.sid}"
        return {
            "sid": self.sid, "account_sid": self.account_sid, "parent_call_sid":
            self.parent_call_sid, "to": self.to, "to_formatted": self.to, "from": self.from_,
            "from_formatted": self.from_, "status": self.status, "direction": self.direction,
            "answered_by": self.answered_by, "api_version": API_VERSION,
            "date_created": _rfc2822(self.date_created),
            "date_updated": _rfc2822(self.date_updated),
            "start_time": _rfc2822(self.start_time), "end_time": _rfc2822(self.end_time),
            "duration": None if self.duration is None else str(self.duration),
            "price": None, "price_unit": "USD", "caller_name": None, "forwarded_from": None,
            "group_sid": None, "phone_number_sid": None, "queue_time": "0",
            "trunk_sid": None, "annotation": None, "uri": uri + ".json",
            "subresource_uris": {
                name: f"{uri}/{name.title().replace('_', '')}.json"
                for name in ("notifications", "recordings", "events", "payments",
                             "siprec", "streams", "user_defined_message_subscriptions",
                             "user_defined_messages")},
        }
