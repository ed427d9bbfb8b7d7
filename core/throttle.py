"""Login throttling: a few wrong passwords lock an account, many lock an address, for a while.

Counts live in this process (a sliding window per key), so each web process guards on its
own: with N processes an attacker gets at most N times the allowance, still a handful of
guesses per quarter hour instead of thousands. A lock lapses by itself when the window has
passed; a right password clears the account's count.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

ACCOUNT_FAILURES = 5  # wrong passwords for one account within WINDOW_SECONDS
ADDRESS_FAILURES = 20  # wrong passwords from one address (any account) within WINDOW_SECONDS
WINDOW_SECONDS = 15 * 60
MAX_KEYS = 50_000  # memory bound: the oldest keys are forgotten past this


class LoginThrottle:
    """Counts failed logins per account and per address in a sliding window."""

    def __init__(self, account_failures: int = ACCOUNT_FAILURES,
                 address_failures: int = ADDRESS_FAILURES, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {"account": account_failures, "address": address_failures}
        self.window, self.clock = window, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> list[tuple[str, str]]:
        return [("account", username.strip().lower()), ("address", address)]

    def wait_seconds(self, username: str, address: str) -> float:
        """0 when a login may be tried now, else how long until it may."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(username, address):
                times = self._recent(key, now)
                if times is not None and len(times) >= self.limits[key[0]]:
                    wait = max(wait, times[0] + self.window - now)
        return wait

    def failed(self, username: str, address: str) -> None:
        """Count one wrong password."""
        now = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                for key in list(self._failures)[: MAX_KEYS // 10]:
                    del self._failures[key]
            for key in self._keys(username, address):
                self._failures.setdefault(key, deque(maxlen=max(self.limits.values()))
                                          ).append(now)

    def succeeded(self, username: str) -> None:
        """A right password: the account starts afresh (the address keeps its count)."""
        with self._lock:
            self._failures.pop(("account", username.strip().lower()), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
