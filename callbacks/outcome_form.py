"""The agent's outcome form: what each choice means and whether what was typed will do.

Kept apart from the view so that a refused form can be shown again as the agent left it,
with each problem next to its field (`FormErrors.fields`: field name -> catalog key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from callbacks.models import COMPLETED, FAILED, NO_ANSWER, RETRY_SCHEDULED

# What the agent picks -> (domain outcome, note prefix, needs a time).
OUTCOMES: dict[str, tuple[str, str, bool]] = {
    "resolved": (COMPLETED, "", False),
    "no_answer": (NO_ANSWER, "", False),
    "wrong_number": (FAILED, "wrong number", False),
    "call_again": (RETRY_SCHEDULED, "", True),
    "follow_up": (RETRY_SCHEDULED, "follow-up", True),
}
# After a call that connected, "no answer" makes no sense.
AFTER_CONNECTED = tuple(key for key in OUTCOMES if key != "no_answer")


class FormErrors(Exception):
    """The form cannot be saved as it is; `fields` maps a field to a catalog key."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class Outcome:
    """A valid outcome: the request's new status, the note to keep, when to call again."""

    key: str
    status: str
    note: str
    retry_at: datetime | None


def local_time(value: str, timezone: str) -> datetime | None:
    """A datetime-local field ("2025-03-11T15:30") read in `timezone`; None if not a time."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return None
    return naive.replace(tzinfo=ZoneInfo(timezone))


def parse(form: Mapping[str, str], now: datetime, timezone: str) -> Outcome:
    """The outcome the agent chose, or FormErrors naming each field that needs a fix."""
    key = form.get("outcome", "")
    choice = OUTCOMES.get(key)
    if choice is None:
        raise FormErrors({"outcome": "console.flash.pick_outcome"})
    status, prefix, needs_time = choice
    retry_at = None
    if needs_time:
        retry_at = local_time(form.get("retry_at", ""), timezone)
        if retry_at is None or retry_at <= now:
            raise FormErrors({"retry_at": "console.flash.pick_future_time"})
    notes = form.get("notes", "").strip()
    note = f"{prefix}: {notes}" if prefix and notes else (prefix or notes or key)
    return Outcome(key, status, note, retry_at)
