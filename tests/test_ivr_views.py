"""The /voice webhooks: signatures, malformed requests, unknown calls, failures inside."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from callbacks.models import CallbackRequest
from ivr.models import Call
from localtwilio import SayText
from tests.conftest import PUBLIC_BASE_URL
from tests.ivr_support import CALLER, HOTLINE, hotline, place_call, signed_post, twiml

START = {"CallSid": "CA" + "a" * 32, "From": CALLER, "To": HOTLINE, "CallStatus": "ringing",
         "AccountSid": "AC" + "1" * 32}


def test_signed_incoming_call_gets_the_first_question(make_app: Any) -> None:
    client = hotline(make_app).test_client()
    reply = signed_post(client, "/voice/incoming", START)
    assert reply.status_code == 200 and reply.mimetype == "text/xml"
    gather = twiml(reply.data).find("Gather")
    assert gather is not None
    assert gather.get("action") == (
        f"{PUBLIC_BASE_URL}/voice/step/{START['CallSid']}/ask_need/0")


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "Zm9yZ2Vk"}],
                         ids=["missing", "forged"])
def test_unsigned_or_forged_webhooks_are_refused(make_app: Any, session: Any,
                                                 headers: dict[str, str]) -> None:
    client = hotline(make_app).test_client()
    assert client.post("/voice/incoming", data=START, headers=headers).status_code == 403
    assert session.scalar(select(Call)) is None


def test_a_signature_for_other_fields_is_refused(make_app: Any) -> None:
    client = hotline(make_app).test_client()
    from twilio.request_validator import RequestValidator

    from tests.conftest import TWILIO_TOKEN

    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        PUBLIC_BASE_URL + "/voice/incoming", START)
    tampered = {**START, "From": "+393330000000"}
    reply = client.post("/voice/incoming", data=tampered,
                        headers={"X-Twilio-Signature": signature})
    assert reply.status_code == 403


def test_signature_checks_can_be_turned_off_loudly(make_app: Any,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        client = hotline(make_app, TWILIO_VALIDATE_SIGNATURES=False).test_client()
        reply = client.post("/voice/incoming", data=START)
    assert reply.status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("TWILIO_VALIDATE_SIGNATURES=false" in w for w in warnings)  # at start-up
    assert any("UNSIGNED webhook" in w for w in warnings)  # and on the request


def test_incoming_without_call_sid_still_answers_valid_twiml(make_app: Any) -> None:
    client = hotline(make_app).test_client()
    reply = signed_post(client, "/voice/incoming", {"From": CALLER, "To": HOTLINE})
    root = twiml(reply.data)
    assert reply.status_code == 200
    assert root.find("Dial/Number").text == "+390299999999"


@pytest.mark.parametrize("confidence", ["junk", "nan", "7", ""])
def test_junk_confidence_is_ignored(make_app: Any, session: Any, confidence: str) -> None:
    client = hotline(make_app).test_client()
    signed_post(client, "/voice/incoming", START)
    reply = signed_post(client, f"/voice/step/{START['CallSid']}/ask_need/0",
                        {**START, "SpeechResult": "bolletta", "Confidence": confidence})
    assert reply.status_code == 200
    root = twiml(reply.data)
    assert "bolletta" in root.find("Gather/Say").text  # offer_callback names the need
    call = session.scalar(select(Call))
    assert call.events[-1].asr_confidence is None and call.events[-1].words == "bolletta"


def test_unknown_call_sid_gets_the_fallback_not_an_error(make_app: Any) -> None:
    client = hotline(make_app).test_client()
    reply = signed_post(client, "/voice/step/CAnothing/ask_need/0",
                        {**START, "CallSid": "CAnothing", "SpeechResult": "bolletta"})
    assert reply.status_code == 200
    assert twiml(reply.data).find("Dial/Number").text == "+390299999999"


def test_stale_webhook_replays_the_current_question(make_app: Any, session: Any) -> None:
    client = hotline(make_app).test_client()
    signed_post(client, "/voice/incoming", START)
    path = f"/voice/step/{START['CallSid']}/ask_need/0"
    first = signed_post(client, path, {**START, "SpeechResult": "bolletta"})
    late = signed_post(client, f"/voice/step/{START['CallSid']}/confirm_need/0",
                       {**START, "SpeechResult": "sì"})
    assert late.data == first.data
    assert session.scalar(select(Call)).current_step == "offer_callback"


def test_status_for_unknown_call_or_without_fields(make_app: Any) -> None:
    client = hotline(make_app).test_client()
    assert signed_post(client, "/voice/status", {"CallSid": "CAx", "CallStatus": "completed"}
                       ).status_code == 404
    assert signed_post(client, "/voice/status", {"CallSid": "CAx"}).status_code == 400


def test_fallback_url_apologises_and_transfers(make_app: Any) -> None:
    client = hotline(make_app).test_client()
    root = twiml(signed_post(client, "/voice/fallback", {**START, "ErrorCode": "11200"}).data)
    assert [child.tag for child in root] == ["Say", "Dial", "Hangup"]
    assert "problema tecnico" in root.find("Say").text


def test_fallback_without_a_fallback_number_books_a_callback(make_app: Any,
                                                            session: Any) -> None:
    client = hotline(make_app, FALLBACK_NUMBER="").test_client()
    root = twiml(signed_post(client, "/voice/fallback", START).data)
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "richiameremo" in root.find("Say").text.lower()
    [request] = session.scalars(select(CallbackRequest)).all()
    assert request.phone == CALLER and request.source == "fallback"


def test_database_failure_mid_call_gives_the_caller_a_human(make_app: Any,
                                                           database_url: str) -> None:
    app = hotline(make_app)
    client = app.test_client()
    signed_post(client, "/voice/incoming", START)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE ivr_call_events RENAME TO ivr_call_events_gone"))
    try:
        reply = signed_post(client, f"/voice/step/{START['CallSid']}/ask_need/0",
                            {**START, "SpeechResult": "bolletta"})
    finally:
        app.extensions["db"].session.remove()
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE ivr_call_events_gone RENAME TO ivr_call_events"))
        engine.dispose()
    assert reply.status_code == 200
    root = twiml(reply.data)
    assert root.find("Say").text.startswith("Ci scusi")
    assert root.find("Dial/Number").text == "+390299999999"


def test_a_whole_call_over_the_webhooks_shows_up_as_a_callback(make_app: Any,
                                                               session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("la bolletta è troppo alta"), SayText("sì"), SayText("sì")])
    assert all(r.status in (200, 204) for r in t.requests)
    request = session.scalar(select(CallbackRequest))
    assert request is not None and request.call_sid == t.call_sid
    assert request.words == "la bolletta è troppo alta"


def test_simultaneous_retries_of_one_webhook_advance_the_call_once(make_app: Any,
                                                                   session: Any) -> None:
    import threading

    app = hotline(make_app)
    signed_post(app.test_client(), "/voice/incoming", START)
    path = f"/voice/step/{START['CallSid']}/ask_need/0"
    replies: list[Any] = []
    barrier = threading.Barrier(4)

    def retry() -> None:
        client = app.test_client()
        barrier.wait()
        replies.append(signed_post(client, path, {**START, "SpeechResult": "bolletta"}))

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in replies] == [200] * 4
    assert len({r.data for r in replies}) == 1
    call = session.scalar(select(Call))
    assert [e.step for e in call.events] == ["_start", "ask_need"]
    assert call.current_step == "offer_callback"


def test_without_a_published_flow_the_caller_still_reaches_a_human(make_app: Any) -> None:
    client = make_app().test_client()  # no flows seeded
    root = twiml(signed_post(client, "/voice/incoming", START).data)
    assert root.find("Dial/Number").text == "+390299999999"


def test_one_caller_on_two_lines_at_once_gets_one_callback(make_app: Any,
                                                          session: Any) -> None:
    """Two calls from the same new number book at the same moment: both callers hear a
    promise (the loser of the race on the new caller's row is run again) and the queue holds
    one request for them, asked twice."""
    import threading

    app = hotline(make_app)
    client = app.test_client()
    forms = [{**START, "CallSid": f"CA{n}" + "b" * 31} for n in (1, 2)]
    actions = []
    for form in forms:
        reply = twiml(signed_post(client, "/voice/incoming", form).data)
        for _ in range(4):  # the need, then "yes" until the number is asked
            action = reply.find("Gather").get("action")  # type: ignore[union-attr]
            if "/callback_number/" in action:
                break
            words = "ho un problema con la bolletta" if "/ask_need/" in action else "sì"
            reply = twiml(signed_post(client, action.split("hotline.test", 1)[1],
                                      {**form, "SpeechResult": words, "Confidence": "0.9"}).data)
        actions.append(action.split("hotline.test", 1)[1])
    replies: list[Any] = []
    barrier = threading.Barrier(2)

    def confirm(form: dict[str, str], path: str) -> None:
        own = app.test_client()
        barrier.wait()
        replies.append(signed_post(own, path, {**form, "Digits": "1"}))

    threads = [threading.Thread(target=confirm, args=pair)
               for pair in zip(forms, actions, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in replies] == [200, 200]
    for reply in replies:
        text = reply.get_data(as_text=True)
        assert "richiameremo" in text.lower() and "problema tecnico" not in text
    requests = list(session.scalars(select(CallbackRequest)))
    assert len(requests) == 1
    assert requests[0].times_requested == 2
    assert requests[0].phone == CALLER
    calls = list(session.scalars(select(Call)))
    assert {c.callback_request_id for c in calls} == {requests[0].id}
