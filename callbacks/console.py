"""The agent console: the live queue, taking and calling back, outcomes, a caller's story.

Thin views over `callbacks.queue`, `callbacks.profiles`, `callbacks.tasks` and the read-only
`callbacks.console_queries`. Live updates poll `/console/state` every few seconds rather
than holding a server-sent-events stream: under gunicorn's gthread worker a stream pins one
of a handful of threads per open console for the whole shift, while a poll costs one short
request and, when nothing changed, a 200-byte answer.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy.orm import Session

from callbacks import (
    call_status,
    conversation,
    desk,
    error_words,
    outcome_form,
    profiles,
    queue,
    recordings,
    tasks,
)
from callbacks import console_queries as queries
from callbacks import settings as queue_settings
from callbacks.models import AVAILABILITIES, CallbackRequest, Caller
from callbacks.outcome_form import AFTER_CONNECTED, OUTCOMES
from core.auth import login_required
from ivr.labels import intent_label

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static/console", static_url_path="/static")

POLL_SECONDS = 4


def _session() -> Session:
    session: Session = current_app.extensions["db"].session
    return session


def _now() -> datetime:
    now: datetime = current_app.extensions["clock"].now()
    return now


def _timezone() -> str:
    return queue_settings.load(_session()).hours.timezone


def _lang() -> str:
    return str(g.get("lang") or "it")


def _back(anchor: str = "") -> Any:
    return redirect(url_for("console.queue") + anchor, code=303)


@bp.app_context_processor
def hotline_zone() -> dict[str, Any]:
    """`hotline_timezone()` in every template: the one zone consoles show times in."""
    return {"hotline_timezone": _timezone}


@bp.app_template_filter("console_time")
def console_time(moment: datetime | None, fmt: str = "%d/%m %H:%M") -> str:
    """A UTC datetime shown in the hotline's local time (every console uses this one zone)."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(_timezone())).strftime(fmt)


@bp.app_template_filter("reason_text")
def reason_text_filter(stored: str | None) -> str:
    """Why a callback is not done yet (`last_error`), in the agent's language."""
    catalogs = current_app.extensions["i18n"]

    def translate(key: str, **values: str) -> str:
        text = str(catalogs.get(_lang(), {}).get(key) or catalogs["en"].get(key) or key)
        return text.format(**values)

    return error_words.reason_text(stored, translate)


@bp.app_template_filter("call_status")
def call_status_text(attempt: Any) -> str:
    """Where a callback call stands, in the agent's language (ringing, connected, ...)."""
    catalogs = current_app.extensions["i18n"]
    key = "console.call." + call_status.word(attempt)
    return str(catalogs.get(_lang(), {}).get(key) or catalogs["en"].get(key) or key)


def _waiting_html(view: queries.QueueView) -> str:
    return render_template("console/_waiting.html", view=view, now=_now(),
                           overdue=queries.outcome_overdue)


def _mine_version(claims: list[CallbackRequest], returned: list[call_status.Returned]) -> str:
    """What the agent's own panel shows (ids and statuses); the page reloads when it moves.
    Built from the very rows the page drew, so a change between two reads is not lost."""
    held = [f"{r.id}:{r.status}:{len(r.attempts)}" for r in claims]
    back = [f"back{b.request.id}:{b.word}:{b.back_at}" for b in returned]
    return ",".join(held + back)


def _wrap_up_length() -> timedelta:
    return timedelta(seconds=float(current_app.config.get("CALLBACK_WRAP_UP_SECONDS", 60)))


def _render_queue(form: dict[str, Any] | None = None) -> str:
    """The queue page; `form` is a refused outcome form to show again as it was sent
    ({"request_id", "values", "errors"})."""
    session = _session()
    now = _now()
    queue.promote_due(session, now)
    session.commit()
    view = queries.waiting_list(session, now, _lang())
    claims = queries.my_claims(session, g.user.id, now)
    returned = call_status.returned_requests(session, g.user.id, now)
    return render_template("console/queue.html", view=view, now=now,
                           desk=desk.desk(session, g.user.id, now),
                           availabilities=AVAILABILITIES,
                           claims=claims, outcomes=OUTCOMES, returned=returned,
                           after_connected=AFTER_CONNECTED, form=form or {},
                           poll_seconds=POLL_SECONDS, tz=_timezone(),
                           overdue=queries.outcome_overdue,
                           mine=_mine_version(claims, returned))


@bp.route("", endpoint="queue")
@login_required("agent")
def queue_page() -> Any:
    """The queue: my requests in hand, every waiting request and why it sits where it does."""
    return _render_queue()


@bp.route("/state")
@login_required("agent")
def state() -> Any:
    """Live update: the waiting list's version and, when it changed, its new HTML."""
    session = _session()
    now = _now()
    if queue.promote_due(session, now):
        session.commit()
    view = queries.waiting_list(session, now, _lang())
    claims = queries.my_claims(session, g.user.id, now)
    body: dict[str, Any] = {"version": view.version, "waiting": len(view.rows),
                            "in_hand": len(view.in_hand), "changed": False,
                            "mine": _mine_version(
                                claims, call_status.returned_requests(session, g.user.id, now)),
                            "calls": {str(a.id): {"status": a.status,
                                                  "text": call_status_text(a)}
                                      for r in claims for a in r.attempts}}
    if request.args.get("v") != view.version:
        body.update(changed=True, html=_waiting_html(view),
                    ids=[row.request.id for row in view.rows])
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/take", methods=["POST"])
@login_required("agent")
def take_next() -> Any:
    """Claim the highest-priority waiting request for this agent (atomic); one at a time."""
    try:
        taken = desk.take_next(_session(), g.user.id, _now())
    except desk.DeskError as exc:
        _session().rollback()
        flash(exc.reason)
        return _back(f"#claim-{exc.request_id}" if exc.request_id else "")
    if taken is None:
        flash("console.flash.nothing_to_take")
        return _back()
    log.info("agent %s claimed request %s", g.user.id, taken.id)
    return _back(f"#claim-{taken.id}")


def _held(request_id: int) -> Any:
    held = queries.request_for_agent(_session(), request_id, g.user.id, _now())
    if held is None:
        flash("console.flash.not_yours")
    return held


@bp.route("/requests/<int:request_id>/release", methods=["POST"])
@login_required("agent")
def release(request_id: int) -> Any:
    """Give a claimed request back to the queue, keeping its place."""
    if _held(request_id) is None:
        return _back()
    try:
        queue.release(_session(), request_id, g.user.id, _now())
    except queue.QueueError:
        flash("console.flash.cannot_release")
        return _back(f"#claim-{request_id}")
    _session().commit()
    flash("console.flash.released")
    return _back()


@bp.route("/requests/<int:request_id>/reopen", methods=["POST"])
@login_required("agent")
def reopen(request_id: int) -> Any:
    """Put a failed, unanswered or cancelled request back in the queue (a person's call)."""
    session = _session()
    try:
        queue.reopen(session, request_id, g.user.id, _now(),
                     note=request.form.get("notes", "").strip())
    except (queue.QueueError, LookupError) as exc:
        session.rollback()
        flash("console.flash.cannot_reopen")
        flash(str(exc).strip("'\""))
        return _back()
    session.commit()
    flash("console.flash.reopened")
    return _back()


@bp.route("/requests/<int:request_id>/call", methods=["POST"])
@login_required("agent")
def call_now(request_id: int) -> Any:
    """Place the call through the hotline: the agent's phone rings first, then the caller's."""
    if _held(request_id) is None:
        return _back()
    session = _session()
    try:
        tasks.start_call(session, current_app.extensions["jobs"], request_id, g.user.id,
                         _now(),
                         fallback_number=current_app.config.get("CALLBACK_AGENT_NUMBER"))
    except (queue.QueueError, tasks.QueueUnavailable, LookupError, ValueError) as exc:
        session.rollback()
        log.info("call for request %s refused: %s", request_id, exc)
        flash("console.flash.cannot_call")
        flash(str(exc))  # the domain's reason, e.g. "outside calling hours"
        return _back(f"#claim-{request_id}")
    session.commit()
    flash("console.flash.calling")
    return _back(f"#claim-{request_id}")


@bp.route("/requests/<int:request_id>/outcome", methods=["POST"])
@login_required("agent")
def outcome(request_id: int) -> Any:
    """Record how the callback went, with the agent's notes; then after-call work starts.

    A form that cannot be saved comes back as the agent left it (422), each problem next
    to its field."""
    try:
        chosen = outcome_form.parse(request.form, _now(), _timezone())
    except outcome_form.FormErrors as exc:
        form = {"request_id": request_id, "values": request.form.to_dict(),
                "errors": exc.fields}
        return _render_queue(form), 422
    held = _held(request_id)
    if held is None:
        return _back()
    session = _session()
    try:  # a connected call is closed only here, by the agent's choice
        queue.record_agent_outcome(session, request_id, g.user.id, chosen.status, _now(),
                                   note=chosen.note, retry_at=chosen.retry_at)
    except (queue.QueueError, ValueError) as exc:
        session.rollback()
        flash("console.flash.cannot_record")
        flash(str(exc))
        return _back(f"#claim-{request_id}")
    desk.start_wrap_up(session, g.user.id, _now(), _wrap_up_length())
    session.commit()
    flash("console.flash.outcome_saved")
    return _back()


@bp.route("/requests/<int:request_id>/take-over", methods=["POST"])
@login_required("agent")
def take_over(request_id: int) -> Any:
    """Take a connected call whose outcome is still missing after the notes window, to
    record the outcome in place of the agent who made it."""
    session = _session()
    try:
        desk.take_over_outcome(session, g.user.id, request_id, _now())
    except desk.DeskError as exc:
        session.rollback()
        flash(exc.reason)
        return _back()
    session.commit()
    flash("console.flash.taken_over")
    return _back(f"#claim-{request_id}")


@bp.route("/ready", methods=["POST"])
@login_required("agent")
def ready() -> Any:
    """End after-call work early: the agent is ready for the next request."""
    desk.end_wrap_up(_session(), g.user.id, _now())
    _session().commit()
    return _back()


@bp.route("/availability", methods=["POST"])
@login_required("agent")
def availability() -> Any:
    """The agent says whether they are available, busy or away."""
    try:
        desk.set_availability(_session(), g.user.id, request.form.get("availability", ""),
                              _now())
    except ValueError:
        abort(400)
    _session().commit()
    flash("console.flash.availability_saved")
    return _back()


@bp.route("/requests/<int:request_id>/recording.wav")
@login_required("agent")
def recording(request_id: int) -> Any:
    """The caller's recorded message, fetched from Twilio with the app's credentials (the
    browser never sees them); Range requests work, so the agent can seek."""
    callback = _session().get(CallbackRequest, request_id)
    url = queries.recording_for(_session(), callback) if callback is not None else None
    if url is None:
        abort(404)
    config = current_app.config
    try:
        data, content_type = recordings.download(
            url, config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
            recordings.trusted_origins(config))
    except recordings.DownloadError as exc:
        log.warning("callback %s: recording not fetched for the console: %s", request_id, exc)
        catalogs = current_app.extensions["i18n"]
        text = (catalogs.get(_lang(), {}).get("console.recording_unavailable")
                or "recording unavailable")
        return Response(text, status=502, mimetype="text/plain")
    response = send_file(io.BytesIO(data), mimetype=content_type, conditional=True,
                         download_name=f"message-{request_id}.wav", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/callers/<int:caller_id>")
@login_required("agent")
def caller(caller_id: int) -> Any:
    """A caller's page: calls and callbacks, their exact words, notes and digital profile."""
    story = queries.caller_story(_session(), caller_id)
    if story is None:
        abort(404)
    conversations = {call.id: conversation.turns(call, _lang()) for call in story["calls"]}
    return render_template("console/caller.html", tz=_timezone(), conversations=conversations,
                           **story)


@bp.route("/callers/<int:caller_id>/not-digital", methods=["POST"])
@login_required("agent")
def not_digital(caller_id: int) -> Any:
    """Mark or unmark the caller as not digital, with the agent's reason (audited)."""
    session = _session()
    person = session.get(Caller, caller_id)
    if person is None:
        abort(404)
    value = request.form.get("value") == "1"
    reason = request.form.get("reason", "").strip()
    back = request.form.get("next", "")
    target = back if back.startswith("/console") else url_for("console.caller",
                                                              caller_id=caller_id)
    if not reason:
        flash("console.flash.reason_required")
        return redirect(target, code=303)
    changed = profiles.set_not_digital(session, person, value, source="agent",
                                       actor=f"user:{g.user.id}", reason=reason, now=_now())
    session.commit()
    flash("console.flash.profile_saved" if changed else "console.flash.profile_unchanged")
    return redirect(target, code=303)


def init_app(app: Flask) -> None:
    """Register the console blueprint and its navigation link."""
    app.register_blueprint(bp)

    @app.template_filter("intent_label")
    def intent_label_filter(intent: str | None) -> str:
        """An intent's label from the published flows, in the agent's language."""
        return intent_label(_session(), intent, g.get("lang") or "it")

    app.config.setdefault("CONSOLE_LINKS", [])
    app.config["CONSOLE_LINKS"].append(("console.queue", "nav.queue", "agent"))
