"""LocalCall against a tiny Flask voice app that checks Twilio signatures for real."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from localtwilio import (
    CallerAction,
    DialOutcome,
    FlaskClientTransport,
    HangUp,
    InteractiveCaller,
    LocalCall,
    PlayAudio,
    Press,
    SayText,
    Signer,
    Silence,
    scripted_dial,
)
from localtwilio.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER

ITALIAN = {"language": "it-IT", "voice": "Polly.Bianca-Neural"}  # a voice that speaks it

TOKEN = "runner-test-token"
BASE = "http://hotline.test"
CALLER = "+393331234567"
HOTLINE = "+390212345678"


def twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def make_voice_app(token: str = TOKEN) -> Flask:
    """A small IVR: ask, confirm, transfer or record; every request's signature is checked."""
    app = Flask(__name__)
    validator = RequestValidator(token)
    app.config["SEEN"] = []

    @app.before_request
    def check_signature() -> None:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not validator.validate(request.url, request.form.to_dict(), signature):
            abort(403)
        app.config["SEEN"].append((request.path, request.values.to_dict()))

    @app.route("/voice", methods=["GET", "POST"])
    def voice() -> Response:
        r = VoiceResponse()
        gather = Gather(input="speech dtmf", action="/voice/answer", language="it-IT",
                        num_digits=1, timeout=4)
        gather.say("Come posso aiutarla?", **ITALIAN)
        r.append(gather)
        r.say("Non ho sentito nulla. Arrivederci.", **ITALIAN)
        r.hangup()
        return twiml(r)

    @app.post("/voice/answer")
    def answer() -> Response:
        r = VoiceResponse()
        if request.form.get("Digits") == "0":
            dial = Dial(action="/voice/dial-done", timeout=20)
            dial.number("+390299999999")
            r.append(dial)
            return twiml(r)
        r.say(f"Ha detto: {request.form.get('SpeechResult', '')}", **ITALIAN)
        r.redirect("/voice/record", method="GET")
        return twiml(r)

    @app.get("/voice/record")
    def record_prompt() -> Response:
        r = VoiceResponse()
        r.say("Lasci un messaggio.", **ITALIAN)
        r.record(action="/voice/recorded", max_length=30)
        r.say("Nessun messaggio.", **ITALIAN)
        return twiml(r)

    @app.post("/voice/recorded")
    def recorded() -> Response:
        r = VoiceResponse()
        r.say("Grazie.", **ITALIAN)
        return twiml(r)

    @app.post("/voice/dial-done")
    def dial_done() -> Response:
        r = VoiceResponse()
        if request.form["DialCallStatus"] != "completed":
            r.say("Operatore non disponibile.", **ITALIAN)
        return twiml(r)

    @app.post("/voice/status")
    def status() -> str:
        return ""

    @app.post("/broken")
    def broken() -> Response:
        return Response("<Response><Say>oops", mimetype="text/xml")

    @app.post("/fails")
    def fails() -> Response:
        abort(500)

    @app.post("/fallback")
    def fallback() -> Response:
        r = VoiceResponse()
        r.say("Servizio temporaneamente non disponibile.", **ITALIAN)
        return twiml(r)

    return app


def new_call(app: Flask, path: str = "/voice", token: str = TOKEN, **kw: Any) -> LocalCall:
    return LocalCall(FlaskClientTransport(app.test_client()), BASE + path, from_=CALLER,
                     to=HOTLINE, signer=Signer(token), status_callback=BASE + "/voice/status",
                     **kw)


def tone_wav(path: Path, seconds: float = 2.0) -> Path:
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                      for i in range(int(8000 * seconds)))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(frames)
    return path


def test_spoken_answer_reaches_the_action_url_with_speech_result_and_confidence() -> None:
    app = make_voice_app()
    call = new_call(app)
    transcript = call.run([SayText("la bolletta", confidence=0.8), Silence()])

    answer = transcript.requests_to("/voice/answer")[0]
    assert answer.params["SpeechResult"] == "la bolletta"
    assert float(answer.params["Confidence"]) == pytest.approx(0.8)
    assert answer.params["CallSid"] == call.call_sid
    assert answer.params["CallStatus"] == "in-progress"
    first = transcript.requests[0]
    assert first.params["CallStatus"] == "ringing"
    assert first.params["Direction"] == "inbound"
    assert first.params["From"] == first.params["Caller"] == CALLER
    assert first.params["To"] == first.params["Called"] == HOTLINE
    assert first.params["ApiVersion"] == "2010-04-01"
    assert transcript.prompts[:2] == ["Come posso aiutarla?", "Ha detto: la bolletta"]
    assert transcript.turns[0].language == "it-IT"


def test_get_redirect_sends_params_in_the_query_string_and_is_signed() -> None:
    app = make_voice_app()
    transcript = new_call(app).run([SayText("la bolletta"), Silence()])
    redirect = transcript.requests_to("/voice/record")[0]
    assert redirect.method == "GET"
    assert "CallSid=" in redirect.url
    assert redirect.status == 200
    # Silence at <Record> is an empty recording: no action request, next verb runs
    assert transcript.requests_to("/voice/recorded") == []
    assert "Nessun messaggio." in transcript.prompts
    assert transcript.outcome == "completed"


def test_silent_caller_falls_through_to_the_verb_after_gather() -> None:
    transcript = new_call(make_voice_app()).run([Silence()])
    assert transcript.requests_to("/voice/answer") == []
    assert transcript.prompts == ["Come posso aiutarla?", "Non ho sentito nulla. Arrivederci."]
    assert (transcript.outcome, transcript.hung_up_by) == ("hangup", "app")


def test_action_on_empty_result_posts_the_action_without_input() -> None:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Response:
        r = VoiceResponse()
        r.gather(input="speech", action="/next", action_on_empty_result=True)
        return twiml(r)

    @app.post("/next")
    def next_() -> Response:
        return twiml(VoiceResponse())

    transcript = new_call(app).run([Silence()])
    posted = transcript.requests_to("/next")[0].params
    assert "SpeechResult" not in posted and "Digits" not in posted


@pytest.mark.parametrize(("pressed", "num_digits", "finish", "digits", "finished_on"), [
    ("1234#", None, "#", "1234", "#"),
    ("12", 1, "#", "1", ""),
    ("99*", None, "*", "99", "*"),
])
def test_keypad_input_honours_num_digits_and_finish_on_key(
        pressed: str, num_digits: int | None, finish: str, digits: str, finished_on: str) -> None:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Response:
        r = VoiceResponse()
        r.gather(input="dtmf", action="/keys", num_digits=num_digits, finish_on_key=finish)
        return twiml(r)

    @app.post("/keys")
    def keys() -> Response:
        return twiml(VoiceResponse())

    transcript = new_call(app).run([Press(pressed)])
    posted = transcript.requests_to("/keys")[0].params
    assert (posted["Digits"], posted["FinishedOnKey"]) == (digits, finished_on)


def test_speech_is_ignored_by_a_dtmf_only_gather() -> None:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Response:
        r = VoiceResponse()
        r.gather(input="dtmf", action="/keys")
        r.say("bye")
        return twiml(r)

    transcript = new_call(app).run([SayText("operatore")])
    assert len(transcript.requests) == 2  # the voice URL and the status callback
    assert transcript.prompts == ["bye"]


def test_caller_hanging_up_mid_flow_gets_a_completed_status_callback() -> None:
    app = make_voice_app()
    transcript = new_call(app).run([HangUp()])
    assert (transcript.outcome, transcript.hung_up_by) == ("hangup", "caller")
    status = transcript.requests_to("/voice/status")
    assert len(status) == 1
    assert status[0].params["CallStatus"] == "completed"
    assert int(status[0].params["CallDuration"]) >= 1
    assert status[0].params["CallbackSource"] == "call-progress-events"
    assert status[0].status == 200  # the signature was accepted


@pytest.mark.parametrize(("dial_status", "outcome", "prompt"), [
    ("completed", "transferred:+390299999999", None),
    ("busy", "completed", "Operatore non disponibile."),
    ("no-answer", "completed", "Operatore non disponibile."),
])
def test_dial_posts_the_dial_action_with_the_outcome(dial_status: str, outcome: str,
                                                     prompt: str | None) -> None:
    app = make_voice_app()
    handler = scripted_dial({"+390299999999": DialOutcome(dial_status, duration=42)})
    transcript = new_call(app, dial=handler).run([Press("0")])
    done = transcript.requests_to("/voice/dial-done")[0].params
    assert done["DialCallStatus"] == dial_status
    assert done["DialCallSid"].startswith("CA")
    assert ("DialCallDuration" in done) == (dial_status == "completed")
    assert transcript.outcome == outcome
    if prompt:
        assert transcript.prompts[-1] == prompt


def test_record_posts_a_recording_url_whose_audio_is_kept(tmp_path: Path) -> None:
    app = make_voice_app()
    call = new_call(app)
    transcript = call.run([SayText("la bolletta"), PlayAudio(tone_wav(tmp_path / "m.wav"))])
    posted = transcript.requests_to("/voice/recorded")[0].params
    assert posted["RecordingUrl"].endswith("/Recordings/" + posted["RecordingSid"])
    assert posted["RecordingDuration"] == "2"
    recording = call.recordings.get(posted["RecordingSid"])
    assert recording is not None
    with wave.open(io.BytesIO(recording.wav)) as wav:
        assert wav.getnframes() == 16000
    assert transcript.prompts[-1] == "Grazie."


@pytest.mark.parametrize(("path", "code"), [("/fails", "11200"), ("/broken", "12100")])
def test_failing_webhook_falls_back_with_error_code_and_url(path: str, code: str) -> None:
    app = make_voice_app()
    transcript = new_call(app, path, fallback_url=BASE + "/fallback").run([])
    fallback = transcript.requests_to("/fallback")[0].params
    assert fallback["ErrorCode"] == code
    assert fallback["ErrorUrl"] == BASE + path
    assert transcript.prompts == ["Servizio temporaneamente non disponibile."]
    assert transcript.outcome == "completed"


def test_failing_webhook_without_fallback_ends_in_an_application_error() -> None:
    transcript = new_call(make_voice_app(), "/fails").run([])
    assert transcript.outcome == "error"
    assert "HTTP 500" in (transcript.error or "")


def test_forged_signatures_are_rejected_by_the_app() -> None:
    transcript = new_call(make_voice_app(), token="not-the-token").run([])
    assert transcript.requests[0].status == 403
    assert transcript.outcome == "error"


def test_duplicate_webhooks_resend_the_identical_request() -> None:
    app = make_voice_app()
    transcript = new_call(app, duplicate_webhooks=True).run([Silence()])
    first, again = transcript.requests[0], transcript.requests[1]
    assert again.kind == "duplicate"
    assert (again.url, again.params) == (first.url, first.params)
    assert again.headers[SIGNATURE_HEADER] == first.headers[SIGNATURE_HEADER]
    assert again.headers[IDEMPOTENCY_HEADER] == first.headers[IDEMPOTENCY_HEADER]
    assert [p for p, _ in app.config["SEEN"]].count("/voice") == 2


@pytest.mark.parametrize(("reason", "status"), [("busy", "busy"), ("rejected", "no-answer")])
def test_reject_ends_the_call_unanswered(reason: str, status: str) -> None:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Response:
        r = VoiceResponse()
        r.reject(reason=reason)
        return twiml(r)

    @app.post("/voice/status")
    def status_cb() -> str:
        return ""

    transcript = new_call(app).run([])
    assert transcript.outcome == "rejected"
    callback = transcript.requests_to("/voice/status")[0].params
    assert (callback["CallStatus"], callback["CallDuration"]) == (status, "0")


def test_unsupported_verbs_end_the_call_with_an_error() -> None:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Response:
        r = VoiceResponse()
        r.enqueue("support")
        return twiml(r)

    transcript = new_call(app).run([])
    assert transcript.outcome == "error"
    assert "Enqueue" in (transcript.error or "")


def test_redirect_loops_are_cut_off() -> None:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Response:
        r = VoiceResponse()
        r.redirect("/voice")
        return twiml(r)

    transcript = new_call(app, max_requests=10).run([])
    assert transcript.outcome == "error"
    assert "loops" in (transcript.error or "")


def test_interactive_caller_hears_prompts_and_answers_through_callbacks() -> None:
    heard: list[tuple[str, str | None]] = []
    answers: Iterator[CallerAction] = iter([SayText("la bolletta"), HangUp()])
    caller = InteractiveCaller(lambda text, lang: heard.append((text, lang)),
                               lambda listening: next(answers))
    transcript = new_call(make_voice_app()).run(caller)
    assert heard[:2] == [("Come posso aiutarla?", "it-IT"), ("Ha detto: la bolletta", "it-IT")]
    assert transcript.hung_up_by == "caller"


def test_caller_whose_patience_runs_out_hangs_up() -> None:
    transcript = new_call(make_voice_app(), hangup_after=0.5).run([SayText("la bolletta")])
    assert transcript.requests_to("/voice/answer") == []
    assert transcript.hung_up_by == "caller"


def _say_twice(first: str) -> str:
    """A document saying `first` (a <Say> element), then a plain English sentence."""
    return f'<Response>{first}<Say voice="woman">Next.</Say></Response>'


@pytest.mark.parametrize(("say", "heard", "rate", "codes"), [
    # a basic voice: no SSML, so prosody is dropped with warning 13513, the words still said
    ('<Say voice="man" language="en-US"><prosody rate="85%">Slowly.</prosody></Say>',
     "Slowly.", None, [13513]),
    # no voice is `man`, which speaks no Italian: 13511, the <Say> fails, the call goes on
    ('<Say language="it-IT">Buongiorno.</Say>', None, None, [13511]),
    ('<Say voice="Polly.Amy-Neural" language="it-IT">Buongiorno.</Say>', None, None, [13511]),
    ('<Say voice="Polly.Nobody" language="en-GB">Hello.</Say>', None, None, [13511]),
    # an SSML voice speaking its own language honours the prosody rate
    ('<Say voice="Polly.Bianca-Neural" language="it-IT"><prosody rate="85%">Piano.</prosody>'
     '</Say>', "Piano.", "85%", []),
    ('<Say voice="Polly.Amy-Neural" language="en-GB"><prosody rate="slowish">Hi.</prosody>'
     '</Say>', "Hi.", None, [13513]),
    ('<Say voice="alice" language="it-IT">Buongiorno.</Say>', "Buongiorno.", None, []),
])
def test_say_voices_languages_and_ssml_are_checked_as_twilio_does(
        say: str, heard: str | None, rate: str | None, codes: list[int]) -> None:
    call = LocalCall(FlaskClientTransport(Flask(__name__).test_client()), BASE + "/voice",
                     from_=CALLER, to=HOTLINE, twiml=_say_twice(say))
    transcript = call.run([])
    assert transcript.prompts == ([heard] if heard else []) + ["Next."]
    assert [n.code for n in transcript.notices] == codes
    said = [t for t in transcript.turns if t.who == "app"]
    assert said[0].rate == rate if heard else said[0].text == "Next."
    assert transcript.outcome == "completed"
