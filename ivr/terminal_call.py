"""Call the hotline from a terminal: `python -m ivr call --say "..." --digits 1 ...`.

Each --say / --audio / --digits / --silence is one turn, in command-line order: words go
to a Gather as SpeechResult or through the Media Stream as espeak-ng speech, --audio sends
a file through the stream. The conversation is printed turn by turn as it happens.

Without --url the hotline runs in this process on the configured database (migrated, and
seeded with the default flows if none is published): webhooks go through Flask's test
client and listening uses Gather, unless an --audio turn needs a real Media Stream, in
which case the app is served on a free local port for the call. With --url the call goes
to a running hotline, signed with TWILIO_AUTH_TOKEN from the environment.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from localtwilio import (
    CallTranscript,
    FlaskClientTransport,
    LocalCall,
    PlayAudio,
    Press,
    RequestsTransport,
    SayText,
    ScriptedCaller,
    Signer,
    Silence,
)
from localtwilio.caller import CallerAction, Listening
from localtwilio.transport import Transport

DEFAULT_FROM = {"it": "+393331234567", "en": "+447400123456"}
VOICES = {"it": "it", "en": "en-gb"}


class PrintingCaller(ScriptedCaller):
    """A scripted caller that prints what it hears and does, as the call goes."""

    def __init__(self, actions: Sequence[CallerAction], out: TextIO) -> None:
        super().__init__(actions)
        self.out = out
        self._answered = False  # this turn's action is taken; wait for the next prompt

    def hear(self, text: str, language: str | None) -> None:
        """Print the hotline's prompt."""
        super().hear(text, language)
        self._answered = False
        self.out.write(f"hotline{f' [{language}]' if language else ''}: {text}\n")
        self.out.flush()

    def next_action(self, listening: Listening) -> CallerAction:
        """Take the next turn and print it; on a stream, one turn per prompt."""
        if listening.kind == "stream" and self._answered:
            return Silence(0.5)  # the line stays open until the hotline has decided
        self._answered = True
        action = super().next_action(listening)
        self.out.write(f"you ({listening.kind}): {describe(action)}\n")
        self.out.flush()
        return action


def describe(action: CallerAction) -> str:
    """One line for a caller action."""
    if isinstance(action, SayText):
        return f'"{action.text}"'
    if isinstance(action, PlayAudio):
        return f"[audio {action.path.name}]"
    if isinstance(action, Press):
        return f"(presses {action.digits})"
    if isinstance(action, Silence):
        return f"(silence {action.seconds:g} s)"
    return "(hangs up)"


class _Turn(argparse.Action):
    """Collects --say/--audio/--digits/--silence into one ordered list of turns."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        turns = list(getattr(namespace, "turns", None) or [])
        turns.append((self.dest, values))
        namespace.turns = turns


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The `call` command's options (added to `parser` when given)."""
    parser = parser or argparse.ArgumentParser(prog="python -m ivr call")
    parser.add_argument("--say", action=_Turn, dest="say", metavar="TEXT",
                        help="say TEXT (one turn; repeatable)")
    parser.add_argument("--audio", action=_Turn, dest="audio", metavar="FILE",
                        help="play a wav file through the media stream (one turn)")
    parser.add_argument("--digits", action=_Turn, dest="digits", metavar="KEYS",
                        help="press keys on the keypad (one turn)")
    parser.add_argument("--silence", action=_Turn, dest="silence", metavar="SECONDS",
                        help="say nothing for a turn")
    parser.add_argument("--from", dest="from_", metavar="NUMBER",
                        help="your number (default: an Italian or UK mobile, per --lang)")
    parser.add_argument("--to", metavar="NUMBER", help="the number called (picks the flow)")
    parser.add_argument("--lang", choices=sorted(DEFAULT_FROM), default="it",
                        help="your language: the default number and the voice of --say")
    parser.add_argument("--url", help="a running hotline, e.g. http://127.0.0.1:5000")
    parser.set_defaults(turns=[])
    return parser


def script(turns: Sequence[tuple[str, str]], lang: str) -> list[CallerAction]:
    """The caller actions for the parsed turns."""
    actions: list[CallerAction] = []
    for kind, value in turns:
        if kind == "say":
            actions.append(SayText(value, voice=VOICES.get(lang, lang)))
        elif kind == "audio":
            actions.append(PlayAudio(Path(value)))
        elif kind == "digits":
            actions.append(Press(value))
        else:
            actions.append(Silence(float(value)))
    return actions


@contextmanager
def local_hotline(config: dict[str, Any], serve: bool) -> Iterator[tuple[Transport, str,
                                                                            dict[str, Any]]]:
    """The hotline in this process: (transport, public base URL, settings)."""
    from werkzeug.serving import make_server

    from app import create_app
    from core.cli import prepare_database
    from ivr.flow_store import import_default_flows, published_version

    server = make_server("127.0.0.1", 0, _not_ready, threaded=True) if serve else None
    if server is not None:
        config = {**config, "PUBLIC_BASE_URL": f"http://127.0.0.1:{server.server_port}"}
    else:
        config = {"SPEECH_INPUT": "gather", **config}  # no socket for a Media Stream
    config.setdefault("LOCAL_TELEPHONY", True)
    app = create_app(config)
    with app.app_context():
        prepare_database(app)
    with app.extensions["db"].transaction() as session:
        if published_version(session, "main") is None:
            import_default_flows(session)
    try:
        if server is None:
            yield FlaskClientTransport(app.test_client()), app.config["PUBLIC_BASE_URL"], \
                dict(app.config)
            return
        server.app = app  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield RequestsTransport(), app.config["PUBLIC_BASE_URL"], dict(app.config)
        finally:
            server.shutdown()
            server.server_close()
    finally:
        app.extensions["jobs"].close()
        app.extensions["db"].dispose()


def _not_ready(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def place(transport: Transport, base_url: str, settings: dict[str, Any],
          actions: Sequence[CallerAction], *, from_: str, to: str | None,
          out: TextIO) -> CallTranscript:
    """One call to the hotline at `base_url`, printed to `out`; returns its transcript."""
    base = base_url.rstrip("/")
    call = LocalCall(transport, base + "/voice/incoming", from_=from_,
                     to=to or settings.get("TWILIO_CALLER_ID") or "+390000000000",
                     signer=Signer(settings["TWILIO_AUTH_TOKEN"]),
                     account_sid=settings["TWILIO_ACCOUNT_SID"],
                     fallback_url=base + "/voice/fallback", status_callback=base + "/voice/status",
                     stream_idle_timeout=8.0)
    transcript = call.run(PrintingCaller(actions, out))
    for turn in transcript.turns:
        if turn.who == "system":
            out.write(f"({turn.text})\n")
    out.write(f"call {transcript.call_sid} ended: {transcript.outcome}"
              f"{f' - {transcript.error}' if transcript.error else ''}\n")
    return transcript


def run(argv: Sequence[str] | None = None, out: TextIO | None = None,
        config: dict[str, Any] | None = None) -> CallTranscript:
    """Parse `argv`, place the call (locally or to --url), print it; return the transcript.

    `config` overrides settings of the in-process hotline (tests pass their database).
    """
    from core.config import load_settings

    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    actions = script(args.turns, args.lang)
    from_ = args.from_ or DEFAULT_FROM[args.lang]
    if args.url:
        settings = load_settings(config)
        return place(RequestsTransport(), args.url, settings, actions, from_=from_, to=args.to,
                     out=out)
    needs_stream = any(isinstance(a, PlayAudio) for a in actions)
    with local_hotline(dict(config or {}), serve=needs_stream) as (transport, base, settings):
        return place(transport, base, settings, actions, from_=from_, to=args.to, out=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m ivr call`; exit status 1 if the call ended in an error."""
    transcript = run(argv)
    return 1 if transcript.outcome == "error" else 0
