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


@pytest.mark.parametrize(("line", "hidden"), [
    ('127.0.0.1 - - "GET /api/callers/+393331234567/digital-profile HTTP/1.1" 200', "3331234"),
    ('"POST /phone/register?number=%2B393331234567 HTTP/1.1" 302', "3331234"),
    ("calling 3331234567 back", "3331234"),
    ("caller +390212345 hung up", "02123"),
])
def test_phone_numbers_are_masked_in_every_log_line(
        caplog: pytest.LogCaptureFixture, line: str, hidden: str) -> None:
    from core.logs import install_phone_masking

    install_phone_masking()
    caplog.set_level(logging.INFO, logger="werkzeug")
    logging.getLogger("werkzeug").info("%s", line)
    [record] = caplog.records
    assert hidden not in record.getMessage()
    assert "***" in record.getMessage()


def test_call_sids_and_ids_are_left_readable(caplog: pytest.LogCaptureFixture) -> None:
    from core.logs import install_phone_masking

    install_phone_masking()
    caplog.set_level(logging.INFO, logger="test.sids")
    sid = "CA" + "1234567890" * 3 + "12"
    logging.getLogger("test.sids").info("call %s, request 42, took 1234.5 ms", sid)
    assert caplog.records[0].getMessage() == f"call {sid}, request 42, took 1234.5 ms"
