"""GET /api/calls/<sid>: an agent reads what the caller said, step by step."""

from __future__ import annotations

from typing import Any

from core.users import create_user, issue_token
from localtwilio import Press, SayText
from tests.ivr_support import CALLER, hotline, place_call


def test_an_agent_reads_the_callers_exact_words(make_app: Any) -> None:
    app = hotline(make_app)
    with app.extensions["db"].transaction() as session:
        token = issue_token(session, create_user(session, "anna", "a-long-password-1", "agent"))
    t = place_call(app, [SayText("ehm, la bolletta di marzo è sbagliata, credo"),
                         SayText("sì"), Press("1")])
    client = app.test_client()
    assert client.get(f"/api/calls/{t.call_sid}").status_code == 401
    reply = client.get(f"/api/calls/{t.call_sid}", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    data = reply.get_json()
    assert data["from"] == CALLER and data["outcome"] == "callback_booked"
    assert data["words"] == "ehm, la bolletta di marzo è sbagliata, credo"
    steps = [(e["step"], e["words"], e["digits"]) for e in data["events"]]
    assert ("ask_need", "ehm, la bolletta di marzo è sbagliata, credo", None) in steps
    assert ("callback_number", None, "1") in steps
    missing = client.get("/api/calls/CAnone", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404


def test_a_caller_who_hangs_up_appears_in_the_agents_queue(make_app: Any) -> None:
    from localtwilio import HangUp

    app = hotline(make_app)
    with app.extensions["db"].transaction() as session:
        token = issue_token(session, create_user(session, "bruno", "a-long-password-2", "agent"))
    t = place_call(app, [SayText("la bolletta di marzo è sbagliata"), HangUp()])
    reply = app.test_client().get("/api/callbacks",
                                  headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    [item] = reply.get_json()["items"]
    assert item["source"] == "hangup"
    call = app.test_client().get(f"/api/calls/{t.call_sid}",
                                 headers={"Authorization": f"Bearer {token}"}).get_json()
    assert call["callback_request_id"] == item["id"]
    assert item["words"] == "la bolletta di marzo è sbagliata"
    assert item["phone"] == CALLER
