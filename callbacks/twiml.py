"""TwiML for callback calls: pure functions of their inputs (URLs come as arguments).

* agent first: the agent's phone answers, hears who they are calling, and `<Dial>` rings
  the caller with the hotline's number as caller id;
* caller first: the caller answers and hears who is calling and why ("Buongiorno, la
  richiamiamo dal servizio clienti come promesso..."), then is connected to the agent;
  an answering machine gets a short message instead, and the request is retried.
"""

from __future__ import annotations

from twilio.twiml.voice_response import Dial, VoiceResponse

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
    },
}


def _text(lang: str) -> dict[str, str]:
    return TEXT.get(lang, TEXT["en"])


def _say(response: VoiceResponse, text: str, lang: str) -> None:
    lang = lang if lang in TEXT else "en"  # the texts' language, said by a voice that speaks it
    response.say(text, language=DEFAULT_SAY_LANGUAGE[lang], voice=DEFAULT_VOICES[lang])


def _say_then_dial(text: str, lang: str, *, number: str, caller_id: str, timeout: int,
                   action_url: str) -> VoiceResponse:
    response = VoiceResponse()
    _say(response, text, lang)
    dial = Dial(caller_id=caller_id, timeout=timeout, action=action_url, method="POST")
    dial.number(number)
    response.append(dial)
    return response


def agent_bridge(*, caller_number: str, caller_id: str, need: str | None, agent_lang: str,
                 ring_timeout: int, action_url: str) -> VoiceResponse:
    """The agent answered: tell them who they are calling, then dial the caller."""
    words = _text(agent_lang)
    return _say_then_dial(words["agent_intro"].format(need=need or words["need"]), agent_lang,
                          number=caller_number, caller_id=caller_id, timeout=ring_timeout,
                          action_url=action_url)


def caller_announce(*, agent_number: str, caller_id: str, need: str | None, lang: str,
                    action_url: str, agent_timeout: int = 30) -> VoiceResponse:
    """The caller answered: say who is calling and why, then connect the agent."""
    words = _text(lang)
    return _say_then_dial(words["announce"].format(need=need or words["need"]), lang,
                          number=agent_number, caller_id=caller_id, timeout=agent_timeout,
                          action_url=action_url)


def machine_message(lang: str) -> VoiceResponse:
    """An answering machine picked up: leave a short message and hang up."""
    response = VoiceResponse()
    _say(response, _text(lang)["machine"], lang)
    response.hangup()
    return response


def after_dial(lang: str, connected: bool, caller_side: bool) -> VoiceResponse:
    """After the `<Dial>`: nothing to add when connected, else a short explanation."""
    response = VoiceResponse()
    if not connected:
        _say(response, _text(lang)["no_agent" if caller_side else "not_connected"], lang)
    response.hangup()
    return response
