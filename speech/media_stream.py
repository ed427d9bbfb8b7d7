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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from core.logs import RateLimitedLog
from speech.models import ModelRegistry, ModelUnavailable
from speech.recognizer import ListenSettings, StreamingRecognizer, Utterance

log = logging.getLogger(__name__)

PROMPT_MARK = "prompt-end"
_PLAYBACK_CHUNK = 8000  # one second of mu-law per outbound media message


class ProtocolError(ValueError):
    """A frame that is not a valid Media Streams event."""


class StreamRefused(LookupError):
    """Raised by a plan provider: no call is waiting for this stream (unknown call, another
    step, already answered, ended). The stream is closed and nothing is reported."""


@dataclass(frozen=True)
class ListenPlan:
    """What to listen for on one stream, decided by the flow engine at `start`."""

    lang: str
    phrases: list[str] | None     # None = free-form
    settings: ListenSettings
    prompt_ulaw: bytes | None = None   # optional audio to play over the stream (barge-in)
    # Other languages to hear the same audio in (lang -> phrases), when the call's language
    # is still open: each gets its own recogniser, and the transcript that reads most like
    # its own language (`vocabularies`, see speech.language) is the answer.
    also: Mapping[str, list[str] | None] = field(default_factory=dict)
    vocabularies: Mapping[str, frozenset[str]] | None = None


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
    stream_sid: str = field(default="", compare=False)


@dataclass(frozen=True)
class Mark:
    name: str
    stream_sid: str = field(default="", compare=False)


@dataclass(frozen=True)
class Dtmf:
    digit: str
    stream_sid: str = field(default="", compare=False)


@dataclass(frozen=True)
class Stop:
    call_sid: str
    stream_sid: str = field(default="", compare=False)


Event = Connected | Start | Media | Mark | Dtmf | Stop


# Every field of every frame is checked here, before anything reaches Vosk: Media Streams
# carry 8 kHz mono mu-law only, and a value Kaldi does not expect (a negative sample rate)
# aborts the whole process. Numbers below bound a frame's parts; Twilio's own frames are
# far inside them (a media frame is 160 bytes of audio, about 300 characters of JSON).
MAX_FRAME_CHARS = 16 * 1024        # one JSON text frame (the socket also caps messages)
MAX_MEDIA_BYTES = 1600             # audio in one media frame: 200 ms (Twilio sends 20 ms)
MAX_PARAMETERS = 20                # customParameters entries
MAX_PARAMETER_CHARS = 500          # each customParameters name and value
MAX_NAME_CHARS = 256               # a mark's name
SAMPLE_RATE = 8000
ENCODING = "audio/x-mulaw"
_SID = {prefix: re.compile(prefix + r"[0-9a-fA-F]{32}") for prefix in ("AC", "CA", "MZ")}
_TRACKS = frozenset({"inbound", "outbound"})
_MEDIA_TRACKS = frozenset({"inbound", "outbound", "inbound_track", "outbound_track"})
_DIGITS = frozenset("0123456789*#")


def _section(data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ProtocolError(f"{data.get('event')} event without a {key!r} object")
    return value


def _text(data: dict, key: str, *, limit: int = MAX_NAME_CHARS, optional: bool = False) -> str:
    value = data.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ProtocolError(f"{key} must be a string of at most {limit} characters")
    return value


def _sid(data: dict, key: str, prefix: str, *, optional: bool = False) -> str:
    value = data.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or not _SID[prefix].fullmatch(value):
        raise ProtocolError(f"{key} is not a Twilio {prefix} sid")
    return value


def _counter(data: dict, key: str) -> None:
    """Twilio's counters are decimal strings; absent is allowed, anything else is not."""
    value = data.get(key)
    # 1 to 12 ASCII digits (string methods, not a regex: three of these per media frame)
    if value is not None and not (isinstance(value, str) and 0 < len(value) <= 12
                                  and value.isascii() and value.isdigit()):
        raise ProtocolError(f"{key} must be a decimal string")


def _exact(data: dict, key: str, expected: object) -> None:
    value = data.get(key)
    # bool is an int in Python: `true` must not pass for 1 channel
    if type(value) is not type(expected) or value != expected:
        raise ProtocolError(f"mediaFormat.{key} must be {expected!r}, got {value!r}")


def _parameters(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_PARAMETERS:
        raise ProtocolError(f"customParameters must be an object of at most {MAX_PARAMETERS}")
    for name, item in value.items():
        if not isinstance(item, str) or len(name) > MAX_PARAMETER_CHARS \
                or len(item) > MAX_PARAMETER_CHARS:
            raise ProtocolError("customParameters must map short strings to short strings")
    return dict(value)


def _parse_start(data: dict) -> Start:
    start = _section(data, "start")
    stream_sid = _sid(start, "streamSid", "MZ")
    if data.get("streamSid") not in (None, stream_sid):
        raise ProtocolError("start event names two different streams")
    _sid(start, "accountSid", "AC")
    tracks = start.get("tracks")
    if not isinstance(tracks, list) or not tracks or len(tracks) > len(_TRACKS) \
            or not all(isinstance(t, str) and t in _TRACKS for t in tracks):
        raise ProtocolError("tracks must list inbound and/or outbound")
    media_format = _section(start, "mediaFormat")
    _exact(media_format, "encoding", ENCODING)
    _exact(media_format, "sampleRate", SAMPLE_RATE)
    _exact(media_format, "channels", 1)
    return Start(stream_sid=stream_sid, call_sid=_sid(start, "callSid", "CA"),
                 tracks=list(tracks), custom_parameters=_parameters(start.get("customParameters")),
                 encoding=ENCODING, sample_rate=SAMPLE_RATE)


def _parse_media(data: dict, stream_sid: str) -> Media:
    media = _section(data, "media")
    track = media.get("track", "inbound")
    if track not in _MEDIA_TRACKS:
        raise ProtocolError(f"unknown media track {track!r}")
    _counter(media, "chunk")
    _counter(media, "timestamp")
    encoded = media.get("payload")
    # checked before decoding, so an oversized payload costs nothing
    if not isinstance(encoded, str) or not 0 < len(encoded) <= 4 * -(-MAX_MEDIA_BYTES // 3):
        raise ProtocolError(f"media payload must be base64 of 1 to {MAX_MEDIA_BYTES} bytes")
    try:
        payload = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError("media payload is not valid base64") from exc
    if not payload:
        raise ProtocolError("media payload is empty")
    return Media(track=track, payload=payload, stream_sid=stream_sid)


def parse_event(message: str | bytes) -> Event:
    """Parse one Media Streams text frame; raise ProtocolError for anything else.

    Every field is checked against what Twilio documents and sends (types, sids, the
    8 kHz mono mu-law format, sizes), so nothing malformed reaches the recogniser.
    """
    if isinstance(message, bytes):
        raise ProtocolError("binary frame (Media Streams frames are JSON text)")
    if not isinstance(message, str):
        raise ProtocolError("not a text frame")
    if len(message) > MAX_FRAME_CHARS:
        raise ProtocolError(f"frame of {len(message)} characters (at most {MAX_FRAME_CHARS})")
    try:
        data = json.loads(message)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"invalid JSON: {exc.msg}") from exc
    except RecursionError as exc:  # "[[[[..." nested deeper than the parser's stack
        raise ProtocolError("invalid JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise ProtocolError("frame is not a JSON object")
    kind = data.get("event")
    _counter(data, "sequenceNumber")
    stream_sid = _sid(data, "streamSid", "MZ", optional=True)
    if kind == "connected":
        return Connected(protocol=_text(data, "protocol", optional=True))
    if kind == "start":
        return _parse_start(data)
    if kind == "media":
        return _parse_media(data, stream_sid)
    if kind == "mark":
        return Mark(name=_text(_section(data, "mark"), "name"), stream_sid=stream_sid)
    if kind == "dtmf":
        dtmf = _section(data, "dtmf")
        digit = dtmf.get("digit")
        if not isinstance(digit, str) or len(digit) != 1 or digit not in _DIGITS:
            raise ProtocolError("dtmf digit must be one of 0-9, * and #")
        _text(dtmf, "track", optional=True)
        return Dtmf(digit=digit, stream_sid=stream_sid)
    if kind == "stop":
        stop = _section(data, "stop")
        _sid(stop, "accountSid", "AC", optional=True)
        return Stop(call_sid=_sid(stop, "callSid", "CA", optional=True), stream_sid=stream_sid)
    if not isinstance(kind, str) or len(kind) > 32:
        raise ProtocolError("frame without an event name")
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
    refused: str | None = None  # why the plan provider refused this stream
    _recognizer: StreamingRecognizer | None = field(default=None, repr=False)
    _others: dict[str, StreamingRecognizer] = field(default_factory=dict, repr=False)
    _plan: ListenPlan | None = field(default=None, repr=False)
    _playing: bool = False
    # misplaced frames come 50 a second: a few lines, then one per 10 s with a count
    _event_log: RateLimitedLog = field(
        default_factory=lambda: RateLimitedLog(log, burst=10, interval=10.0), repr=False)

    @property
    def done(self) -> bool:
        """True once the answer is known, the stream ended, or it was refused."""
        return self.result is not None or self.refused is not None

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
        if self.start is not None and getattr(event, "stream_sid", "") not in (
                "", self.start.stream_sid):
            self._event_log.warning("call %s: %s for another stream ignored", self.start.call_sid,
                               type(event).__name__.lower())
            return []
        if isinstance(event, Stop):
            self.hangup()
            return []
        if self._recognizer is None or self.start is None:
            if not isinstance(event, Connected):
                self._event_log.warning("%s before start ignored", type(event).__name__.lower())
            return []
        out: list[str] = []
        if isinstance(event, Media) and event.track in ("inbound", "inbound_track"):
            self._recognizer.accept_ulaw(event.payload)
            for other in self._others.values():
                other.accept_ulaw(event.payload)
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
        self.result = self._best_language(self._recognizer.result)
        return out

    def release(self) -> None:
        """Give back the recognisers (Vosk decoders, grammar graphs) once the answer is
        known. A transport calls this where it may block for milliseconds (its worker
        thread, not an event loop that every other call's frames wait on)."""
        if self.done:
            for recognizer in (self._recognizer, *self._others.values()):
                if recognizer is not None:
                    recognizer.close()
            self._recognizer, self._others = None, {}

    def hangup(self) -> None:
        """The stream stopped or the socket closed: finish with what was heard."""
        if self.done:
            return
        if self._recognizer is not None:
            self.result = self._best_language(self._recognizer.hangup())
        elif self.start is not None:
            self.result = Utterance("", 0.0, [], "hangup")
        elif self.refused is None:
            log.warning("stream ended before start; no call to report to")

    def time_out(self) -> None:
        """No frame for too long: finish with what was heard, reason "timeout"."""
        if self.done:
            return
        if self._recognizer is not None:
            self.result = self._best_language(replace(self._recognizer.hangup(),
                                                      reason="timeout"))
        elif self.start is not None:
            self.result = Utterance("", 0.0, [], "timeout")

    def _listener(self, plan: ListenPlan, lang: str, phrases: list[str] | None,
                  event: Start) -> StreamingRecognizer:
        info = self.registry.info(lang)
        return StreamingRecognizer(
            self.registry.get(lang), phrases=phrases, settings=plan.settings,
            input_rate=event.sample_rate,
            vosk_rate=(event.sample_rate if info.accepts_rate(event.sample_rate)
                       else info.sample_rate),
            prompt_seconds=len(plan.prompt_ulaw or b"") / event.sample_rate,
            pool=self.registry.recognizers)

    def _best_language(self, result: Utterance | None) -> Utterance | None:
        """With recognisers in other languages too: the transcript that reads most like its
        own language (marked with `lang`); the call's own when none does."""
        if result is None or not self._others or self._plan is None or not result.text:
            return result
        from speech.language import best_transcript  # only calls whose language is open

        heard = {self._plan.lang: result}
        for lang, other in self._others.items():
            heard[lang] = other.hangup()
            other.close()
        self._others = {}
        picked = best_transcript({lang: (u.text, u.confidence) for lang, u in heard.items()},
                                 self._plan.vocabularies or {})
        if picked is None:
            return result
        chosen = heard[picked[0]]
        return replace(chosen, lang=picked[0], reason=result.reason,
                       digits=result.digits or chosen.digits)

    def _on_start(self, event: Start) -> list[str]:
        if self.start is not None:
            log.warning("second start event ignored")
            return []
        self.start = event
        try:
            plan = self.plan_provider(event.call_sid, event.custom_parameters)
        except StreamRefused as exc:
            self.refused = str(exc) or "refused"
            return []
        try:
            if event.encoding != "audio/x-mulaw":
                raise ProtocolError(f"unsupported media encoding {event.encoding!r}")
            prompt = plan.prompt_ulaw or b""
            self._recognizer = self._listener(plan, plan.lang, plan.phrases, event)
        except (ModelUnavailable, ProtocolError) as exc:
            log.error("call %s: cannot listen: %s", event.call_sid, exc)
            self.result = Utterance("", 0.0, [], "error")
            return []
        self._plan = plan
        for lang, phrases in plan.also.items():
            try:
                self._others[lang] = self._listener(plan, lang, phrases, event)
            except ModelUnavailable as exc:  # heard in the call's language only
                log.info("call %s: no second recogniser for %s: %s", event.call_sid, lang,
                         exc)
        if not prompt:
            return []
        self._playing = True
        return [*media_messages(event.stream_sid, prompt),
                mark_message(event.stream_sid, PROMPT_MARK)]
