"""Logging helpers: rate-limited warnings for floods a peer can cause, and phone numbers
masked in every log line.

A peer that sends garbage (a broken media stream, a scanner) must not be able to fill the
disk with one WARNING per frame: `RateLimitedLog` lets a short burst through, then one
line per interval that says how many were left out.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from core.privacy import mask_phone


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


# A phone number in a log line: E.164 (+39...), URL-encoded (%2B39...), or 9+ bare digits;
# never inside a word (call SIDs, hex digests) or a longer number.
PHONE_IN_TEXT = re.compile(r"(?<![\w%+.])(?:(?:\+|%2B)\d{6,15}|\d{9,15})(?![\w.])")


def mask_phone_numbers(text: str) -> str:
    """Every phone number in `text` masked as core.privacy.mask_phone does."""
    return PHONE_IN_TEXT.sub(lambda found: mask_phone(found.group(0)), text)


class PhoneMaskingFilter(logging.Filter):
    """Masks phone numbers in the final text of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phone_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_installed = threading.Lock()


def install_phone_masking() -> None:
    """Mask phone numbers in every log line of this process (the access log included).

    Done in the record factory rather than on handlers, so that handlers added later (by
    gunicorn, pytest, an operator's logging config) get masked records too. Idempotent.
    """
    with _installed:
        factory = logging.getLogRecordFactory()
        if getattr(factory, "masks_phones", False):
            return

        def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = factory(*args, **kwargs)
            PhoneMaskingFilter().filter(record)
            return record

        masking_factory.masks_phones = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(masking_factory)
