"""The official Twilio REST client against the REST stand-in, served on a real port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response, abort, request
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from core.twilio_client import make_twilio_client
from localtwilio import FlaskClientTransport, Hold, PlayAudio, Press
from localtwilio.callee import Callee
from localtwilio.rest import StandIn, create_stand_in
from localtwilio.server import serve_in_thread
from tests.test_localtwilio_runner import tone_wav

ITALIAN = {"language": "it-IT", "voice": "Polly.Bianca-Neural"}  # a voice that speaks it

SID = "AC" + "7" * 32
TOKEN = "rest-test-token"
APP = "http://hotline.test"
AGENT = "+390211111111"
CUSTOMER = "+393331112222"
HOTLINE = "+390200000000"
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


def twiml(r: VoiceResponse) -> Response:
    return Response(str(r), mimetype="text/xml")


def make_hotline() -> Flask:
    """The app side of an agent-first callback: the agent accepts, then we dial the customer."""
    app = Flask(__name__)
    validator = RequestValidator(TOKEN)
    app.config.update(STATUS=[], WEBHOOKS=[], IN_GATHER=threading.Event())

    @app.before_request
    def check_signature() -> None:
        if not validator.validate(request.url, request.form.to_dict(),
                                  request.headers.get("X-Twilio-Signature", "")):
            abort(403)

    @app.post("/outbound")
    def outbound() -> Response:
        app.config["WEBHOOKS"].append(request.form.to_dict())
        r = VoiceResponse()
        if request.form.get("AnsweredBy", "human").startswith("machine"):
            r.say("Messaggio per la segreteria.", **ITALIAN)
            return twiml(r)
        gather = Gather(input="dtmf", num_digits=1, action="/outbound/accept")
        gather.say("Premi 1 per richiamare il cliente.", **ITALIAN)
        r.append(gather)
        r.say("Nessuna risposta.", **ITALIAN)
        app.config["IN_GATHER"].set()
        return twiml(r)

    @app.post("/outbound/accept")
    def accept() -> Response:
        r = VoiceResponse()
        dial = Dial(action="/outbound/dial-done", caller_id=HOTLINE, timeout=20)
        dial.number(CUSTOMER)
        r.append(dial)
        return twiml(r)

    @app.post("/outbound/dial-done")
    def dial_done() -> Response:
        app.config["DIAL"] = request.form.to_dict()
        r = VoiceResponse()
        r.say(f"Chiamata {request.form['DialCallStatus']}.", **ITALIAN)
        return twiml(r)

    @app.post("/outbound/redirected")
    def redirected() -> Response:
        r = VoiceResponse()
        r.say("Il cliente ha già richiamato.", **ITALIAN)
        return twiml(r)

    @app.post("/outbound/record")
    def record() -> Response:
        r = VoiceResponse()
        r.record(action="/outbound/recorded")
        return twiml(r)

    @app.post("/outbound/recorded")
    def recorded() -> Response:
        app.config["RECORDING"] = request.form.to_dict()
        return twiml(VoiceResponse())

    @app.post("/amd")
    def amd() -> str:
        app.config.setdefault("AMD", []).append(request.form.to_dict())
        return ""

    @app.post("/outbound/screened")
    def screened() -> Response:
        r = VoiceResponse()
        dial = Dial(action="/outbound/dial-done", caller_id=HOTLINE, timeout=20)
        dial.number(CUSTOMER, url="/whisper")
        r.append(dial)
        return twiml(r)

    @app.post("/whisper")
    def whisper() -> Response:
        r = VoiceResponse()
        gather = Gather(input="dtmf", num_digits=1, action="/whisper/accept")
        gather.say("Premi 1 per prendere la chiamata.", **ITALIAN)
        r.append(gather)
        r.hangup()
        return twiml(r)

    @app.post("/whisper/accept")
    def whisper_accept() -> Response:
        r = VoiceResponse()
        if request.form.get("Digits") != "1":
            r.hangup()
        return twiml(r)

    @app.post("/status")
    def status() -> str:
        app.config["STATUS"].append(request.form.to_dict())
        return ""

    return app


@pytest.fixture
def hotline() -> Flask:
    return make_hotline()


@pytest.fixture
def served(hotline: Flask) -> Iterator[tuple[StandIn, Client, str]]:
    app = create_stand_in(SID, TOKEN, transport=FlaskClientTransport(hotline.test_client()))
    base_url, stop = serve_in_thread(app)
    state: StandIn = app.extensions["localtwilio"]
    state.base_url = base_url
    yield state, make_twilio_client(SID, TOKEN, api_base_url=base_url), base_url
    state.wait_idle()
    stop()


def place(client: Client, to: str = AGENT, **kw: Any) -> Any:
    kw.setdefault("url", APP + "/outbound")
    return client.calls.create(to=to, from_=HOTLINE, status_callback=APP + "/status",
                               status_callback_event=ALL_EVENTS, **kw)


def test_created_call_is_twilio_shaped_and_runs_to_completion(
        served: tuple[StandIn, Client, str], hotline: Flask) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(script=(Press("1"),)))
    call = place(client)
    assert call.sid.startswith("CA") and call.status == "queued"
    assert (call.to, call._from, call.direction) == (AGENT, HOTLINE, "outbound-api")
    state.wait_idle()

    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "completed"
    assert int(fetched.duration) > 0
    assert fetched.start_time is not None and fetched.end_time is not None
    webhook = hotline.config["WEBHOOKS"][0]
    assert (webhook["CallStatus"], webhook["Direction"]) == ("in-progress", "outbound-api")


def test_status_callbacks_come_in_twilio_order_with_sequence_numbers(
        served: tuple[StandIn, Client, str], hotline: Flask) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(script=(Press("1"),)))
    call = place(client)
    state.wait_idle()
    received = [c for c in hotline.config["STATUS"] if c["CallSid"] == call.sid]
    assert [c["CallStatus"] for c in received] == ["initiated", "ringing", "in-progress",
                                                  "completed"]
    assert [c["SequenceNumber"] for c in received] == ["0", "1", "2", "3"]
    assert all(c["CallbackSource"] == "call-progress-events" for c in received)
    assert int(received[-1]["CallDuration"]) > 0
    assert all(c.status == 200 for c in state.callbacks_for(call.sid))


def test_only_the_completed_callback_is_sent_by_default(
        served: tuple[StandIn, Client, str], hotline: Flask) -> None:
    state, client, _ = served
    call = client.calls.create(to=AGENT, from_=HOTLINE, url=APP + "/outbound",
                               status_callback=APP + "/status")
    state.wait_idle()
    assert [c["CallStatus"] for c in hotline.config["STATUS"]
            if c["CallSid"] == call.sid] == ["completed"]


def test_wrong_credentials_get_twilio_401(served: tuple[StandIn, Client, str]) -> None:
    _, _, base_url = served
    intruder = make_twilio_client(SID, "wrong-token", api_base_url=base_url)
    with pytest.raises(TwilioRestException) as failure:
        place(intruder)
    assert (failure.value.status, failure.value.code) == (401, 20003)


@pytest.mark.parametrize(("to", "from_", "url", "code"), [
    ("12345", HOTLINE, APP + "/outbound", 21211),
    (AGENT, "nobody", APP + "/outbound", 21212),
    (AGENT, HOTLINE, None, 21205),
    (AGENT, HOTLINE, "not a url", 21205),
])
def test_invalid_requests_get_twilio_error_codes(served: tuple[StandIn, Client, str], to: str,
                                                 from_: str, url: str | None,
                                                 code: int) -> None:
    _, client, base_url = served
    kwargs = {"url": url} if url else {}
    with pytest.raises(TwilioRestException) as failure:
        client.calls.create(to=to, from_=from_, **kwargs)
    assert (failure.value.status, failure.value.code) == (400, code)
    raw = requests.post(f"{base_url}/2010-04-01/Accounts/{SID}/Calls.json",
                        data={"To": to, "From": from_, **({"Url": url} if url else {})},
                        auth=(SID, TOKEN), timeout=5).json()
    assert raw["code"] == code and raw["status"] == 400
    assert raw["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


@pytest.mark.parametrize(("answer", "detection", "answered_by"), [
    ("human", "Enable", "human"),
    ("machine", "Enable", "machine_start"),
    ("machine", "DetectMessageEnd", "machine_end_beep"),
    ("fax", "Enable", "fax"),
])
def test_answering_machine_detection_reports_answered_by(
        served: tuple[StandIn, Client, str], hotline: Flask, answer: str, detection: str,
        answered_by: str) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(answer=answer))
    call = place(client, machine_detection=detection)
    state.wait_idle()
    assert hotline.config["WEBHOOKS"][0]["AnsweredBy"] == answered_by
    assert client.calls(call.sid).fetch().answered_by == answered_by
    callbacks = [c for c in hotline.config["STATUS"] if c["CallSid"] == call.sid]
    assert callbacks[-1]["AnsweredBy"] == answered_by


def test_without_amd_there_is_no_answered_by(served: tuple[StandIn, Client, str],
                                              hotline: Flask) -> None:
    state, client, _ = served
    place(client)
    state.wait_idle()
    assert "AnsweredBy" not in hotline.config["WEBHOOKS"][0]


@pytest.mark.parametrize("answer", ["no-answer", "busy", "failed"])
def test_unanswered_calls_end_with_their_status_and_never_fetch_twiml(
        served: tuple[StandIn, Client, str], hotline: Flask, answer: str) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(answer=answer))
    call = place(client)
    state.wait_idle()
    assert hotline.config["WEBHOOKS"] == []
    assert client.calls(call.sid).fetch().status == answer
    final = [c for c in hotline.config["STATUS"] if c["CallSid"] == call.sid][-1]
    assert (final["CallStatus"], final["CallDuration"]) == (answer, "0")


def test_ringing_longer_than_timeout_is_no_answer(served: tuple[StandIn, Client, str]) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(ring_seconds=40))
    call = place(client, timeout=15)
    state.wait_idle()
    assert client.calls(call.sid).fetch().status == "no-answer"


@pytest.mark.parametrize(("customer", "dial_status"), [
    (Callee(talk_seconds=75), "completed"),
    (Callee(answer="busy"), "busy"),
    (Callee(answer="no-answer"), "no-answer"),
])
def test_agent_first_bridge_dials_the_customer_as_a_second_leg(
        served: tuple[StandIn, Client, str], hotline: Flask, customer: Callee,
        dial_status: str) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(script=(Press("1"),)))
    state.callees.set(CUSTOMER, customer)
    call = place(client)
    state.wait_idle()
    dial = hotline.config["DIAL"]
    assert dial["DialCallStatus"] == dial_status
    leg = client.calls(dial["DialCallSid"]).fetch()
    assert (leg.parent_call_sid, leg.to, leg._from) == (call.sid, CUSTOMER, HOTLINE)
    assert leg.status == dial_status
    if dial_status == "completed":
        assert dial["DialCallDuration"] == "75"
    transcript = state.calls[call.sid].transcript
    assert transcript is not None
    assert transcript.prompts[-1] == f"Chiamata {dial_status}."


def test_live_call_can_be_redirected_through_the_api(
        served: tuple[StandIn, Client, str], hotline: Flask) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(script=(Hold(10),)))
    call = place(client)
    assert hotline.config["IN_GATHER"].wait(5)
    updated = client.calls(call.sid).update(url=APP + "/outbound/redirected", method="POST")
    assert updated.sid == call.sid
    state.wait_idle()
    transcript = state.calls[call.sid].transcript
    assert transcript is not None and transcript.prompts[-1] == "Il cliente ha già richiamato."
    with pytest.raises(TwilioRestException) as failure:
        client.calls(call.sid).update(url=APP + "/outbound/redirected")
    assert failure.value.code == 21220


def test_live_call_can_be_hung_up_through_the_api(
        served: tuple[StandIn, Client, str], hotline: Flask) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(script=(Hold(10),)))
    call = place(client)
    assert hotline.config["IN_GATHER"].wait(5)
    client.calls(call.sid).update(status="completed")
    state.wait_idle()
    assert client.calls(call.sid).fetch().status == "completed"
    transcript = state.calls[call.sid].transcript
    assert transcript is not None and transcript.hung_up_by == "api"


def test_ringing_call_can_be_canceled(hotline: Flask) -> None:
    app = create_stand_in(SID, TOKEN, transport=FlaskClientTransport(hotline.test_client()),
                          time_scale=0.5)
    base_url, stop = serve_in_thread(app)
    state: StandIn = app.extensions["localtwilio"]
    state.callees.set(AGENT, Callee(ring_seconds=4))
    try:
        client = make_twilio_client(SID, TOKEN, api_base_url=base_url)
        call = place(client)
        client.calls(call.sid).update(status="canceled")
        state.wait_idle()
        assert client.calls(call.sid).fetch().status == "canceled"
        assert hotline.config["WEBHOOKS"] == []
    finally:
        stop()


@pytest.mark.parametrize("status", [500, 503, 429])
def test_injected_failures_hit_the_next_requests_only(
        served: tuple[StandIn, Client, str], status: int) -> None:
    state, client, _ = served
    state.faults.fail_next(2, status)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as failure:
            place(client)
        assert failure.value.status == status
        assert failure.value.code == {500: 20500, 503: 20503, 429: 20429}[status]
    assert place(client).status == "queued"


def test_duplicate_and_out_of_order_status_callbacks(
        served: tuple[StandIn, Client, str], hotline: Flask) -> None:
    state, client, _ = served
    state.faults.callbacks.duplicate = True
    state.faults.callbacks.out_of_order = True
    call = place(client)
    state.wait_idle()
    received = [c["SequenceNumber"] for c in hotline.config["STATUS"]
                if c["CallSid"] == call.sid]
    assert received == ["3", "3", "2", "2", "1", "1", "0", "0"]


def test_inline_twiml_is_executed(served: tuple[StandIn, Client, str]) -> None:
    state, client, _ = served
    call = place(client, url=None,
                 twiml='<Response><Say language="it-IT" voice="Polly.Bianca-Neural">'
                       'Promemoria</Say></Response>')
    state.wait_idle()
    transcript = state.calls[call.sid].transcript
    assert transcript is not None and transcript.prompts == ["Promemoria"]


def test_recordings_are_served_as_wav(served: tuple[StandIn, Client, str], hotline: Flask,
                                      tmp_path: Path) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(script=(PlayAudio(tone_wav(tmp_path / "m.wav", 1.0)),)))
    place(client, url=APP + "/outbound/record")
    state.wait_idle()
    url = hotline.config["RECORDING"]["RecordingUrl"]
    audio = requests.get(url + ".wav", timeout=5)
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert hotline.config["RECORDING"]["RecordingDuration"] == "1"


def test_inspection_api_lists_calls_and_callbacks(served: tuple[StandIn, Client, str]) -> None:
    state, client, base_url = served
    state.callees.set(AGENT, Callee(script=(Press("1"),)))
    call = place(client)
    state.wait_idle()
    calls = requests.get(base_url + "/_localtwilio/calls", timeout=5).json()
    assert calls[0]["sid"] == call.sid and calls[0]["final"] is True
    assert calls[0]["outcome"] == f"transferred:{CUSTOMER}" or calls[0]["outcome"]
    callbacks = requests.get(base_url + "/_localtwilio/callbacks", timeout=5).json()
    assert {c["call_sid"] for c in callbacks} >= {call.sid}
    listed = client.calls.list(to=AGENT)
    assert [c.sid for c in listed] == [call.sid]


def test_callee_hanging_up_after_some_seconds_ends_the_call(
        served: tuple[StandIn, Client, str], hotline: Flask) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(hangup_after=1, script=(Press("1"),)))
    call = place(client)
    state.wait_idle()
    transcript = state.calls[call.sid].transcript
    assert transcript is not None and transcript.hung_up_by == "caller"
    assert "DIAL" not in hotline.config  # gone before pressing 1
    final = [c for c in hotline.config["STATUS"] if c["CallSid"] == call.sid][-1]
    assert final["CallStatus"] == "completed"


def test_async_amd_lets_the_twiml_play_and_posts_the_verdict_on_its_own(
        served: tuple[StandIn, Client, str], hotline: Flask) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(answer="machine", script=(Press("1"),)))
    place(client, machine_detection="DetectMessageEnd", async_amd="true",
          async_amd_status_callback=APP + "/amd")
    state.wait_idle()
    assert "AnsweredBy" not in hotline.config["WEBHOOKS"][0]  # no waiting for the verdict
    [verdict] = hotline.config["AMD"]
    assert verdict["AnsweredBy"] == "machine_end_beep" and verdict["CallSid"].startswith("CA")


@pytest.mark.parametrize(("callee", "bridged"), [
    (Callee(script=(Press("1"),)), "true"),
    (Callee(answer="machine"), "false"),  # a voicemail presses nothing: the whisper hangs up
])
def test_a_number_url_screens_the_dialled_party_before_bridging(
        served: tuple[StandIn, Client, str], hotline: Flask, callee: Callee,
        bridged: str) -> None:
    state, client, _ = served
    state.callees.set(AGENT, Callee(script=()))
    state.callees.set(CUSTOMER, callee)
    place(client, url=APP + "/outbound/screened")
    state.wait_idle()
    dial = hotline.config["DIAL"]
    assert (dial["DialCallStatus"], dial["DialBridged"]) == ("completed", bridged)
    leg = next(c for c in state.calls.values() if c.to == CUSTOMER)
    assert leg.transcript is not None and "Premi 1" in leg.transcript.prompts[0]
