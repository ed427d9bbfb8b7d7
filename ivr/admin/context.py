"""What every admin view needs from the running app: the session, the clock, the flow
named in the URL, who is signed in. One home, so views never import each other's helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, g
from sqlalchemy.orm import Session

from ivr import versions
from ivr.admin.testcall import CallRunner, TestCall, run_test_call
from ivr.models import Flow, FlowVersion
from ivr.walker import EngineOptions


def session() -> Session:
    """The request's database session."""
    found: Session = current_app.extensions["db"].session
    return found


def now() -> datetime:
    """The app clock's time (tests freeze it)."""
    moment: datetime = current_app.extensions["clock"].now()
    return moment


def flow_or_404(key: str) -> Flow:
    """The flow with this key, or a 404 page."""
    flow = versions.find_flow(session(), key)
    if flow is None:
        abort(404)
    return flow


def who() -> str:
    """The signed-in admin's user name (kept in notes and audit fields)."""
    return str(g.user.username)


def speech_models() -> Any:
    """The speech model registry (None when the app runs without one)."""
    return current_app.extensions.get("speech")


def timezone() -> str:
    """The one timezone the console shows times in (config TIMEZONE)."""
    return str(current_app.config.get("TIMEZONE") or "Europe/Rome")


def engine_options() -> EngineOptions:
    """The live engine's options for a test call: the app's transfer numbers, and questions
    asked with <Say> (a test call shows every prompt as text)."""
    config = current_app.config
    return EngineOptions(speech_input="gather",
                         fallback_number=config.get("FALLBACK_NUMBER") or "",
                         caller_id=config.get("TWILIO_CALLER_ID") or None)


def test_call_runner(*, not_digital: bool = False, hang_up: bool = False) -> CallRunner:
    """Run test calls (ivr.admin.testcall) with this app's database, clock and models;
    `hang_up`: the caller hangs up after the last answer."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    moment, options = now(), engine_options()

    def run(version: FlowVersion, lang: str, answers: list[str]) -> TestCall:
        return run_test_call(app.extensions["db"].session_factory, version, lang, answers,
                             now=moment, options=options,
                             understanding=app.extensions.get("understanding"),
                             not_digital=not_digital, hang_up=hang_up)
    return run


def local_time(moment: datetime | None, pattern: str = "%d/%m/%Y %H:%M") -> str:
    """A stored (UTC) time in the console's one timezone; templates use `|admin_time`."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone())).strftime(pattern)
