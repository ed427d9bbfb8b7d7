"""Failures the REST stand-in can inject, to test the app's retries and idempotency."""

from __future__ import annotations

import threading
from dataclasses import dataclass

ERROR_CODES = {500: 20500, 503: 20503, 429: 20429}
ERROR_MESSAGES = {500: "Internal Server Error", 503: "Service Unavailable",
                  429: "Too Many Requests"}


@dataclass
class StatusCallbackFaults:
    """How status callbacks are delivered: twice each, and/or in reverse order."""

    duplicate: bool = False
    out_of_order: bool = False


class Faults:
    """A thread-safe queue of REST failures and delays for the next requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: list[int] = []
        self._delays: list[float] = []
        self.callbacks = StatusCallbackFaults()

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

    def take(self) -> tuple[int | None, float]:
        """The injected (status, delay) for the request being served now."""
        with self._lock:
            status = self._errors.pop(0) if self._errors else None
            delay = self._delays.pop(0) if self._delays else 0.0
        return status, delay
