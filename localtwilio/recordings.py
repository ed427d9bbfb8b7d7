"""Recordings made by `<Record>`: kept in memory, served by the REST stand-in as WAV."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Recording:
    """One recording: its sid, the call it belongs to, WAV bytes and length in seconds."""

    sid: str
    call_sid: str
    wav: bytes
    duration: int


class RecordingStore:
    """Thread-safe store of recordings, keyed by RecordingSid."""

    def __init__(self) -> None:
        self._items: dict[str, Recording] = {}
        self._lock = threading.Lock()

    def add(self, call_sid: str, wav: bytes, duration: int) -> Recording:
        """Keep a new recording and return it with a fresh RE... sid."""
        recording = Recording("RE" + uuid.uuid4().hex, call_sid, wav, duration)
        with self._lock:
            self._items[recording.sid] = recording
        return recording

    def get(self, sid: str) -> Recording | None:
        """The recording with this sid, if any."""
        with self._lock:
            return self._items.get(sid)

    def delete(self, sid: str) -> bool:
        """Forget a recording; False when there was none with this sid."""
        with self._lock:
            return self._items.pop(sid, None) is not None

    def for_call(self, call_sid: str) -> list[Recording]:
        """All recordings made on one call."""
        with self._lock:
            return [r for r in self._items.values() if r.call_sid == call_sid]
