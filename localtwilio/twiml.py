"""Parse a TwiML voice document into verb objects the runner executes.

Attribute names, defaults and nesting follow Twilio's TwiML voice reference. Verbs we
know but do not simulate (Enqueue, Leave, Conference, ...) come back as `Unsupported`;
anything that is not TwiML at all raises `TwimlError` (Twilio's error 12100/12200).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

UNSUPPORTED_VERBS = {"Enqueue", "Leave", "Sms", "Echo", "Refer", "Pay", "Prompt", "Queue"}
DOCUMENT_PARSE_FAILURE = 12100
SCHEMA_VALIDATION_ERROR = 12200


class TwimlError(ValueError):
    """The document is not valid TwiML; `code` is Twilio's error code."""

    def __init__(self, message: str, code: int = SCHEMA_VALIDATION_ERROR) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None
    language: str = "en-US"
    loop: int = 1
    rate: str | None = None  # <prosody rate> inside, if any
    ssml: tuple[str, ...] = ()  # the SSML elements inside (prosody, break, ...)


@dataclass(frozen=True)
class Play:
    url: str
    loop: int = 1
    digits: str | None = None


@dataclass(frozen=True)
class Pause:
    length: int = 1


@dataclass(frozen=True)
class Gather:
    input: frozenset[str] = frozenset({"dtmf"})
    action: str | None = None
    method: str = "POST"
    timeout: int = 5
    speech_timeout: str | None = None
    num_digits: int | None = None
    finish_on_key: str = "#"
    language: str = "en-US"
    hints: tuple[str, ...] = ()
    action_on_empty_result: bool = False
    children: tuple[Say | Play | Pause, ...] = ()


@dataclass(frozen=True)
class Record:
    action: str | None = None
    method: str = "POST"
    max_length: int = 3600
    timeout: int = 5
    play_beep: bool = True
    transcribe: bool = False
    finish_on_key: str = "1234567890*#"


@dataclass(frozen=True)
class DialTarget:
    kind: str  # number | client | sip
    value: str
    url: str | None = None
    status_callback: str | None = None
    status_callback_event: tuple[str, ...] = ()
    send_digits: str | None = None
    method: str = "POST"  # of `url`, the whisper/screening TwiML run on the dialled party
    machine_detection: str | None = None  # Enable | DetectMessageEnd
    amd_status_callback: str | None = None


@dataclass(frozen=True)
class Dial:
    targets: tuple[DialTarget, ...]
    action: str | None = None
    method: str = "POST"
    timeout: int = 30
    caller_id: str | None = None
    record: str = "do-not-record"
    unsupported: str | None = None  # a noun we do not simulate (Conference, Queue)


@dataclass(frozen=True)
class Redirect:
    url: str
    method: str = "POST"


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Reject:
    reason: str = "rejected"


@dataclass(frozen=True)
class Stream:
    url: str
    name: str | None = None
    track: str = "inbound_track"
    parameters: dict[str, str] = field(default_factory=dict)
    status_callback: str | None = None


@dataclass(frozen=True)
class Connect:
    stream: Stream | None
    action: str | None = None
    method: str = "POST"
    unsupported: str | None = None  # Room, Conversation, VirtualAgent...


@dataclass(frozen=True)
class Start:
    stream: Stream


@dataclass(frozen=True)
class StopStream:
    name: str | None = None


@dataclass(frozen=True)
class Unsupported:
    name: str


Verb = (Say | Play | Pause | Gather | Record | Dial | Redirect | Hangup | Reject | Connect
        | Start | StopStream | Unsupported)


def _bool(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() == "true"


def _int(value: str | None, default: int) -> int:
    try:
        return default if value is None or value == "" else int(value)
    except ValueError as exc:
        raise TwimlError(f"expected an integer, got {value!r}") from exc


def _text(el: ET.Element) -> str:
    return (el.text or "").strip()


def _say(el: ET.Element) -> Say:
    text = " ".join("".join(el.itertext()).split())  # the words, SSML tags left out
    ssml = tuple(dict.fromkeys(child.tag for child in el.iter() if child is not el))
    prosody = el.find(".//prosody")
    rate = prosody.get("rate") if prosody is not None else None
    return Say(text, el.get("voice"), el.get("language", "en-US"), _int(el.get("loop"), 1),
               rate, ssml)


def _nested(el: ET.Element) -> Say | Play | Pause:
    if el.tag == "Say":
        return _say(el)
    if el.tag == "Play":
        return Play(_text(el), _int(el.get("loop"), 1), el.get("digits"))
    if el.tag == "Pause":
        return Pause(_int(el.get("length"), 1))
    raise TwimlError(f"<{el.tag}> cannot be nested in <Gather>")


def _gather(el: ET.Element) -> Gather:
    timeout = _int(el.get("timeout"), 5)
    num = el.get("numDigits")
    return Gather(
        input=frozenset(el.get("input", "dtmf").split()),
        action=el.get("action"), method=el.get("method", "POST").upper(), timeout=timeout,
        speech_timeout=el.get("speechTimeout"),
        num_digits=_int(num, 0) if num else None,
        finish_on_key=el.get("finishOnKey", "#"), language=el.get("language", "en-US"),
        hints=tuple(h.strip() for h in el.get("hints", "").split(",") if h.strip()),
        action_on_empty_result=_bool(el.get("actionOnEmptyResult"), False),
        children=tuple(_nested(child) for child in el))


def _dial(el: ET.Element) -> Dial:
    targets: list[DialTarget] = []
    unsupported = None
    for child in el:
        if child.tag in {"Number", "Client", "Sip"}:
            targets.append(DialTarget(
                child.tag.lower(), _text(child) or child.get("identity", ""), child.get("url"),
                child.get("statusCallback"),
                tuple(child.get("statusCallbackEvent", "").split()), child.get("sendDigits"),
                child.get("method", "POST").upper(), child.get("machineDetection"),
                child.get("amdStatusCallback")))
        else:
            unsupported = child.tag
    if not targets and _text(el):
        targets.append(DialTarget("number", _text(el)))
    if not targets and unsupported is None:
        raise TwimlError("<Dial> has nothing to dial")
    return Dial(tuple(targets), el.get("action"), el.get("method", "POST").upper(),
                _int(el.get("timeout"), 30), el.get("callerId"),
                el.get("record", "do-not-record"), unsupported)


def _stream(el: ET.Element) -> Stream:
    url = el.get("url")
    if not url:
        raise TwimlError("<Stream> needs a url")
    params = {p.get("name", ""): p.get("value", "") for p in el if p.tag == "Parameter"}
    return Stream(url, el.get("name"), el.get("track", "inbound_track"), params,
                  el.get("statusCallback"))


def _connect(el: ET.Element) -> Connect:
    children = list(el)
    stream = next((_stream(c) for c in children if c.tag == "Stream"), None)
    other = next((c.tag for c in children if c.tag != "Stream"), None)
    if stream is None and other is None:
        raise TwimlError("<Connect> needs a noun")
    return Connect(stream, el.get("action"), el.get("method", "POST").upper(), other)


def _verb(el: ET.Element) -> Verb:
    tag = el.tag
    if tag in {"Say", "Play", "Pause"}:
        return _nested(el)
    if tag == "Gather":
        return _gather(el)
    if tag == "Record":
        return Record(el.get("action"), el.get("method", "POST").upper(),
                      _int(el.get("maxLength"), 3600), _int(el.get("timeout"), 5),
                      _bool(el.get("playBeep"), True), _bool(el.get("transcribe"), False),
                      el.get("finishOnKey", "1234567890*#"))
    if tag == "Dial":
        return _dial(el)
    if tag == "Redirect":
        return Redirect(_text(el), el.get("method", "POST").upper())
    if tag == "Hangup":
        return Hangup()
    if tag == "Reject":
        return Reject(el.get("reason", "rejected"))
    if tag == "Connect":
        return _connect(el)
    if tag in {"Start", "Stop"}:
        streams = [c for c in el if c.tag == "Stream"]
        if not streams:
            return Unsupported(f"{tag} without Stream")
        return StopStream(streams[0].get("name")) if tag == "Stop" else Start(_stream(streams[0]))
    if tag in UNSUPPORTED_VERBS:
        return Unsupported(tag)
    raise TwimlError(f"unknown TwiML verb <{tag}>")


def parse_twiml(document: str | bytes) -> list[Verb]:
    """The verbs of a TwiML `<Response>` document, in order."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}", DOCUMENT_PARSE_FAILURE) from exc
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, expected <Response>")
    return [_verb(el) for el in root]
