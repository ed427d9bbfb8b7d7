"""Failures the REST stand-in can inject, to test the app's retries and idempotency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

ERROR_CODES = {500: 20500, 503: 20503, 429: 20429}
ERROR_MESSAGES = {500: "Internal Server Error", 503: "Service Unavailable",
                  429: "Too Many Requests"}
HOLD_LIMIT = 120.0  # a held request is answered after this long even if nobody releases it


@dataclass
class StatusCallbackFaults:
    """How status callbacks are delivered: twice each, and/or in reverse order."""

    duplicate: bool = False
    out_of_order: bool = False


class Faults:
    """A thread-safe queue of REST failures and delays for the next requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._errors: list[int] = []
        self._delays: list[float] = []
        self._holds: list[threading.Event] = []
        self.arrived = 0  # REST requests that reached the stand-in
        self.answered = 0  # ... and that it has finished answering
        self.callbacks = StatusCallbackFaults()
        self._window: tuple[Callable[[], bool], int] | None = None

    def fail_while(self, failing: Callable[[], bool], status: int = 503) -> None:
        """Answer every REST request with HTTP `status` while `failing()` is true (an
        outage window, e.g. on a test's clock); after `fail_next`'s queued errors."""
        if status not in ERROR_CODES:
            raise ValueError(f"unsupported injected status {status}")
        with self._lock:
            self._window = (failing, status)

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next `count` REST requests with HTTP `status` (500, 503 or 429)."""
        if status not in ERROR_CODES:
            raise ValueError(f"unsupported injected status {status}")
        with self._lock:
            self._errors.extend([status] * count)

    def slow_next(self, count: int = 1, seconds: float = 1.0) -> None:
        """Delay the next `count` REST requests by `seconds`."""
        with self._lock:
            self._delays.extend([seconds] * count)

    def hold_next(self) -> threading.Event:
        """Keep the next REST request waiting until the returned event is set (at most
        HOLD_LIMIT seconds): a test can act while that request is provably in flight."""
        gate = threading.Event()
        with self._lock:
            self._holds.append(gate)
        return gate

    def take(self) -> tuple[int | None, float, threading.Event | None]:
        """The injected (status, delay, hold) for the request being served now (counts it)."""
        with self._changed:
            status = self._errors.pop(0) if self._errors else None
            if status is None and self._window is not None and self._window[0]():
                status = self._window[1]
            delay = self._delays.pop(0) if self._delays else 0.0
            hold = self._holds.pop(0) if self._holds else None
            self.arrived += 1
            self._changed.notify_all()
        return status, delay, hold

    def done(self) -> None:
        """The request counted by `take` has been answered (after any injected delay)."""
        with self._changed:
            self.answered += 1
            self._changed.notify_all()

    def wait_arrived(self, count: int, timeout: float) -> bool:
        """Block until `count` REST requests have reached the stand-in; False on timeout.

        Tests use it to act while a request is provably in flight (e.g. kill its client).
        """
        with self._changed:
            return self._changed.wait_for(lambda: self.arrived >= count, timeout)

    def wait_answered(self, count: int, timeout: float) -> bool:
        """Block until `count` REST requests have been answered; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self.answered >= count, timeout)
