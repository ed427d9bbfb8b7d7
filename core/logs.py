"""Logging helpers: rate-limited warnings for floods a peer can cause.

A peer that sends garbage (a broken media stream, a scanner) must not be able to fill the
disk with one WARNING per frame: `RateLimitedLog` lets a short burst through, then one
line per interval that says how many were left out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any


class RateLimitedLog:
    """A token bucket in front of a logger: `burst` lines at once, refilled one per
    `interval` seconds; the next line logged says how many were dropped meanwhile."""

    def __init__(self, logger: logging.Logger, burst: int = 10, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic,
                 dropped: str = "({n} more like this not logged)") -> None:
        self.logger, self.burst, self.interval, self.clock = logger, burst, interval, clock
        self.dropped_text = dropped
        self._tokens = float(burst)
        self._at = clock()
        self._dropped = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: Any) -> bool:
        """Log at WARNING if the bucket allows; True when the line was written."""
        return self.log(logging.WARNING, message, *args)

    def log(self, level: int, message: str, *args: Any) -> bool:
        """Log at `level` if the bucket allows; True when the line was written."""
        with self._lock:
            now = self.clock()
            self._tokens = min(float(self.burst),
                               self._tokens + (now - self._at) / self.interval)
            self._at = now
            if self._tokens < 1.0:
                self._dropped += 1
                return False
            self._tokens -= 1.0
            dropped, self._dropped = self._dropped, 0
        if dropped:
            message = f"{message} {self.dropped_text.format(n=dropped)}"
        self.logger.log(level, message, *args)
        return True
