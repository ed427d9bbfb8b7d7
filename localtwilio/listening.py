"""The verbs that play to the caller or wait for them: Say/Play/Pause, Gather, Record, Streams.

Functions here take the running `LocalCall` and return the next document to fetch
(`Goto`) or None to go on with the next verb, following Twilio's documented behaviour:
a Gather with no input falls through to the next verb (unless actionOnEmptyResult), an
empty Record does too, and a Connect/Stream continues with its action when the server
closes the socket. Audio the server plays over a stream takes its real duration and can be
cut off by `clear` (see localtwilio.stream); a caller with a `hear_stream(kind, audio)`
method (the phone page) hears it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import websocket

from localtwilio import voices
from localtwilio.audio import file_ulaw, speak_ulaw, ulaw_seconds, ulaw_to_wav, wav_seconds
from localtwilio.caller import (
    CallerAction,
    HangUp,
    Hold,
    Listening,
    LiveAudio,
    PlayAudio,
    Press,
    SayText,
    Silence,
)
from localtwilio.stream import MediaStreamClient
from localtwilio.transcript import Turn
from localtwilio.twiml import Connect, Gather, Pause, Play, Record, Say, Start

if TYPE_CHECKING:
    from localtwilio.runner import Goto, LocalCall

WORDS_PER_SECOND = 2.5


def _speech_seconds(text: str) -> float:
    return max(1.0, len(text.split()) / WORDS_PER_SECOND)


def play(call: LocalCall, verb: Say | Play | Pause) -> None:
    """Say/Play/Pause: the caller hears it; the simulated clock moves on."""
    if isinstance(verb, Say):
        spoken = voices.speak(verb.voice, verb.language, verb.rate, verb.ssml)
        for notice in spoken.notices:
            call.notice(notice)
        if not spoken.heard:  # Twilio fails the <Say> and goes on with the next verb
            call.add_turn("system", f"(<Say> failed: {spoken.notices[0].message})",
                          verb.language, "Say")
            return
        call.transcript.turns.append(Turn("app", verb.text, verb.language, "Say",
                                          verb.voice or "man", spoken.rate))
        call.caller.hear(verb.text, verb.language)
        call.elapsed += _speech_seconds(verb.text) * max(verb.loop, 1)
    elif isinstance(verb, Play):
        call.add_turn("app", verb.url or f"(digits {verb.digits})", None, "Play")
        call.caller.hear(f"[audio {verb.url}]", None)
        call.elapsed += 3.0 * max(verb.loop, 1)
    else:
        call.elapsed += verb.length
        if call.realtime:
            time.sleep(verb.length)


def _goto(url: str, method: str, params: dict[str, str]) -> Goto:
    from localtwilio.runner import Goto
    return Goto(url, method, params, "action")


def _hold(call: LocalCall, action: Hold) -> None:
    call.wait_for_interrupt(action.seconds)
    call.elapsed += action.seconds


def gather(call: LocalCall, verb: Gather, doc_url: str) -> Goto | None:
    """Play the nested prompts, take the caller's input, POST it to the action URL."""
    for child in verb.children:
        play(call, child)
    action = call.listen(Listening("gather", verb.input, verb.language, verb.hints))
    params: dict[str, str] = {}
    if isinstance(action, HangUp):
        call.caller_hung_up()
    if isinstance(action, SayText | PlayAudio):
        text = action.text if isinstance(action, SayText) else action.transcript
        label = text if text is not None else f"[audio {action.path.name}]"  # type: ignore[union-attr]
        call.add_turn("caller", label, verb.language, "Gather")
        call.elapsed += _speech_seconds(label) + 1
        if "speech" in verb.input and text:
            params = {"SpeechResult": text, "Confidence": f"{action.confidence:.6f}"}
    elif isinstance(action, Press):
        call.add_turn("caller", f"(presses {action.digits})", None, "Gather")
        call.elapsed += 0.3 * len(action.digits) + 1
        if "dtmf" in verb.input:
            params = _digits(verb, action.digits)
    elif isinstance(action, Silence):
        call.add_turn("caller", "(silence)", None, "Gather")
        call.elapsed += verb.timeout
    elif isinstance(action, Hold):
        call.add_turn("caller", "(on hold)", None, "Gather")
        _hold(call, action)
    if params or verb.action_on_empty_result:
        return _goto(call.resolve(doc_url, verb.action), verb.method, params)
    return None


def _digits(verb: Gather, pressed: str) -> dict[str, str]:
    finished = ""
    digits = pressed
    for index, key in enumerate(pressed):
        if verb.num_digits and index >= verb.num_digits:
            break
        if verb.finish_on_key and key in verb.finish_on_key:
            finished, digits = key, pressed[:index]
            break
    if verb.num_digits:
        digits = digits[:verb.num_digits]
    if not digits and not finished:
        return {}
    return {"Digits": digits, "FinishedOnKey": finished}


def _recorded_wav(action: CallerAction) -> bytes | None:
    if isinstance(action, SayText):
        return ulaw_to_wav(speak_ulaw(action.text, action.voice))
    if isinstance(action, PlayAudio):
        if action.path.suffix.lower() == ".wav":
            return action.path.read_bytes()
        return ulaw_to_wav(file_ulaw(action.path))
    return None


def record(call: LocalCall, verb: Record, doc_url: str) -> Goto | None:
    """Record the caller; POST RecordingUrl/RecordingSid/RecordingDuration to the action."""
    if verb.play_beep:
        call.add_turn("system", "(beep)", verb="Record")
    action = call.listen(Listening("record", frozenset({"speech", "dtmf"})))
    if isinstance(action, HangUp):
        call.caller_hung_up()
    wav = _recorded_wav(action)
    if wav is None:  # silence, keys only, or hold: an empty recording, no action request
        call.add_turn("caller", "(records nothing)", verb="Record")
        call.elapsed += verb.timeout
        return None
    seconds = min(wav_seconds(wav), float(verb.max_length))
    call.elapsed += seconds
    recording = call.recordings.add(call.call_sid, wav, max(1, round(seconds)))
    call.add_turn("caller", f"[recording {recording.sid}, {recording.duration} s]",
                  verb="Record")
    url = (f"{call.recording_base_url}/2010-04-01/Accounts/{call.account_sid}"
           f"/Recordings/{recording.sid}")
    params = {"RecordingUrl": url, "RecordingSid": recording.sid,
              "RecordingDuration": str(recording.duration)}
    return _goto(call.resolve(doc_url, verb.action), verb.method, params)


def _open_stream(call: LocalCall, verb: Connect | Start) -> MediaStreamClient | None:
    assert verb.stream is not None
    client = MediaStreamClient(verb.stream, account_sid=call.account_sid,
                               call_sid=call.call_sid, signer=call.signer,
                               realtime=call.realtime)
    client.listener = getattr(call.caller, "hear_stream", None)  # a page plays the audio
    try:
        client.open()
    except (OSError, websocket.WebSocketException) as exc:
        call.add_turn("system", f"stream to {verb.stream.url} failed: {exc}", verb="Stream")
        return None
    call.add_turn("system", f"stream {client.stream_sid} open to {verb.stream.url}",
                  verb="Stream")
    return client


def _converse(call: LocalCall, client: MediaStreamClient) -> bool:
    """Feed caller actions into the stream until the server closes; True if caller hung up."""
    while not client.closed.is_set():
        if not call.caller.has_more():
            if client.wait_closed(call.stream_idle_timeout):
                return False
            client.hang_up()
            return True
        action = call.caller.next_action(Listening("stream", frozenset({"speech", "dtmf"})))
        if isinstance(action, HangUp):
            client.hang_up()
            return True
        if isinstance(action, SayText):
            call.add_turn("caller", action.text, None, "Stream")
            audio = speak_ulaw(action.text, action.voice)
            client.send_audio(audio)
            call.elapsed += ulaw_seconds(audio)
        elif isinstance(action, PlayAudio):
            call.add_turn("caller", f"[audio {action.path.name}]", None, "Stream")
            audio = file_ulaw(action.path)
            client.send_audio(audio)
            call.elapsed += ulaw_seconds(audio)
        elif isinstance(action, Press):
            call.add_turn("caller", f"(presses {action.digits})", None, "Stream")
            client.send_dtmf(action.digits)
        elif isinstance(action, LiveAudio):  # a microphone: frames go on as they come
            client.send_audio(action.ulaw)
            call.elapsed += ulaw_seconds(action.ulaw)
        elif isinstance(action, Silence | Hold):
            client.wait_closed(action.seconds)
            call.elapsed += action.seconds
    return False


def connect(call: LocalCall, verb: Connect, doc_url: str) -> Goto | None:
    """<Connect><Stream>: a bidirectional stream; afterwards the action or the next verb."""
    if verb.stream is None or verb.unsupported:
        call.add_turn("system", f"<Connect><{verb.unsupported}> is not supported", verb="Connect")
        return _goto(call.resolve(doc_url, verb.action), verb.method, {}) if verb.action else None
    client = _open_stream(call, verb)
    if client is not None:
        hung_up = _converse(call, client)
        _collect(call, client)
        if hung_up:
            call.caller_hung_up()
    if verb.action:
        return _goto(call.resolve(doc_url, verb.action), verb.method, {})
    return None


def _collect(call: LocalCall, client: MediaStreamClient) -> None:
    call.transcript.stream_events.extend(client.received)
    if client.audio_from_server:
        ms, played = len(client.audio_from_server) // 8, len(client.audio_played) // 8
        text = (f"[streamed audio {ms} ms]" if not client.clear_times
                else f"[streamed audio {played} of {ms} ms, cut off by clear]")
        call.add_turn("app", text, None, "Stream")


def start_fork(call: LocalCall, verb: Start) -> None:
    """<Start><Stream>: open a forked stream that hears the caller for the rest of the call."""
    client = _open_stream(call, verb)
    if client is not None:
        call.forks[verb.stream.name or client.stream_sid] = client


def stop_forks(call: LocalCall, name: str | None) -> None:
    """<Stop><Stream> (or the end of the call): send `stop` and close forked streams."""
    for key in [k for k in call.forks if name is None or k == name]:
        client = call.forks.pop(key)
        client.hang_up()
        _collect(call, client)


def mirror_to_forks(call: LocalCall, action: CallerAction) -> None:
    """Forked streams hear what the caller says or presses during Gather/Record."""
    for client in call.forks.values():
        if isinstance(action, SayText):
            client.send_audio(speak_ulaw(action.text, action.voice))
        elif isinstance(action, PlayAudio):
            client.send_audio(file_ulaw(action.path))
        elif isinstance(action, Press):
            client.send_dtmf(action.digits)
