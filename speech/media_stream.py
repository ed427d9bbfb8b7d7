"""Twilio Media Streams: pure event parsing and the logic of one listening stream.

Protocol (https://www.twilio.com/docs/voice/media-streams/websocket-messages): Twilio
sends `connected`, then `start` (callSid, streamSid, tracks, customParameters,
mediaFormat), then `media` frames (base64 8 kHz mu-law, 20 ms each), `mark` when a
played-back audio marker is reached, `dtmf` (bidirectional streams), and `stop`. On a
bidirectional stream (`<Connect><Stream>`) we may send `media` (audio to play), `mark`
(tell me when playback reaches here) and `clear` (drop queued audio: barge-in).

Nothing here touches a socket: `parse_event` turns one text frame into an event object or
raises `ProtocolError`; `StreamSession.handle` takes events and returns the messages to
send back, so the whole conversation can be tested without a network.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from speech.models import ModelRegistry, ModelUnavailable
from speech.recognizer import ListenSettings, StreamingRecognizer, Utterance

log = logging.getLogger(__name__)

PROMPT_MARK = "prompt-end"
_PLAYBACK_CHUNK = 8000  # one second of mu-law per outbound media message


class ProtocolError(ValueError):
    """A frame that is not a valid Media Streams event."""


@dataclass(frozen=True)
class ListenPlan:
    """What to listen for on one stream, decided by the flow engine at `start`."""

    lang: str
    phrases: list[str] | None     # None = free-form
    settings: ListenSettings
    prompt_ulaw: bytes | None = None   # optional audio to play over the stream (barge-in)


@dataclass(frozen=True)
class Connected:
    protocol: str


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    tracks: list[str]
    custom_parameters: dict[str, str]
    encoding: str
    sample_rate: int


@dataclass(frozen=True)
class Media:
    track: str
    payload: bytes


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Stop:
    call_sid: str


Event = Connected | Start | Media | Mark | Dtmf | Stop


def _section(data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ProtocolError(f"{data.get('event')} event without a {key!r} object")
    return value


def parse_event(message: str | bytes) -> Event:
    """Parse one Media Streams text frame; raise ProtocolError for anything else."""
    if isinstance(message, bytes):
        raise ProtocolError("binary frame (Media Streams frames are JSON text)")
    try:
        data = json.loads(message)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("frame is not a JSON object")
    kind = data.get("event")
    if kind == "connected":
        return Connected(protocol=str(data.get("protocol", "")))
    if kind == "start":
        start = _section(data, "start")
        media_format = start.get("mediaFormat") or {}
        params = start.get("customParameters") or {}
        if not start.get("callSid"):
            raise ProtocolError("start event without callSid")
        return Start(
            stream_sid=str(start.get("streamSid") or data.get("streamSid") or ""),
            call_sid=str(start["callSid"]),
            tracks=[str(t) for t in start.get("tracks", ["inbound"])],
            custom_parameters={str(k): str(v) for k, v in params.items()},
            encoding=str(media_format.get("encoding", "audio/x-mulaw")),
            sample_rate=int(media_format.get("sampleRate", 8000)),
        )
    if kind == "media":
        media = _section(data, "media")
        try:
            payload = base64.b64decode(media.get("payload", ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError("media payload is not valid base64") from exc
        return Media(track=str(media.get("track", "inbound")), payload=payload)
    if kind == "mark":
        return Mark(name=str(_section(data, "mark").get("name", "")))
    if kind == "dtmf":
        return Dtmf(digit=str(_section(data, "dtmf").get("digit", "")))
    if kind == "stop":
        return Stop(call_sid=str((data.get("stop") or {}).get("callSid", "")))
    raise ProtocolError(f"unknown event {kind!r}")


def media_messages(stream_sid: str, ulaw: bytes) -> list[str]:
    """Outbound `media` messages that play `ulaw` (8 kHz mu-law) on a bidirectional stream."""
    return [json.dumps({"event": "media", "streamSid": stream_sid,
                        "media": {"payload": base64.b64encode(ulaw[i:i + _PLAYBACK_CHUNK])
                                  .decode("ascii")}})
            for i in range(0, len(ulaw), _PLAYBACK_CHUNK)]


def mark_message(stream_sid: str, name: str) -> str:
    """Outbound `mark`: Twilio echoes it back when playback reaches this point."""
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    """Outbound `clear`: stop playing whatever audio is still queued (barge-in)."""
    return json.dumps({"event": "clear", "streamSid": stream_sid})


PlanProvider = Callable[[str, dict[str, str]], ListenPlan]


@dataclass
class StreamSession:
    """One stream's conversation: start -> listen (with barge-in) -> an Utterance."""

    plan_provider: PlanProvider
    registry: ModelRegistry
    start: Start | None = None
    result: Utterance | None = None
    _recognizer: StreamingRecognizer | None = field(default=None, repr=False)
    _playing: bool = False

    @property
    def done(self) -> bool:
        """True once the answer is known (or the stream ended)."""
        return self.result is not None

    @property
    def partial_text(self) -> str:
        """The words recognised so far while listening ("" before start or nothing yet)."""
        return self._recognizer.partial_text if self._recognizer is not None else ""

    def handle(self, event: Event) -> list[str]:
        """Apply one event; return the messages to send back to Twilio."""
        if self.done:
            return []
        if isinstance(event, Start):
            return self._on_start(event)
        if isinstance(event, Stop):
            self.hangup()
            return []
        if self._recognizer is None or self.start is None:
            if not isinstance(event, Connected):
                log.warning("%s before start ignored", type(event).__name__.lower())
            return []
        out: list[str] = []
        if isinstance(event, Media) and event.track in ("inbound", "inbound_track"):
            self._recognizer.accept_ulaw(event.payload)
            if self._recognizer.speech_started and self._playing:
                out.append(clear_message(self.start.stream_sid))
                self._playing = False
        elif isinstance(event, Dtmf) and event.digit:
            if self._playing:
                out.append(clear_message(self.start.stream_sid))
                self._playing = False
            self._recognizer.add_digit(event.digit)
        elif isinstance(event, Mark) and event.name == PROMPT_MARK:
            self._playing = False
            self._recognizer.prompt_finished()
        self.result = self._recognizer.result
        return out

    def hangup(self) -> None:
        """The stream stopped or the socket closed: finish with what was heard."""
        if self.done:
            return
        if self._recognizer is not None:
            self.result = self._recognizer.hangup()
        elif self.start is not None:
            self.result = Utterance("", 0.0, [], "hangup")
        else:
            log.warning("stream ended before start; no call to report to")

    def _on_start(self, event: Start) -> list[str]:
        if self.start is not None:
            log.warning("second start event ignored")
            return []
        self.start = event
        try:
            plan = self.plan_provider(event.call_sid, event.custom_parameters)
            if event.encoding != "audio/x-mulaw":
                raise ProtocolError(f"unsupported media encoding {event.encoding!r}")
            model = self.registry.get(plan.lang)
            info = self.registry.info(plan.lang)
            prompt = plan.prompt_ulaw or b""
            self._recognizer = StreamingRecognizer(
                model, phrases=plan.phrases, settings=plan.settings,
                input_rate=event.sample_rate,
                vosk_rate=(event.sample_rate if info.accepts_rate(event.sample_rate)
                           else info.sample_rate),
                prompt_seconds=len(prompt) / event.sample_rate)
        except (ModelUnavailable, ProtocolError) as exc:
            log.error("call %s: cannot listen: %s", event.call_sid, exc)
            self.result = Utterance("", 0.0, [], "error")
            return []
        if not prompt:
            return []
        self._playing = True
        return [*media_messages(event.stream_sid, prompt),
                mark_message(event.stream_sid, PROMPT_MARK)]
