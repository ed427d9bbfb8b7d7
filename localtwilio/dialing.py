"""What happens when the app's TwiML dials someone: the second leg of a `<Dial>`.

The runner asks a dial handler for the outcome of each `<Number>`/`<Client>`. A handler is
any callable `(target, dial, call) -> DialOutcome`; `scripted_dial` answers from a fixed
table, and the REST stand-in supplies one that consults its per-number callee behaviour.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localtwilio.twiml import Dial, DialTarget

DIAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


def new_call_sid() -> str:
    """A fresh Twilio-shaped call sid (CA + 32 hex digits)."""
    return "CA" + uuid.uuid4().hex


@dataclass(frozen=True)
class DialOutcome:
    """How a dialled leg ended: Twilio's DialCallStatus, talk time, and who hung up."""

    status: str = "completed"
    duration: int = 30  # seconds of conversation once bridged
    call_sid: str = field(default_factory=new_call_sid)
    caller_hangs_up: bool = True  # after a bridged call the caller usually ends it
    ring_seconds: int = 3
    screened_out: bool = False  # answered, but the whisper (<Number url>) ended the leg

    def __post_init__(self) -> None:
        if self.status not in DIAL_STATUSES:
            raise ValueError(f"unknown DialCallStatus {self.status!r}")

    @property
    def bridged(self) -> bool:
        """Whether the two parties were connected (an answered leg that the screening
        URL hung up was not: DialCallStatus "completed", DialBridged "false")."""
        return self.status == "completed" and not self.screened_out

    def action_params(self) -> dict[str, str]:
        """The parameters Twilio adds to the `<Dial action>` request."""
        params = {"DialCallStatus": self.status, "DialCallSid": self.call_sid,
                  "DialBridged": "true" if self.bridged else "false"}
        if self.bridged:
            params["DialCallDuration"] = str(self.duration)
        return params


DialHandler = Callable[[DialTarget, Dial, Any], DialOutcome]


def scripted_dial(outcomes: Mapping[str, str | DialOutcome] | None = None,
                  default: str | DialOutcome = "completed") -> DialHandler:
    """A dial handler answering from a table: number -> status or DialOutcome."""
    table = dict(outcomes or {})

    def handler(target: DialTarget, dial: Dial, call: Any) -> DialOutcome:
        outcome = table.get(target.value, default)
        return DialOutcome(outcome) if isinstance(outcome, str) else outcome

    return handler
