"""Recorded messages: the flow keeps the recording on the callback request, a "speech" job
downloads it from the Twilio stand-in over real HTTP (Basic auth enforced), transcribes it
with the real Korean Vosk model and the agent console plays it through the app."""

from __future__ import annotations

import copy
import difflib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from rq import SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from callbacks import recordings
from callbacks.models import CallbackRequest
from callbacks.reconcile import reconcile_now
from core.clock import FrozenClock
from core.users import create_user
from ivr.flow_store import create_draft, import_default_flows, publish
from localtwilio import (
    CallTranscript,
    FlaskClientTransport,
    LocalCall,
    PlayAudio,
    Press,
    SayText,
    Signer,
    Silence,
)
from localtwilio.audio import ulaw_to_wav
from localtwilio.rest import StandIn
from speech.transcribe import transcribe_recording
from tests.audio import telephone_ulaw
from tests.conftest import PUBLIC_BASE_URL, TWILIO_TOKEN
from tests.ivr_support import OPEN
from tests.test_callbacks_support import (  # noqa: F401  (stand_in is a fixture)
    book,
    stand_in_fixture,
)

KO_FLOW = Path(__file__).parent / "data" / "flows" / "ko_flow.yaml"
KO_NUMBER = "+820000000000"
PASSWORD = "secret-pass-1"


def _ko_flow_with_a_message_step() -> dict[str, Any]:
    """The Korean test flow, where a caller who gives no number leaves a message."""
    document = copy.deepcopy(yaml.safe_load(KO_FLOW.read_text(encoding="utf-8")))
    document["steps"]["callback_number"]["on_failure"] = "leave_message"
    document["steps"]["leave_message"] = {
        "type": "record", "prompt": {"ko": "삐 소리 후에 메시지를 남겨 주세요."},
        "max_length": 60, "next": "goodbye"}
    return document


def _hotline(make_app: Any, stand_in: tuple[StandIn, str], **overrides: Any) -> Flask:
    state, base_url = stand_in
    state.recordings_need_auth = True  # prove the job and the console send the credentials
    app: Flask = make_app(CLOCK=FrozenClock(OPEN), TWILIO_API_BASE_URL=base_url,
                          SPEECH_INPUT="gather", **overrides)
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
        publish(session, create_draft(session, _ko_flow_with_a_message_step()), by="test",
                now=OPEN)
        create_user(session, "anna", PASSWORD, "agent", language="en")
    return app


def _call(app: Flask, state: StandIn, base_url: str, to: str, script: list[Any],
          from_: str = "anonymous") -> CallTranscript:
    """An inbound call; `<Record>` keeps its audio in the stand-in, served over HTTP."""
    call = LocalCall(FlaskClientTransport(app.test_client()), PUBLIC_BASE_URL + "/voice/incoming",
                     from_=from_, to=to, signer=Signer(TWILIO_TOKEN),
                     account_sid=state.account_sid,
                     status_callback=PUBLIC_BASE_URL + "/voice/status",
                     recordings=state.recordings, recording_base_url=base_url)
    return call.run(script)


def _request(app: Flask) -> CallbackRequest:
    with app.extensions["db"].session_factory() as session:
        request = session.scalar(select(CallbackRequest))
        assert request is not None
        return request


def _korean_message(tmp_path: Path, text: str = "환불 상담원 연결") -> Path:
    path = tmp_path / "message.wav"
    path.write_bytes(ulaw_to_wav(telephone_ulaw(text, speed=120)))
    return path


def _agent_client(app: Flask) -> Any:
    """A test client signed in as the agent, with an English browser."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token is not None
    answer = client.post("/login", data={"csrf_token": token.group(1), "username": "anna",
                                         "password": PASSWORD})
    assert answer.status_code == 302
    return client


def _heard_alike(transcript: str | None, fresh: Any) -> bool:
    """Is the stored transcript what Vosk hears in these bytes? Free-form Vosk is not exactly
    repeatable on the same audio (a word or two changes between runs), so compare with
    each of a fresh run's alternatives: most characters in order must agree (text from other
    audio scores under 0.2 on these phrases)."""
    if not transcript:
        return False
    return any(difflib.SequenceMatcher(None, transcript, text).ratio() >= 0.5
               for text, _ in fresh.alternatives)


@pytest.mark.slow
def test_korean_message_is_transcribed_by_vosk_and_played_in_the_console(
        make_app: Any, stand_in: tuple[StandIn, str], tmp_path: Path) -> None:
    state, base_url = stand_in
    app = _hotline(make_app, stand_in)
    message = _korean_message(tmp_path)
    t = _call(app, state, base_url, KO_NUMBER,
              [Press("1"), Press("1"), Silence(), Silence(), PlayAudio(message)])
    assert any("메시지를 남겨" in prompt for prompt in t.prompts)
    assert app.extensions["jobs"].wait_idle(timeout=180)

    request = _request(app)
    [recording] = state.recordings.for_call(t.call_sid)
    assert request.recording_url == f"{base_url}/2010-04-01/Accounts/{state.account_sid}" \
                                    f"/Recordings/{recording.sid}"
    assert request.recording_duration == recording.duration and request.language == "ko"
    # what Vosk hears in the WAV Twilio serves, free-form (no grammar); espeak-ng Korean
    # comes out as other words, and Vosk's confidence varies a little from run to run
    expected = transcribe_recording(recording.wav, "audio/x-wav", "ko", app.extensions["speech"])
    assert request.transcript_status == "done" and request.transcript
    assert _heard_alike(request.transcript, expected)
    assert request.transcript_confidence is not None and 0 < request.transcript_confidence <= 1
    assert request.transcript_tries == 1 and request.transcript_error is None

    client = _agent_client(app)
    page = client.get("/console").get_data(as_text=True)
    player = f'src="/console/requests/{request.id}/recording.wav"'
    assert player in page and request.transcript in page and base_url not in page
    audio = client.get(f"/console/requests/{request.id}/recording.wav")
    assert audio.status_code == 200 and audio.data == recording.wav
    assert audio.mimetype == "audio/x-wav"
    part = client.get(f"/console/requests/{request.id}/recording.wav",
                      headers={"Range": "bytes=0-43"})
    assert part.status_code == 206 and part.data == recording.wav[:44]
    assert app.test_client().get(f"/console/requests/{request.id}/recording.wav"
                                 ).status_code == 302  # agents only


def test_a_language_without_a_model_is_marked_no_model_not_dropped(
        make_app: Any, stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    app = _hotline(make_app, stand_in)
    _call(app, state, base_url, "+390200000000",
          [SayText("ho un problema con la bolletta"), SayText("sì"), Silence(), Silence(),
           SayText("sono Maria, richiamatemi")])
    assert app.extensions["jobs"].wait_idle(timeout=30)
    request = _request(app)
    assert request.language == "it" and request.recording_url
    assert request.transcript_status == "no_model" and request.transcript == ""
    assert "'it'" in (request.transcript_error or "")
    page = _agent_client(app).get("/console").get_data(as_text=True)
    assert "No speech model for this language" in page
    assert f'src="/console/requests/{request.id}/recording.wav"' in page


@pytest.fixture
def rq_app(make_app: Any, stand_in: tuple[StandIn, str], redis_url: str) -> Flask:
    return _hotline(make_app, stand_in, REDIS_URL=redis_url, RQ_QUEUE_PREFIX="rectest",
                    CALLBACKS_RECONCILE_SECONDS=0)


def _message_request(app: Flask, state: StandIn, base_url: str, tmp_path: Path) -> tuple[
        int, bytes]:
    """A booked Korean request with a recording attached; the job is enqueued on commit."""
    wav = _korean_message(tmp_path).read_bytes()
    recording = state.recordings.add("CA" + "5" * 32, wav, 2)
    url = f"{base_url}/2010-04-01/Accounts/{state.account_sid}/Recordings/{recording.sid}"
    with app.extensions["db"].transaction() as session:
        booking = book(session, None, OPEN, language="ko", source="voicemail")
        assert recordings.attach_recording(session, booking.request_id, url, 2, OPEN,
                                           app.extensions["jobs"])
        # the same recording again (Twilio retried the webhook): nothing more to do
        assert not recordings.attach_recording(session, booking.request_id, url, 2, OPEN,
                                               app.extensions["jobs"])
    return booking.request_id, wav


def _work(app: Flask) -> None:
    jobs = app.extensions["jobs"]
    with app.app_context():
        SimpleWorker([jobs.queues["speech"]], connection=jobs.connection).work(burst=True)


@pytest.mark.slow
def test_rq_worker_transcribes_once_and_retries_a_failed_download(
        rq_app: Flask, stand_in: tuple[StandIn, str], tmp_path: Path) -> None:
    state, base_url = stand_in
    speech_queue = rq_app.extensions["jobs"].queues["speech"]
    state.faults.fail_next(1, 503)  # the first download fails
    request_id, wav = _message_request(rq_app, state, base_url, tmp_path)
    assert speech_queue.job_ids == [recordings.job_id(request_id)]  # enqueued after commit
    _work(rq_app)
    pending = _request(rq_app)
    assert pending.transcript_status == "pending" and pending.transcript_tries == 1
    assert "HTTP 503" in (pending.transcript_error or "")
    assert pending.transcript_due_at == OPEN + recordings.RETRY_BASE
    scheduled = ScheduledJobRegistry(queue=speech_queue)
    retry = Job.fetch(recordings.job_id(request_id, 1), connection=speech_queue.connection)
    assert scheduled.get_job_ids() == [retry.id]
    assert scheduled.get_scheduled_time(retry) == OPEN + recordings.RETRY_BASE
    scheduled.remove(retry)  # its time has come: what RQ's scheduler does
    speech_queue.enqueue_job(retry)
    _work(rq_app)
    done = _request(rq_app)
    expected = transcribe_recording(wav, "audio/x-wav", "ko", rq_app.extensions["speech"])
    assert done.transcript_status == "done"
    assert _heard_alike(done.transcript, expected)
    assert done.transcript_tries == 2 and state.faults.arrived == 2

    # a duplicate job (or the reconciler's) changes nothing
    recordings.enqueue(rq_app.extensions["jobs"], request_id)
    _work(rq_app)
    again = _request(rq_app)
    assert (again.transcript, again.transcript_tries, again.updated_at) == (
        done.transcript, 2, done.updated_at)
    assert state.faults.arrived == 2  # not even downloaded again


@pytest.mark.slow
def test_the_reconciler_restores_a_transcription_redis_lost(
        rq_app: Flask, stand_in: tuple[StandIn, str], tmp_path: Path) -> None:
    state, base_url = stand_in
    request_id, _ = _message_request(rq_app, state, base_url, tmp_path)
    jobs = rq_app.extensions["jobs"]
    jobs.connection.flushdb()
    assert reconcile_now(rq_app, OPEN + timedelta(minutes=1))["transcriptions"] == 0  # grace
    assert reconcile_now(rq_app, OPEN + timedelta(minutes=4))["transcriptions"] == 1
    assert jobs.queues["speech"].job_ids == [recordings.job_id(request_id)]
    _work(rq_app)
    assert _request(rq_app).transcript_status == "done"
    assert reconcile_now(rq_app, OPEN + timedelta(minutes=9))["transcriptions"] == 0


def test_in_process_retries_then_gives_up_with_the_reason(
        make_app: Any, stand_in: tuple[StandIn, str], tmp_path: Path) -> None:
    state, base_url = stand_in
    app = _hotline(make_app, stand_in)
    clock = app.extensions["clock"]
    jobs = app.extensions["jobs"]
    state.faults.fail_next(recordings.MAX_TRIES, 500)
    _message_request(app, state, base_url, tmp_path)
    for tries in range(1, recordings.MAX_TRIES):
        assert jobs.wait_idle(timeout=30)
        request = _request(app)
        assert (request.transcript_status, request.transcript_tries) == ("pending", tries)
        assert request.transcript_due_at is not None
        clock.set(request.transcript_due_at)  # the back-off has passed
    assert jobs.wait_idle(timeout=30)
    request = _request(app)
    assert request.transcript_status == "failed" and request.transcript is None
    assert f"download {recordings.MAX_TRIES}/{recordings.MAX_TRIES} failed: HTTP 500" == \
        request.transcript_error
    assert state.faults.arrived == recordings.MAX_TRIES
    page = _agent_client(app).get("/console").get_data(as_text=True)
    assert "could not be transcribed" in page


def test_credentials_never_go_to_a_host_that_is_not_twilio(stand_in: tuple[StandIn, str]
                                                           ) -> None:
    state, base_url = stand_in
    trusted = recordings.trusted_origins({"TWILIO_API_BASE_URL": base_url})
    with pytest.raises(recordings.DownloadError) as refused:
        recordings.download("http://recordings.example.com/RE1", "AC1", "token", trusted)
    assert not refused.value.retry and state.faults.arrived == 0
    with pytest.raises(recordings.DownloadError) as wrong_token:
        recordings.download(f"{base_url}/2010-04-01/Accounts/{state.account_sid}"
                            "/Recordings/RE1", state.account_sid, "wrong", trusted)
    assert wrong_token.value.retry  # the stand-in serves media without auth by default: 404
    state.recordings_need_auth = True
    with pytest.raises(recordings.DownloadError) as unauthorised:
        recordings.download(f"{base_url}/2010-04-01/Accounts/{state.account_sid}"
                            "/Recordings/RE1", state.account_sid, "wrong", trusted)
    assert not unauthorised.value.retry and "401" in str(unauthorised.value)


def test_console_recording_route_is_for_agents_and_real_recordings(
        make_app: Any, stand_in: tuple[StandIn, str]) -> None:
    app = _hotline(make_app, stand_in)
    with app.extensions["db"].transaction() as session:
        request_id = book(session, "+393331234567", OPEN).request_id
    client = _agent_client(app)
    assert client.get(f"/console/requests/{request_id}/recording.wav").status_code == 404
    assert client.get("/console/requests/999999/recording.wav").status_code == 404


def test_only_recording_paths_under_the_api_base_are_fetched(stand_in: tuple[StandIn, str]
                                                              ) -> None:
    state, base_url = stand_in
    trusted = recordings.trusted_origins({"TWILIO_API_BASE_URL": base_url + "/"})
    account = f"{base_url}/2010-04-01/Accounts/{state.account_sid}"
    for url in (f"{account}/Calls.json", f"{base_url}/_localtwilio/calls",
                f"{account}/Recordings/RE1/../../Calls.json", f"{account}/Recordings/RE1?x=1",
                f"{account}/Recordings/RE1.json"):
        with pytest.raises(recordings.DownloadError) as refused:
            recordings.download(url, state.account_sid, TWILIO_TOKEN, trusted)
        assert not refused.value.retry, url
    assert state.faults.arrived == 0  # nothing was sent
    assert recordings.is_recording_url(f"{account}/Recordings/RE1", trusted)
    assert recordings.is_recording_url(f"{account}/Recordings/RE1.wav", trusted)


def test_a_stand_in_under_a_path_is_trusted_only_below_that_path() -> None:
    trusted = recordings.trusted_origins(
        {"TWILIO_API_BASE_URL": "http://hotline.test/local-twilio"})
    below = "/2010-04-01/Accounts/AC1/Recordings/RE1"
    assert recordings.is_recording_url("http://hotline.test/local-twilio" + below, trusted)
    assert not recordings.is_recording_url("http://hotline.test" + below, trusted)
    assert not recordings.is_recording_url("http://hotline.test/local-twilio-x" + below, trusted)
    # Production (no stand-in configured): Twilio's API only, never the local phone's host.
    production = recordings.trusted_origins({})
    assert production == {"https://api.twilio.com"}
    assert recordings.is_recording_url("https://api.twilio.com" + below, production)
    with pytest.raises(recordings.DownloadError, match="not Twilio's"):
        recordings.download("http://localtwilio.test" + below, "AC1", "token", production)


def test_the_local_phone_trusts_its_own_stand_in(make_app: Any) -> None:
    app = make_app(LOCAL_TELEPHONY=True, PUBLIC_BASE_URL="http://127.0.0.1:5000")
    trusted = recordings.trusted_origins(app.config)
    assert trusted == {"https://api.twilio.com", "http://127.0.0.1:5000/local-twilio"}


def test_what_is_not_audio_is_never_passed_on() -> None:
    from flask import Response

    from localtwilio.server import serve_in_thread

    fake = Flask("not-audio")

    @fake.get("/2010-04-01/Accounts/AC1/Recordings/<sid>")
    def page(sid: str) -> Response:
        return Response("<script>alert(1)</script>", mimetype="text/html")

    base_url, stop = serve_in_thread(fake)
    try:
        trusted = recordings.trusted_origins({"TWILIO_API_BASE_URL": base_url})
        with pytest.raises(recordings.DownloadError, match="not audio") as refused:
            recordings.download(f"{base_url}/2010-04-01/Accounts/AC1/Recordings/RE1", "AC1",
                                "token", trusted)
        assert not refused.value.retry
    finally:
        stop()


def test_the_console_serves_a_recording_as_audio_only(make_app: Any,
                                                      stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    app = _hotline(make_app, stand_in)
    recording = state.recordings.add("CA1", ulaw_to_wav(b"\xff" * 8000), 1)
    with app.extensions["db"].transaction() as session:
        request_id = book(session, "+393331234567", OPEN).request_id
        recordings.attach_recording(
            session, request_id, f"{base_url}/2010-04-01/Accounts/{state.account_sid}"
            f"/Recordings/{recording.sid}", 1, OPEN, app.extensions["jobs"])
    answer = _agent_client(app).get(f"/console/requests/{request_id}/recording.wav")
    assert answer.status_code == 200 and answer.data == recording.wav
    assert answer.mimetype == "audio/x-wav"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
