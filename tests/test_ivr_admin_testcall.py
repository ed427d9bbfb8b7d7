"""Test calls (ivr.admin.testcall): the admin's calls go through the live engine and leave
nothing behind; "try it" and the evaluation gate are test calls."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from callbacks.models import CallbackRequest
from ivr.admin.testcall import heard_in, run_test_call
from ivr.flow_store import published_version
from ivr.models import Call
from ivr.walker import EngineOptions
from tests.test_ivr_admin import admin_app, logged_in


def _call(app: Flask, lang: str, answers: list[str], **kw: Any) -> Any:
    with app.extensions["db"].transaction() as session:
        version = published_version(session, "main")
        assert version is not None
        return run_test_call(app.extensions["db"].session_factory, version, lang, answers,
                             now=app.extensions["clock"].now(),
                             options=EngineOptions(speech_input="gather", fallback_number=str(
                                 app.config.get("FALLBACK_NUMBER") or "")),
                             understanding=app.extensions.get("understanding"), **kw)


def test_heard_in_reads_prompts_and_how_the_call_goes_on() -> None:
    said, ends = heard_in('<Response><Gather><Say>Hello</Say></Gather></Response>')
    assert (said, ends) == (["Hello"], None)
    assert heard_in("<Response><Say>Bye</Say><Hangup/></Response>") == (["Bye"], "hangup")
    assert heard_in('<Response><Say>Hold</Say><Dial>+39</Dial></Response>')[1] == "transfer"


@pytest.mark.parametrize(("text", "lang"), [("c'è una fuga di gas in cantina", "it"),
                                            ("there's a gas leak in the kitchen", "en")])
@pytest.mark.parametrize("not_digital", [False, True])
def test_an_emergency_hears_the_safety_advice_then_reaches_a_human(
        make_app: Any, text: str, lang: str, not_digital: bool) -> None:
    app = admin_app(make_app, FALLBACK_NUMBER="+390612345678")
    call = _call(app, lang, [text], not_digital=not_digital)
    assert call.intent == "emergency"
    assert call.path[-2:] == ["emergency_advice", "human"]
    assert call.over and call.turns[-1].ends == "transfer"
    assert ("112" if lang == "it" else "999") in " ".join(call.turns[-1].said)


def test_a_multi_turn_call_books_a_callback_and_leaves_no_rows(make_app: Any) -> None:
    app = admin_app(make_app)  # no transfer number: a person is offered as a callback
    call = _call(app, "it", ["vorrei pagare la bolletta a rate", "sì", "sì"])
    assert call.turns[1].intent == "payment" and call.turns[1].confidence
    assert len(call.turns) >= 3 and all(t.said for t in call.turns)
    assert call.language == "it"
    with app.extensions["db"].transaction() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 0
        assert session.scalar(select(func.count()).select_from(CallbackRequest)) == 0


def test_try_it_answers_every_turn_in_json(make_app: Any) -> None:
    app = admin_app(make_app)
    client = logged_in(app)
    first = client.post("/admin/flows/main/try", data={"lang": "en"}).get_json()
    assert first["turns"][0]["heard"] is None and first["turns"][0]["said"]
    data = client.post("/admin/flows/main/try", data={
        "lang": "en", "text": "my bill is far too high"}).get_json()
    assert data["answers"] == ["my bill is far too high"]
    assert data["turns"][1]["intent"] == "billing"
    assert data["path"][0] == "welcome"
    assert client.post("/admin/flows/main/try", data={"lang": "xx"}).status_code == 422


def test_a_caller_who_hangs_up_before_saying_their_need_gets_a_silent_callback(
        make_app: Any) -> None:
    app = admin_app(make_app)
    call = _call(app, "it", [], hang_up=True)
    assert call.over and call.hangup is not None
    assert call.hangup.at == "ask_need" and call.hangup.outcome == "hangup_callback"
    assert call.hangup.callback == "silent"
    assert call.outcome == "hangup_callback"
    with app.extensions["db"].transaction() as session:  # booked in the test call only
        assert session.scalar(select(func.count()).select_from(CallbackRequest)) == 0


def test_a_caller_who_hangs_up_after_their_need_is_called_back_about_it(make_app: Any) -> None:
    app = admin_app(make_app)
    call = _call(app, "it", ["vorrei pagare la bolletta a rate"], hang_up=True)
    assert call.hangup is not None and call.hangup.callback == "hangup"
    assert call.hangup.callback_intent == "payment"


def test_hanging_up_after_the_hotline_ended_the_call_changes_nothing(make_app: Any) -> None:
    app = admin_app(make_app, FALLBACK_NUMBER="+390612345678")
    call = _call(app, "en", ["there's a gas leak in the kitchen"], hang_up=True)
    assert call.turns[-1].ends == "transfer" and call.hangup is None


def test_the_hang_up_button_posts_through_try_it(make_app: Any) -> None:
    client = logged_in(admin_app(make_app))
    call = client.post("/admin/flows/main/try", data={"lang": "en", "hangup": "yes",
                                                      "answer": ["my bill is wrong"]}).json
    assert call["over"] and call["hangup"]["callback"] == "hangup"
    assert call["hangup"]["callback_intent"] == "billing"
    assert call["outcome"] == "hangup_callback"
    kept = client.post("/admin/flows/main/try", data={"lang": "en",
                                                      "answer": ["my bill is wrong"]}).json
    assert kept["hangup"] is None and not kept["over"]
