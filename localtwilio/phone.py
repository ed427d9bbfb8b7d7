"""The local phone: call the hotline from a browser page, and take its calls there.

Mounted by `init_app(app, csrf)` when LOCAL_TELEPHONY is on (the embedded default):

- `GET /phone`: the phone page (keypad, microphone, speaker, live transcript);
- `/phone/socket`: a WebSocket between the page and a server-side `LocalCall` whose caller
  is the page (`PhoneLine`). The call runs the app's TwiML as Twilio does: signed webhooks
  to the public URL, and the microphone into the app's own `/media-stream`;
- `/local-twilio/...`: the REST stand-in (`create_stand_in`), with the app's Twilio client
  pointed at it, so outbound calls ("Call now") ring a page that registered their number,
  and so does a `<Dial><Number>` in their TwiML (`phone_bridge`). "Call now" is agent
  first: the agent's leg rings the agent's number (their own, else CALLBACK_AGENT_NUMBER,
  which defaults here to LOCAL_AGENT_NUMBER); with no page registered for it the
  stand-in's simulated callee answers, and its TwiML then dials the caller's page.

Socket protocol, JSON text frames. Page -> server: `register {number}`, `dial {from, to}`,
`answer`, `decline`, `played {id}`, `audio {payload: base64 8 kHz mu-law, 20 ms}`,
`digits {digits}`, `say {text}`, `hangup`. Server -> page: `registered {number}`,
`incoming {call_sid, from, to}`, `connected {call_sid, direction}`, `prompt {id, text,
language, audio}`, `listening {kind, inputs, language}`, `partial {text}` (the words
recognised so far, live), `recognised {text, digits, confidence, reason}`, `stream_audio
{audio}` (a question the app plays over the Media Stream with barge-in: base64 8 kHz
mu-law, to play at once, microphone open), `stream_clear` (the app cleared it: stop
playing), `bridged {to}` (this page's call dialled another page, which answered),
`remote {text}` (words the other page typed while bridged), `remote_audio {audio}` (the
other page's microphone while bridged: one frame of base64 8 kHz mu-law, to play at once),
`ended {outcome, transferred_to, duration}`, `error {message}`.

While bridged (`bridged` on the page that dialled, `connected` with direction
`outbound-dial` on the page that answered) a page streams its microphone as `audio` frames
whether or not the app listens; the bridge relays them (`localtwilio.phone_bridge`).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, render_template, request, url_for
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from localtwilio.phone_directory import Hotline, PhoneDirectory, valid_number
from localtwilio.phone_driver import PhoneCallDriver
from localtwilio.phone_line import PhoneLine
from localtwilio.rest import create_stand_in

log = logging.getLogger(__name__)
STAND_IN_PREFIX = "/local-twilio"
LOCAL_AGENT_NUMBER = "+390000000001"  # agents without a phone: the stand-in's simulated callee
SCRIPT_TEXT_PREFIX = "phone.js."  # catalog keys the page's script needs
bp = Blueprint("phone", __name__, url_prefix="/phone", template_folder="templates",
               static_folder="static/phone", static_url_path="/static")
sock = Sock()


def _directory() -> PhoneDirectory:
    directory: PhoneDirectory = current_app.extensions["localtwilio.phones"]
    return directory


@bp.get("")
def page() -> str:
    """The phone page: dial the hotline, talk, press keys; answer calls to your number."""
    config = current_app.config
    return render_template("phone/phone.html", hotline=config["TWILIO_CALLER_ID"],
                           socket_path=urlsplit(url_for("phone.socket")).path,
                           worklet=url_for("phone.static", filename="mic-worklet.js"),
                           page_text=script_text(current_app.extensions["i18n"],
                                                 g.get("lang") or "it"))


def script_text(catalogs: dict[str, dict[str, str]], lang: str) -> dict[str, str]:
    """The page script's words in `lang` ("phone.js.ready" -> "ready"), English as fallback."""
    english, chosen = catalogs["en"], catalogs.get(lang, {})
    return {key[len(SCRIPT_TEXT_PREFIX):]: chosen.get(key) or text
            for key, text in english.items() if key.startswith(SCRIPT_TEXT_PREFIX)}


@sock.route("/socket", bp=bp)
def socket(ws: Any) -> None:
    """WebSocket: one page, its calls (one at a time) and its registered number."""
    directory = _directory()
    line = PhoneLine(lambda message: ws.send(json.dumps(message)))
    try:
        while True:
            raw = ws.receive()
            try:
                message = json.loads(raw)
            except (TypeError, ValueError):
                continue
            if isinstance(message, dict):
                _handle(directory, line, message)
    except ConnectionClosed:
        pass
    finally:
        line.close()
        directory.unregister(line)


def _handle(directory: PhoneDirectory, line: PhoneLine, message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind == "register":
        number = valid_number(message.get("number"))
        if number is None:
            line.send({"type": "error", "message": "invalid number"})
            return
        directory.register(number, line)
        line.send({"type": "registered", "number": number})
    elif kind == "dial":
        from_ = valid_number(message.get("from"))
        to = valid_number(message.get("to")) if message.get("to") else None
        if line.call_sid is not None:
            line.send({"type": "error", "message": "already on a call"})
        elif from_ is None or (message.get("to") and to is None):
            line.send({"type": "error", "message": "invalid number"})
        else:
            directory.dial(line, from_, to)
    elif kind == "hangup":
        line.hang_up()
    else:  # answer, decline, played, audio, digits, say: the call's thread takes them
        line.inbox.put(message)


def _hotline(app: Flask) -> Hotline:
    base = app.config["PUBLIC_BASE_URL"]
    with app.test_request_context():
        paths = [url_for(name) for name in ("voice.incoming", "voice.status", "voice.fallback")]
    return Hotline(voice_url=base + paths[0], status_url=base + paths[1],
                   fallback_url=base + paths[2], number=app.config["TWILIO_CALLER_ID"],
                   account_sid=app.config["TWILIO_ACCOUNT_SID"],
                   auth_token=app.config["TWILIO_AUTH_TOKEN"])


def _console_login_required(app: Flask) -> Response | None:
    """The stand-in's inspection routes: 401 unless the request has a console session."""
    from core.auth import load_user

    with app.request_context(request.environ):  # the hotline's own session cookie
        load_user()
        user = g.get("user")
        allowed = user is not None and user.has_role("agent")  # agents and admins
    if allowed:
        return None
    return Response("sign in to the console first\n", 401, mimetype="text/plain")


def _mount_stand_in(app: Flask, directory: PhoneDirectory) -> None:
    """Serve the REST stand-in under /local-twilio and point the app's Twilio client at it."""
    from core.config import TWILIO_DEFAULT_API_BASE
    from core.twilio_client import make_twilio_client

    config = app.config
    stand_in = create_stand_in(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
                               transport=directory.transport,
                               base_url=config["PUBLIC_BASE_URL"] + STAND_IN_PREFIX,
                               inspection_guard=lambda: _console_login_required(app))
    state = stand_in.extensions["localtwilio"]
    state.driver_factory = lambda s, call: PhoneCallDriver(s, call, directory)
    # Messages recorded on the local phone are served like Twilio's, to the account only.
    state.recordings_need_auth = True
    directory.recordings, directory.recording_base_url = state.recordings, state.base_url
    app.extensions["localtwilio.stand_in"] = state
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app,  # type: ignore[method-assign]
                                        {STAND_IN_PREFIX: stand_in})
    if config.get("TWILIO_CLIENT") is None and \
            config["TWILIO_API_BASE_URL"] == TWILIO_DEFAULT_API_BASE:
        config["TWILIO_API_BASE_URL"] = config["PUBLIC_BASE_URL"] + STAND_IN_PREFIX
        app.extensions["twilio"] = make_twilio_client(
            config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
            config["TWILIO_API_BASE_URL"])


def init_app(app: Flask, csrf: Any = None) -> None:
    """Register the phone page and socket, relay recognition results, mount the stand-in.

    Final results reach the page through the wrapped `speech.result_sink`, partial ones
    through `speech.partial_sink` (set here unless the app already has one).

    Call it after the ivr package (it wraps the speech result sink ivr installs).
    """
    directory = PhoneDirectory(_hotline(app))
    app.extensions["localtwilio.phones"] = directory
    sink = app.extensions.get("speech.result_sink")
    if sink is not None:
        app.extensions["speech.result_sink"] = directory.wrap_sink(sink)
    app.extensions.setdefault("speech.partial_sink", directory.partial)
    app.register_blueprint(bp)
    if csrf is not None:
        csrf.exempt(bp)
    _mount_stand_in(app, directory)
    app.config.setdefault("CONSOLE_LINKS", []).append(("phone.page", "nav.phone", "agent"))
    if not app.config.get("CALLBACK_AGENT_NUMBER"):
        # "Call now" (agent first) rings the agent before the caller: an agent with no
        # phone number of their own gets this one, answered by the stand-in's simulated
        # callee, or by a /phone page registered with it.
        app.config["CALLBACK_AGENT_NUMBER"] = LOCAL_AGENT_NUMBER
    log.info("local phone on %s/phone (Twilio REST stand-in at %s)",
             app.config["PUBLIC_BASE_URL"], STAND_IN_PREFIX)
