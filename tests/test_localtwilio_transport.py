"""The same call over real HTTP and through a Flask test client gives the same transcript."""

from __future__ import annotations

from localtwilio import FlaskClientTransport, LocalCall, RequestsTransport, SayText, Signer
from localtwilio.server import serve_in_thread
from localtwilio.transport import with_query
from tests.test_localtwilio_runner import CALLER, HOTLINE, TOKEN, make_voice_app


def _run(transport: object, base: str) -> list[str]:
    call = LocalCall(transport, base + "/voice", from_=CALLER, to=HOTLINE,  # type: ignore[arg-type]
                     signer=Signer(TOKEN), status_callback=base + "/voice/status")
    transcript = call.run([SayText("la bolletta")])
    assert all(r.status == 200 for r in transcript.requests)
    return transcript.prompts


def test_requests_and_flask_client_transports_behave_alike() -> None:
    app = make_voice_app()
    in_process = _run(FlaskClientTransport(app.test_client()), "http://hotline.test")
    base_url, stop = serve_in_thread(make_voice_app())
    try:
        over_http = _run(RequestsTransport(), base_url)
    finally:
        stop()
    assert in_process == over_http
    assert in_process[:2] == ["Come posso aiutarla?", "Ha detto: la bolletta"]


def test_unreachable_app_is_reported_as_a_connection_failure() -> None:
    reply = RequestsTransport(timeout=1).request("POST", "http://127.0.0.1:9/voice", {}, {})
    assert reply.status == 599


def test_with_query_keeps_existing_query() -> None:
    assert with_query("http://h.test/a?x=1", {"CallSid": "CA1"}) == \
        "http://h.test/a?x=1&CallSid=CA1"
    assert with_query("http://h.test/a", {}) == "http://h.test/a"
