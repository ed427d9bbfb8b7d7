"""Pure TwiML builders: the engine describes a reply as verbs, these turn it into TwiML.

Nothing here reads the request, the database or the config: every URL and number is an
argument. Only `twilio.twiml.voice_response` writes XML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from twilio.twiml.voice_response import Connect, Gather, VoiceResponse

from ivr.voices import speaks_ssml


@dataclass(frozen=True)
class Speak:
    """Something the caller hears: text in a language, optionally slower and with a pause."""

    text: str
    language: str  # Twilio's language tag, e.g. "it-IT"
    voice: str | None = None  # None: Twilio's basic `man` (see ivr.voices)
    rate: str | None = None  # SSML prosody rate, e.g. "85%"; only sent to SSML voices
    pause_after: int = 0  # seconds of silence after the sentence


@dataclass(frozen=True)
class Listen:
    """Wait for the caller's answer: Twilio <Gather> or our own recogniser via <Stream>."""

    action: str
    prompts: Sequence[Speak]
    mode: str = "gather"  # "gather" | "stream"
    timeout: int = 5
    language: str = "it-IT"
    hints: Sequence[str] = ()
    num_digits: int | None = 1  # None: any number of digits, ended by finish_on_key
    finish_on_key: str = "#"
    stream_url: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    barge_in: bool = False  # stream mode: the prompts are played over the stream, not <Say>


@dataclass(frozen=True)
class Transfer:
    """Put the caller through to a human with <Dial>; Twilio posts the outcome to action."""

    number: str
    action: str | None
    timeout: int = 30
    caller_id: str | None = None


@dataclass(frozen=True)
class RecordMessage:
    """Record a voice message; Twilio posts the recording's URL to action.

    An empty recording makes Twilio skip the action and run the next verb, so `build`
    follows the <Record> with a <Redirect> to the same action (posted without
    RecordingUrl), as it does after <Gather>.
    """

    action: str
    max_length: int = 90


@dataclass(frozen=True)
class Hangup:
    """End the call."""


Verb = Speak | Listen | Transfer | RecordMessage | Hangup


def _say(parent: VoiceResponse | Gather, item: Speak) -> None:
    if item.rate and speaks_ssml(item.voice):  # basic voices refuse SSML (warning 13513)
        say = parent.say(language=item.language, voice=item.voice)
        say.prosody(item.text, rate=item.rate)
    else:
        parent.say(item.text, language=item.language, voice=item.voice)
    if item.pause_after:
        parent.pause(length=item.pause_after)


def _gather(response: VoiceResponse, item: Listen) -> None:
    options: dict[str, object] = {
        "input": "speech dtmf", "action": item.action, "method": "POST",
        "timeout": item.timeout, "speech_timeout": "auto", "language": item.language,
        "action_on_empty_result": True, "finish_on_key": item.finish_on_key,
    }
    if item.num_digits is not None:
        options["num_digits"] = item.num_digits
    if item.hints:
        options["hints"] = ", ".join(item.hints)
    gather = response.gather(**options)
    for prompt in item.prompts:
        _say(gather, prompt)
    # Reached only if the caller said nothing and actionOnEmptyResult is not honoured.
    response.redirect(item.action, method="POST")


def _stream(response: VoiceResponse, item: Listen) -> None:
    if not item.barge_in:  # with barge-in the listen plan plays the prompts (speech.tts)
        for prompt in item.prompts:
            _say(response, prompt)
    connect = Connect(action=item.action, method="POST")
    stream = connect.stream(url=item.stream_url)
    for name, value in item.parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)


def build(verbs: Sequence[Verb]) -> VoiceResponse:
    """A VoiceResponse doing `verbs` in order."""
    response = VoiceResponse()
    for item in verbs:
        if isinstance(item, Speak):
            _say(response, item)
        elif isinstance(item, Listen):
            (_stream if item.mode == "stream" else _gather)(response, item)
        elif isinstance(item, Transfer):
            dial = response.dial(action=item.action, method="POST" if item.action else None,
                                 timeout=item.timeout, caller_id=item.caller_id)
            dial.number(item.number)
        elif isinstance(item, RecordMessage):
            response.record(action=item.action, method="POST", max_length=item.max_length,
                            play_beep=True, timeout=5)
            # An empty recording (silence, a key only) skips the action URL and goes on
            # with the next verb; without this the call would just end in silence.
            response.redirect(item.action, method="POST")
        elif isinstance(item, Hangup):
            response.hangup()
    return response


def render(verbs: Sequence[Verb]) -> str:
    """TwiML text for `verbs`."""
    return str(build(verbs))


def apology(message: str, language: str, fallback_number: str | None,
            voice: str | None = None) -> str:
    """The reply when something failed: a short apology, then a human (if any) or goodbye."""
    verbs: list[Verb] = [Speak(message, language, voice)]
    if fallback_number:
        verbs.append(Transfer(fallback_number, action=None))
    verbs.append(Hangup())
    return render(verbs)
