"""ivr.analytics on real calls placed through the flow engine (localtwilio)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from callbacks.models import CallbackRequest
from ivr import analytics
from ivr.models import Call
from localtwilio import CallClock, DialOutcome, SayText, Silence, scripted_dial
from tests.ivr_support import OPEN, hotline, place_call
from tests.test_ivr_admin import logged_in

START, END = OPEN - timedelta(days=7), OPEN + timedelta(hours=1)


def calls(make_app: Any) -> Any:
    """Four real calls: a callback, a confirmed-then-denied need, an outage, a silent one."""
    app = hotline(make_app, WTF_CSRF_ENABLED=False)
    place_call(app, [SayText("ho un problema con la bolletta"), SayText("sì"), SayText("sì")])
    place_call(app, [SayText("vorrei informazioni sulla fornitura"), SayText("no"),
                     SayText("sono senza luce")])
    place_call(app, [SayText("sono senza luce")], from_="+393339876543")
    place_call(app, [Silence(), Silence()], from_="+393331112222")
    return app


def test_figures_from_real_calls(make_app: Any, session: Any) -> None:
    app = calls(make_app)
    per_day = analytics.calls_per_day(session, START, END, "Europe/Rome")
    assert len(per_day) == 8 and per_day[-1] == (OPEN.date(), 4) and sum(
        n for _, n in per_day) == 4
    shares = analytics.outcome_shares(session, START, END)
    # the silent caller (number known) is called back, not put through
    assert shares["human_later"] == 2 and shares["human_now"] == 2
    assert sum(shares.values()) == 4
    intents = dict(analytics.intent_counts(session, START, END))
    assert intents == {"billing": 1, "outage": 2, "(none)": 1}
    waits = analytics.time_to_human(session, START, END)
    assert waits["transfers"] == 2 and waits["transfer_seconds"] == 0.0  # frozen clock
    callbacks = analytics.callbacks_by_class(session, START, END)
    assert callbacks["others"]["booked"] == 2 and callbacks["not_digital"]["booked"] == 0
    histogram = analytics.confidence_histogram(session, START, END)
    assert len(histogram) == 10 and sum(n for _, n in histogram) >= 3
    assert app is not None


def test_misrouted_and_uncertain_utterances_are_tuning_candidates(make_app: Any,
                                                                  session: Any) -> None:
    calls(make_app)
    found = analytics.tuning_candidates(session, START, END)
    kinds = {(u.kind, u.words) for u in found}
    assert ("misrouted", "vorrei informazioni sulla fornitura") in kinds
    assert ("low_confidence", "vorrei informazioni sulla fornitura") in kinds
    assert all(u.flow_key == "main" and u.lang == "it" for u in found)
    assert not any(u.words == "ho un problema con la bolletta" for u in found)


def test_promises_kept_by_priority_class(make_app: Any, session: Any) -> None:
    calls(make_app)
    request = session.scalar(select(CallbackRequest))
    request.not_digital, request.promise_kept = True, True
    request.completed_at = request.created_at + timedelta(minutes=12)
    session.commit()
    table = analytics.callbacks_by_class(session, START, END)
    assert table["not_digital"] == {"booked": 1, "kept": 1, "broken": 0, "pending": 0,
                                    "outcome_needed": 0}
    assert analytics.time_to_human(session, START, END)["callback_minutes"] == 12.0


def test_a_connected_call_awaiting_its_outcome_is_not_counted_as_resolved(
        make_app: Any, session: Any) -> None:
    calls(make_app)
    first, second = session.scalars(select(CallbackRequest).order_by(CallbackRequest.id))
    first.status, first.connected_at = "connected", first.created_at + timedelta(minutes=7)
    second.status, second.promise_kept = "completed", True
    second.connected_at = second.created_at + timedelta(minutes=12)
    second.completed_at = second.created_at + timedelta(minutes=40)  # notes took a while
    session.commit()
    table = analytics.callbacks_by_class(session, START, END)
    assert table["others"] == {"booked": 2, "kept": 1, "broken": 0, "pending": 0,
                               "outcome_needed": 1}
    waits = analytics.time_to_human(session, START, END)
    # only the resolved one, timed to the call that reached the caller
    assert (waits["callbacks_done"], waits["callback_minutes"]) == (1, 12.0)


def test_outcome_classes() -> None:
    assert analytics.outcome_class("transferred") == "human_now"
    assert analytics.outcome_class("hangup_callback") == "human_later"
    assert analytics.outcome_class("hangup") == "abandoned"
    assert analytics.outcome_class("completed") == "self_service"


def test_calls_outside_the_period_are_not_counted(make_app: Any, session: Any) -> None:
    calls(make_app)
    later = datetime(2027, 1, 10, tzinfo=UTC)
    assert sum(n for _, n in analytics.calls_per_day(session, later, later + timedelta(days=3),
                                                     "Europe/Rome")) == 0
    assert analytics.tuning_candidates(session, later, later + timedelta(days=3)) == []


def test_the_page_draws_charts_and_offers_add_as_example(make_app: Any) -> None:
    app = calls(make_app)
    from core.users import create_user

    with app.extensions["db"].transaction() as s:
        create_user(s, "ada", "long enough pw", "admin")
    client = logged_in(app)
    html = client.get("/admin/analytics?days=7").get_data(as_text=True)
    assert html.count("<svg") == 4 and "<rect" in html
    assert 'id="kpi-calls"><span>4</span>' in html
    assert "vorrei informazioni sulla fornitura" in html
    assert 'action="/admin/flows/main/examples"' in html
    answer = client.post("/admin/flows/main/examples", data={
        "intent": "billing", "lang": "it", "phrase": "vorrei informazioni sulla fornitura"})
    assert answer.status_code == 303


def test_seconds_to_a_person_or_a_booked_callback_are_kept_per_call_and_summed_up(
        make_app: Any, session: Any) -> None:
    app = hotline(make_app, WTF_CSRF_ENABLED=False)
    app.extensions["clock"] = clock = CallClock(OPEN)  # webhooks see each call's own time
    booked = place_call(app, [SayText("ho un problema con la bolletta"), SayText("sì"),
                              SayText("sì")])
    put_through = place_call(app, [SayText("sono senza luce")], from_="+393339876543",
                             dial=scripted_dial(default=DialOutcome(duration=40)))
    place_call(app, [])  # hangs up at the first question: reached nobody
    assert clock.now() > OPEN
    seconds = {c.call_sid: c.seconds_to_human for c in session.scalars(select(Call))}
    assert 0 < seconds[booked.call_sid] <= booked.duration
    # the agent answered 40 s of talk before the call ended: counted up to the answer
    assert 0 < seconds[put_through.call_sid] <= put_through.duration - 40
    assert sum(v is None for v in seconds.values()) == 1
    reached = sorted(v for v in seconds.values() if v is not None)
    figures = analytics.time_to_person(session, START, END)
    assert figures["calls"] == 2 and figures["p90"] == reached[-1]
    assert figures["average"] == round(sum(reached) / 2, 1) and figures["limit"] == 150
    assert figures["within_limit"] is True

    from core.users import create_user

    with app.extensions["db"].transaction() as s:
        create_user(s, "ada", "long enough pw", "admin")
    html = logged_in(app).get("/admin/analytics?days=7").get_data(as_text=True)
    assert f'id="kpi-to-person"><span>{figures["average"]} s · p90 {figures["p90"]} s' in html
    assert "(limit 150 s)" in html or "(limite 150 s)" in html


def test_no_call_reached_a_person_yet_gives_no_figures(make_app: Any, session: Any) -> None:
    place_call(hotline(make_app), [])
    figures = analytics.time_to_person(session, START, END)
    assert figures["calls"] == 0 and figures["average"] is None and figures["p90"] is None
