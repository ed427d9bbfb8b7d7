"""TwiML for callback calls: pure functions of their inputs (URLs come as arguments).

* agent first: the agent's phone answers and is screened ("press 1 to take this call": a
  voicemail never presses 1), then `<Dial>` rings the caller with the hotline's number as
  caller id and answering machine detection on that `<Number>`;
* caller first: the caller answers and hears who is calling and why ("Buongiorno, la
  richiamiamo dal servizio clienti come promesso...") at once, while Twilio's asynchronous
  AMD listens; the agent is dialled with a whisper on their leg (`<Number url>`, the same
  "press 1") so an agent's voicemail is never bridged to the caller. An answering machine
  gets a short message once its greeting ends (DetectMessageEnd), and the request is
  retried.
"""

from __future__ import annotations

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.voices import DEFAULT_SAY_LANGUAGE, DEFAULT_VOICES

TEXT = {
    "it": {
        "agent_intro": "Richiamata per {need}. Colleghiamo la persona.",
        "announce": ("Buongiorno, la richiamiamo dal servizio clienti come promesso, "
                     "per {need}. Resti in linea: le passiamo un operatore."),
        "machine": ("Buongiorno, la richiamiamo dal servizio clienti come promesso. "
                    "Non l'abbiamo trovata: riproveremo più tardi. Non serve richiamare."),
        "not_connected": "La persona non ha risposto. Riproveremo più tardi.",
        "no_agent": ("Ci scusi, in questo momento nessun operatore è libero. "
                     "La richiameremo al più presto."),
        "need": "la sua richiesta",
        "screen": "Richiamata per {need}. Prema 1 per prendere la chiamata.",
        "not_taken": "Chiamata non presa. Arrivederci.",
        "problem": "Ci scusi, c'è un problema tecnico. Riproveremo più tardi.",
    },
    "en": {
        "agent_intro": "Callback about {need}. Connecting you to the caller.",
        "announce": ("Hello, this is customer care calling you back as promised, about "
                     "{need}. Please hold: we are connecting you to an agent."),
        "machine": ("Hello, this is customer care calling you back as promised. We could "
                    "not reach you and will try again later. There is no need to call us."),
        "not_connected": "The caller did not answer. We will try again later.",
        "no_agent": "Sorry, no agent is free right now. We will call you back very soon.",
        "need": "your request",
        "screen": "Callback about {need}. Press 1 to take this call.",
        "not_taken": "Call not taken. Goodbye.",
        "problem": "Sorry, we have a technical problem. We will try again later.",
    },
}


def _text(lang: str) -> dict[str, str]:
    return TEXT.get(lang, TEXT["en"])


def _lang(lang: str) -> str:
    return lang if lang in TEXT else "en"  # the texts' language, said by a voice that speaks it


def _say(response: VoiceResponse, text: str, lang: str) -> None:
    lang = _lang(lang)
    response.say(text, language=DEFAULT_SAY_LANGUAGE[lang], voice=DEFAULT_VOICES[lang])


def _say_then_dial(text: str, lang: str, *, number: str, caller_id: str, timeout: int,
                   action_url: str, **number_options: str) -> VoiceResponse:
    response = VoiceResponse()
    _say(response, text, lang)
    dial = Dial(caller_id=caller_id, timeout=timeout, action=action_url, method="POST")
    dial.number(number, **number_options)
    response.append(dial)
    return response


def _say_then_hang_up(key: str, lang: str) -> VoiceResponse:
    response = VoiceResponse()
    _say(response, _text(lang)[key], lang)
    response.hangup()
    return response


def screen_agent(*, need: str | None, lang: str, action_url: str) -> VoiceResponse:
    """Call screening on the agent's leg: "press 1 to take this call"; a voicemail (or
    nobody) presses nothing and the leg is hung up, so it is never bridged to a caller."""
    words = _text(lang)
    response = VoiceResponse()
    gather = Gather(input="dtmf", num_digits=1, timeout=8, action=action_url, method="POST")
    gather.say(words["screen"].format(need=need or words["need"]),
               language=DEFAULT_SAY_LANGUAGE[_lang(lang)], voice=DEFAULT_VOICES[_lang(lang)])
    response.append(gather)
    _say(response, words["not_taken"], lang)
    response.hangup()
    return response


def screen_passed() -> VoiceResponse:
    """The agent pressed 1 at the whisper: end the whisper, so Twilio bridges the call."""
    return VoiceResponse()


def not_taken(lang: str) -> VoiceResponse:
    """The agent pressed another key: hang up their leg."""
    return _say_then_hang_up("not_taken", lang)


def agent_bridge(*, caller_number: str, caller_id: str, need: str | None, agent_lang: str,
                 ring_timeout: int, action_url: str, amd_url: str) -> VoiceResponse:
    """The agent took the call: tell them who they are calling, then dial the caller with
    answering machine detection (its verdict goes to `amd_url`)."""
    words = _text(agent_lang)
    return _say_then_dial(words["agent_intro"].format(need=need or words["need"]), agent_lang,
                          number=caller_number, caller_id=caller_id, timeout=ring_timeout,
                          action_url=action_url, machine_detection="Enable",
                          amd_status_callback=amd_url, amd_status_callback_method="POST")


def caller_announce(*, agent_number: str, caller_id: str, need: str | None, lang: str,
                    action_url: str, whisper_url: str, agent_timeout: int = 30) -> VoiceResponse:
    """The caller answered: say who is calling and why, then dial the agent, screened by
    the whisper at `whisper_url` on the agent's leg."""
    words = _text(lang)
    return _say_then_dial(words["announce"].format(need=need or words["need"]), lang,
                          number=agent_number, caller_id=caller_id, timeout=agent_timeout,
                          action_url=action_url, url=whisper_url, method="POST")


def machine_message(lang: str) -> VoiceResponse:
    """An answering machine picked up: leave a short message and hang up."""
    return _say_then_hang_up("machine", lang)


def after_dial(lang: str, connected: bool, caller_side: bool) -> VoiceResponse:
    """After the `<Dial>`: nothing to add when connected, else a short explanation."""
    response = VoiceResponse()
    if not connected:
        _say(response, _text(lang)["no_agent" if caller_side else "not_connected"], lang)
    response.hangup()
    return response


def technical_problem(lang: str) -> VoiceResponse:
    """A callback webhook failed: a short apology and hang up (never Twilio's error voice)."""
    return _say_then_hang_up("problem", lang)
