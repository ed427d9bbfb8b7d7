"""The flow engine's side of the speech socket: what to listen for, and where answers go.

`speech.ws` (route /media-stream) asks `FlowListenPlans` what to listen for when a stream
starts (and it refuses a stream unless its call is waiting for an answer at that very step:
the upgrade's signature alone can be replayed), and hands the finished `Utterance` to
`StoreUtterance`, which keeps it on the call step in the database. Twilio then posts the
<Connect action> URL and the engine carries on from what was stored, in whichever web
process gets that request. Both run on the socket's
worker thread, without a request: they open their own database transaction.

A caller whose number does not decide the language is heard, until they say their need,
by one recogniser per language of the flow (`ListenPlan.also`); the transcript that reads
most like its own language wins and its language (`heard_in`) decides the call's.

With the flow setting `barge_in`, the TwiML skips the question's `<Say>` and the listen
plan carries the question synthesised by `speech.tts` (slower for callers flagged not
digital), which the socket plays over the stream and clears when the caller speaks. A
server that cannot synthesise (no espeak-ng or sox; `tts_check`) falls back to `<Say>`:
a question the caller cannot interrupt beats a question they never hear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.engine import Answer, CallEngine, EngineOptions, language_of_number
from ivr.flow_store import flow_doc_by_id
from ivr.flowdoc import FlowDoc
from ivr.models import Call, CallEvent
from ivr.walker import EXPECTING, question_text, split_step
from speech import tts
from speech.language import vocabularies
from speech.media_stream import ListenPlan, StreamRefused
from speech.phrases import expected_phrases
from speech.recognizer import ListenSettings, Utterance

log = logging.getLogger(__name__)

NOT_DIGITAL_PATIENCE = 1.7
"""How much longer we wait for callers flagged as not digital (pauses, slower speech)."""
NOT_DIGITAL_FIRST_WORD_PAUSE = 1.2
"""Their wait after a lone first word ("네"), before patience: as long as after a phrase a
longer one may continue, since a slow caller's first word can be heard as a one-word answer
(docs/benchmarks.md, "Issue 14"). Other callers keep the short complete-phrase pause."""


def tts_check(config: Mapping[str, Any]) -> Callable[[], bool]:
    """Whether barge-in prompts can be synthesised: `TTS_AVAILABLE` (a bool or a callable
    handed in through the config, e.g. by tests) or else `speech.tts.available`."""
    given = config.get("TTS_AVAILABLE")
    if given is None:
        return tts.available
    if callable(given):
        return given  # type: ignore[no-any-return]
    return lambda: bool(given)


def _attempt(parameters: dict[str, str]) -> int:
    try:
        return int(parameters.get("attempt", "0"))
    except ValueError:
        return 0


class _NoUrls:
    """Storing an utterance never builds TwiML, so no URLs are needed."""

    def step(self, call_sid: str, step: str, attempt: int) -> str:
        raise RuntimeError("no URLs while storing an utterance")

    def stream(self) -> str:
        raise RuntimeError("no URLs while storing an utterance")


def _check_waiting(session: Session, call: Call, flow: FlowDoc,
                   parameters: dict[str, str]) -> None:
    """Raise StreamRefused unless `call` is waiting, right now, for an answer at the step
    the stream's parameters name, and nothing has answered that step yet."""
    if parameters.get("call") != call.call_sid:
        raise StreamRefused("the stream's parameters name another call")
    if call.state != "active":
        raise StreamRefused("the call has ended")
    step, attempt = parameters.get("step", ""), parameters.get("attempt", "")
    if (step, attempt) != (call.current_step, str(call.attempts)):
        raise StreamRefused(f"the call is not waiting at {step[:64]!r}/{attempt[:8]!r}")
    name, asking = split_step(step)
    if not asking and flow.step(name)["type"] not in EXPECTING:
        raise StreamRefused(f"step {step!r} does not listen")
    answered = session.scalar(select(CallEvent.id).where(
        CallEvent.call_id == call.id, CallEvent.step == step,
        CallEvent.attempt == call.attempts,
        or_(CallEvent.source.is_not(None), CallEvent.response.is_not(None))))
    if answered is not None:
        raise StreamRefused(f"{step!r}/{attempt} is already answered")


class FlowListenPlans:
    """ListenPlanProvider: (call_sid, customParameters) -> ListenPlan for that step."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, call_sid: str, parameters: dict[str, str]) -> ListenPlan:
        """Language, expected phrases and patience for the step the stream was opened for.

        Raises StreamRefused unless the call is waiting for an answer at that step.
        """
        expecting = parameters.get("expecting", "intent")
        with self.app.extensions["db"].transaction() as session:
            call = session.scalar(select(Call).where(Call.call_sid == call_sid))
            if call is None:
                raise StreamRefused("no such call")
            flow = flow_doc_by_id(session, call.flow_version_id)
            _check_waiting(session, call, flow, parameters)
            lang, not_digital = call.language, call.not_digital
            # the caller's number did not decide the language and they have not said their
            # need yet: hear the answer in every language of the flow (speech.language)
            open_language = (expecting == "intent" and call.words is None
                             and len(flow.languages) > 1
                             and language_of_number(flow, call.from_number) is None)
            barge_in = bool(flow.settings.get("barge_in")) and \
                self.app.extensions["speech.tts_available"]()  # as the TwiML decided
            question = (question_text(call, flow, parameters.get("step", ""),
                                      _attempt(parameters),
                                      silent=parameters.get("silent") == "1")
                        if barge_in and parameters.get("step") else None)
        listen_timeout = float(flow.settings["listen_timeout"])
        phrases = expected_phrases(flow.document, lang, expecting)
        settings = ListenSettings(
            no_input_seconds=listen_timeout + 1.0,
            patience=NOT_DIGITAL_PATIENCE if not_digital else 1.0,
            first_word_pause_seconds=NOT_DIGITAL_FIRST_WORD_PAUSE if not_digital else None,
            max_digits=15 if expecting == "phone" else 1,
            digit_timeout_seconds=5.0 if expecting == "phone" else 3.0,
            max_seconds=30.0 if expecting == "phone" or not_digital else 20.0)
        prompt = None
        if question:
            prompt = self._prompt(flow, lang, question, not_digital)
        also: dict[str, list[str] | None] = {}
        vocab = None
        if open_language:
            also = {other: expected_phrases(flow.document, other, expecting) or None
                    for other in flow.languages if other != lang}
            vocab = flow.memo(("vocabularies",), lambda: vocabularies(flow.document))
        return ListenPlan(lang=lang, phrases=phrases or None, settings=settings,
                          prompt_ulaw=prompt, also=also, vocabularies=vocab)

    def _prompt(self, flow: FlowDoc, lang: str, text: str, not_digital: bool) -> bytes | None:
        """The question as stream audio (barge-in); None (silence) if synthesis fails."""
        settings = flow.settings
        rate = settings["not_digital"].get("prosody_rate") if not_digital else None
        try:
            return tts.prompt_ulaw(text, settings["say_language"].get(lang, lang), rate,
                                   cache_dir=self.app.config.get("TTS_CACHE_DIR"))
        except tts.SynthesisError:
            log.exception("barge-in prompt synthesis failed; listening without a prompt")
            return None


class StoreUtterance:
    """ResultSink: keep what the caller said on the call step it answers."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, call_sid: str, parameters: dict[str, str], utterance: Utterance) -> None:
        """Store the utterance under (call, step, attempt) from the stream's parameters."""
        step = parameters.get("step", "")
        attempt = _attempt(parameters)
        extra: dict[str, object] = {
            "alternatives": [[t, c] for t, c in utterance.alternatives][:3],
            "duration": round(utterance.duration_seconds, 2)}
        if utterance.text:  # the recogniser's judgement on its words (speech.hearing)
            extra.update(heard=utterance.heard, doubt=utterance.doubt,
                         coverage=utterance.coverage)
        if utterance.lang:  # recognisers in several languages listened; this one won
            extra["heard_in"] = utterance.lang
        given = Answer(words=utterance.text or None, digits=utterance.digits or None,
                       asr_confidence=utterance.confidence if utterance.text else None,
                       source="dtmf" if utterance.reason == "dtmf" else "vosk", extra=extra)
        app = self.app
        with app.extensions["db"].transaction() as session:
            engine = CallEngine(session, now=app.extensions["clock"].now(), urls=_NoUrls(),
                                options=EngineOptions())
            engine.store_utterance(call_sid, step, attempt, given, utterance.reason)
        log.info("call %s: stored answer for %s/%s (%s)", call_sid, step, attempt,
                 utterance.reason)
