"""A clock that follows the simulated time of the call being placed.

The stand-in counts the seconds a call would take (prompts spoken, answers, rings, talk
time) without waiting for them. Handed to the app as its clock, `CallClock` makes every
webhook see that simulated time, so what the app measures per call (the seconds from
answer to a person, say) comes out as it would on a real line, without a slow test.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Protocol


class Timed(Protocol):
    """Anything that knows its simulated seconds since answer (a `LocalCall`)."""

    elapsed: float


class CallClock:
    """`now()` is `start` plus the followed call's simulated seconds."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("CallClock needs a timezone-aware start")
        self._start = start
        self._call: Timed | None = None
        self._lock = threading.Lock()

    def follow(self, call: Timed, start: datetime | None = None) -> None:
        """From now on, tell the time of `call` (answered at `start`, or the same start)."""
        with self._lock:
            self._call, self._start = call, start or self._start

    def now(self) -> datetime:
        """The simulated time of the call being followed."""
        with self._lock:
            seconds = self._call.elapsed if self._call is not None else 0.0
            return self._start + timedelta(seconds=seconds)
