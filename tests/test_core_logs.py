"""Log helpers: rate-limited warnings, and phone numbers masked in every line."""

from __future__ import annotations

import logging

import pytest

from core.logs import RateLimitedLog


def test_a_flood_of_warnings_is_cut_to_a_burst_then_one_line_per_interval(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="test.flood")
    now = [0.0]
    flood = RateLimitedLog(logging.getLogger("test.flood"), burst=5, interval=10.0,
                           clock=lambda: now[0])
    for n in range(20_000):  # a peer sending garbage for 3 s
        now[0] = n * 3.0 / 20_000
        flood.warning("media stream frame ignored: %s", "invalid JSON")
    assert len(caplog.records) == 5
    now[0] = 13.5
    flood.warning("media stream frame ignored: %s", "invalid JSON")
    assert len(caplog.records) == 6
    assert "(19995 more like this not logged)" in caplog.records[-1].getMessage()
