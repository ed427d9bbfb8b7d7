"""Callers' data over time: retention, erasure and export (real stand-in for Twilio)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from twilio.base.exceptions import TwilioRestException

from callbacks import privacy
from callbacks.models import CallbackRequest, Caller, DigitalProfileChange
from callbacks.profiles import get_or_create_caller, set_not_digital
from core.users import create_user
from ivr.models import Call, CallEvent, Flow, FlowVersion
from localtwilio.rest import StandIn
from tests.test_callbacks_support import (  # noqa: F401  (stand_in is a fixture)
    TUESDAY_10,
    book,
    stand_in_fixture,
)

PHONE = "+393331234567"
OTHER = "+393339876543"
POLICY = privacy.RetentionPolicy(recordings_days=30, words_days=90, calls_days=365,
                                 profiles_days=365)


@pytest.fixture
def hotline(make_app: Any, stand_in: tuple[StandIn, str]) -> Flask:
    _state, base_url = stand_in
    app: Flask = make_app(TWILIO_API_BASE_URL=base_url, START_IN_PROCESS_WORKER=False,
                          CALLBACKS_RECONCILE_SECONDS=0)
    return app


def _recorded_request(app: Flask, state: StandIn, base_url: str, phone: str, *,
                      closed: bool = True, at: Any = TUESDAY_10) -> tuple[int, str]:
    recording = state.recordings.add("CA" + "5" * 32, b"RIFF....", 2)
    url = f"{base_url}/2010-04-01/Accounts/{state.account_sid}/Recordings/{recording.sid}"
    with app.extensions["db"].transaction() as session:
        booking = book(session, phone, at, call_sid=f"CA{recording.sid[2:]}")
        item = session.get(CallbackRequest, booking.request_id)
        item.recording_url, item.transcript = url, "the message, word for word"
        if closed:
            item.status, item.completed_at, item.outcome_note = "completed", at, "called back"
        caller = get_or_create_caller(session, phone, at)
        set_not_digital(session, caller, True, source="agent", actor="user:1",
                        reason="very old, cannot use an app", now=at)
        version = session.scalar(select(FlowVersion))
        if version is None:
            flow = Flow(key="main")
            session.add(flow)
            session.flush()
            version = FlowVersion(flow_id=flow.id, number=1, document={})
            session.add(version)
            session.flush()
        call = Call(call_sid=f"CA{recording.sid[2:]}", from_number=phone, language="it",
                    flow_version_id=version.id, current_step="goodbye", state="ended",
                    words="ho un problema con la bolletta", started_at=at, ended_at=at)
        call.events.append(CallEvent(step="ask_need", words="ho un problema con la bolletta"))
        session.add(call)
        return booking.request_id, recording.sid


def test_the_daily_job_drops_each_kind_of_data_when_its_period_is_over(
        hotline: Flask, stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    old_id, old_recording = _recorded_request(hotline, state, base_url, PHONE)
    open_id, open_recording = _recorded_request(hotline, state, base_url, OTHER, closed=False)
    deleter = privacy.deleter_for_app(hotline)
    db = hotline.extensions["db"]

    with db.transaction() as session:  # 31 days on: recordings go (here and at Twilio)
        counts = privacy.enforce_retention(session, TUESDAY_10 + timedelta(days=31), POLICY,
                                           deleter)
    assert counts["recordings"] == 1 and counts["recordings_failed"] == 0
    assert state.recordings.get(old_recording) is None
    assert state.recordings.get(open_recording) is not None  # an open request keeps it
    with db.transaction() as session:
        old = session.get(CallbackRequest, old_id)
        assert old.recording_url is None and old.transcript is not None

    with db.transaction() as session:  # 91 days on: the words go, the records stay
        privacy.enforce_retention(session, TUESDAY_10 + timedelta(days=91), POLICY, deleter)
    with db.transaction() as session:
        old = session.get(CallbackRequest, old_id)
        assert old.words == "" and old.transcript is None and old.outcome_note is None
        call = session.scalar(select(Call).where(Call.from_number == PHONE))
        assert call.words is None and all(e.words is None for e in call.events)
        assert session.get(CallbackRequest, open_id).words  # open: untouched

    with db.transaction() as session:  # 366 days on: records and profiles go
        counts = privacy.enforce_retention(session, TUESDAY_10 + timedelta(days=366), POLICY,
                                           deleter)
    assert counts["requests"] == 1 and counts["calls"] == 2 and counts["callers"] == 1
    with db.transaction() as session:
        assert session.get(CallbackRequest, old_id) is None
        assert session.scalar(select(Caller).where(Caller.phone == PHONE)) is None
        assert session.get(CallbackRequest, open_id) is not None
        kept = session.scalar(select(Caller).where(Caller.phone == OTHER))
        assert kept is not None and kept.not_digital  # open request: the flag stays...
        assert kept.changes == []  # ...but its year-old reasons go


def test_a_recording_twilio_would_not_delete_is_kept_for_the_next_run(
        hotline: Flask, stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    request_id, _sid = _recorded_request(hotline, state, base_url, PHONE)
    state.auth_token = "rotated"  # Twilio now refuses our credentials (401)
    with hotline.extensions["db"].transaction() as session:
        counts = privacy.enforce_retention(session, TUESDAY_10 + timedelta(days=31), POLICY,
                                           privacy.deleter_for_app(hotline))
    assert counts["recordings_failed"] == 1
    with hotline.extensions["db"].transaction() as session:
        assert session.get(CallbackRequest, request_id).recording_url is not None


def test_erasing_a_caller_removes_everything_and_audits_without_the_number(
        hotline: Flask, stand_in: tuple[StandIn, str], caplog: pytest.LogCaptureFixture) -> None:
    state, base_url = stand_in
    _recorded_request(hotline, state, base_url, PHONE, closed=False)
    _recorded_request(hotline, state, base_url, OTHER)
    caplog.set_level(logging.INFO, logger="hotline.audit")
    with hotline.extensions["db"].transaction() as session:
        counts = privacy.erase_caller(session, "333 123 4567", privacy.deleter_for_app(hotline),
                                      actor="user:7")
    assert counts == {"callers": 1, "requests": 1, "calls": 1, "recordings": 1,
                      "flag_changes": 1}
    assert len(state.recordings.for_call("CA" + "5" * 32)) == 1  # only the other caller's
    with hotline.extensions["db"].transaction() as session:
        assert session.scalar(select(Caller).where(Caller.phone == PHONE)) is None
        assert session.scalar(select(func.count()).select_from(CallbackRequest)) == 1
        assert session.scalar(select(func.count()).select_from(DigitalProfileChange)) == 1
        assert session.scalar(select(Call).where(Call.from_number == PHONE)) is None
    [line] = [r.getMessage() for r in caplog.records if r.name == "hotline.audit"]
    assert "user:7" in line and "requests 1" in line
    assert "3331234567" not in line and "4567" not in line


def test_an_export_holds_the_callers_profile_requests_and_calls(
        hotline: Flask, stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    _recorded_request(hotline, state, base_url, PHONE)
    with hotline.extensions["db"].transaction() as session:
        data = privacy.export_caller(session, PHONE)
    json.dumps(data)
    assert data["profile"]["not_digital"] is True
    assert data["profile"]["changes"][0]["reason"] == "very old, cannot use an app"
    assert data["callback_requests"][0]["transcript"] == "the message, word for word"
    assert data["calls"][0]["events"][0]["words"] == "ho un problema con la bolletta"


def test_the_stand_in_deletes_recordings_as_twilio_documents(
        hotline: Flask, stand_in: tuple[StandIn, str]) -> None:
    state, _base_url = stand_in
    recording = state.recordings.add("CA" + "6" * 32, b"RIFF", 1)
    client = hotline.extensions["twilio"]
    assert client.recordings(recording.sid).delete() is True
    with pytest.raises(TwilioRestException) as gone:
        client.recordings(recording.sid).delete()
    assert gone.value.status == 404 and gone.value.code == 20404


def test_cli_exports_and_erases_a_caller(hotline: Flask, stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    _recorded_request(hotline, state, base_url, PHONE)
    runner = hotline.test_cli_runner()
    exported = runner.invoke(args=["callbacks", "export-caller", PHONE])
    assert exported.exit_code == 0 and json.loads(exported.output)["phone"] == PHONE
    erased = runner.invoke(args=["callbacks", "erase-caller", PHONE, "--yes"])
    assert erased.exit_code == 0 and "requests 1" in erased.output
    again = runner.invoke(args=["callbacks", "export-caller", PHONE])
    assert json.loads(again.output)["profile"] is None
    bad = runner.invoke(args=["callbacks", "erase-caller", "not a number", "--yes"])
    assert bad.exit_code != 0


def _console(app: Flask, username: str, role: str) -> Any:
    with app.extensions["db"].transaction() as session:
        create_user(session, username, "correct horse", role)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/login", data={"username": username, "password": "correct horse"})
    return client


def test_an_admin_exports_and_erases_a_caller_in_the_console(
        hotline: Flask, stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    _recorded_request(hotline, state, base_url, PHONE)
    agent = _console(hotline, "anna", "agent")
    assert agent.get("/console/privacy").status_code == 403
    assert agent.post("/console/privacy/erase", data={"number": PHONE,
                                                      "confirm": PHONE}).status_code == 403
    admin = _console(hotline, "giulia", "admin")
    assert admin.get("/console/privacy").status_code == 200
    download = admin.post("/console/privacy/export", data={"number": PHONE})
    assert download.status_code == 200 and download.get_json()["phone"] == PHONE
    assert "attachment" in download.headers["Content-Disposition"]
    mismatch = admin.post("/console/privacy/erase", data={"number": PHONE, "confirm": OTHER})
    assert mismatch.status_code == 400
    done = admin.post("/console/privacy/erase", data={"number": PHONE, "confirm": PHONE})
    assert done.status_code == 200
    with hotline.extensions["db"].transaction() as session:
        assert session.scalar(select(Caller).where(Caller.phone == PHONE)) is None
