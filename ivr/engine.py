"""The call state machine: start a call, take each answer, decide the next step.

Everything about a call is in the database, so any web process can take its next webhook.
Each webhook for a listening step is keyed by (call, step, attempt): the first one decides
and stores the TwiML it answered with; a repeat gets the stored TwiML back.

Rules that hold at every step: "operator" (or 0) reaches a human; an emergency (the
`emergency` intent at or above the confirmation threshold, or one of its keywords) goes to
the flow's `emergency_step`, once per call; silence or no match gets one simpler reprompt
(a short one after silence, when the step has it) and a second failure says why in one
sentence ("I could not understand you") and goes to a human or callback, or, for a caller
silent twice whose number we know, to the step's `on_silence` (a booked callback);
a step entered a third time goes to the human step instead (never a loop); callers flagged
as not digital hear slower prompts, wait longer and skip anything that sends them online.

Words that may report an emergency but are doubtful (misheard, or the `emergency` intent
under the confirmation threshold) are neither acted on nor ignored: the caller is asked the
flow's `settings.emergency_question` ("Is it an emergency?", once a call, as the listening
key "<step>.emergency"); yes goes to the emergency step, no asks again the question they
were answering, no clear answer goes to a person (see ivr.emergency).

Other words the recogniser says it may have misheard (`doubt` in the event's detail, from
`speech.hearing`) are never acted on: a need is said back for confirmation (or asked again
when the step has no confirmation), any other answer (yes/no, a number, a time, "a
person") is asked again. They set no cue (not digital) either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from core.privacy import mask_phone
from ivr import handoff
from ivr.emergency import EMERGENCY, emergency_confidence, emergency_doubt
from ivr.flow_store import PickedFlow, cached_doc, flow_for_number
from ivr.flowdoc import FlowDoc
from ivr.models import Call, CallEvent, FlowVersion
from ivr.twiml import Hangup, Verb, render
from ivr.walker import (
    ASK_PHASE,
    EMERGENCY_PHASE,
    EXPECTING,
    EngineOptions,
    FlowWalker,
    Urls,
    is_emergency_question,
    reached_human,
    split_step,
)
from speech.hearing import strip_unknown
from speech.language import detect_language, vocabularies
from speech.understanding import decide

log = logging.getLogger(__name__)

START, STATUS = "_start", "_status"
SILENT = "silent"  # the booking source of a caller who never said their need
EMERGENCY_DOUBT = "emergency_doubt"  # the decision that asked "Is it an emergency?"
ENDED_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
__all__ = ["Answer", "CallEngine", "EngineOptions", "NoFlow", "UnknownCall", "Urls",
           "language_of_number"]


_EVENT = aliased(CallEvent, name="step_event")
# Built once: an aliased join is costly to construct, and this runs on every answer webhook.
_CALL_AT_STEP = (
    select(Call, FlowVersion.checksum, _EVENT)
    .join(FlowVersion, Call.flow_version_id == FlowVersion.id)
    .outerjoin(_EVENT, (_EVENT.call_id == Call.id) & (_EVENT.step == bindparam("step"))
               & (_EVENT.attempt == bindparam("attempt")))
    .where(Call.call_sid == bindparam("call_sid")).with_for_update(of=Call))


class UnknownCall(LookupError):
    """A webhook named a call we never started."""


class NoFlow(LookupError):
    """No published flow can answer this call."""


@dataclass(frozen=True)
class Answer:
    """What one webhook brought: the caller's words or keys, or Twilio's news."""

    words: str | None = None
    digits: str | None = None
    asr_confidence: float | None = None
    source: str | None = None  # "twilio" | "vosk" | "dtmf"
    extra: dict[str, Any] = field(default_factory=dict)


class CallEngine(FlowWalker):
    """Runs calls through their flow version; one instance per request (holds a session)."""

    # ------------------------------------------------------------------ webhooks
    def start(self, call_sid: str, from_raw: str | None, to_raw: str | None, *,
              pinned: PickedFlow | None = None, language: str | None = None,
              not_digital: bool | None = None) -> str:
        """First webhook of a call: create it on the right flow and answer its first step.

        `pinned`, `language` and `not_digital` are for the admin's test calls (a draft or
        an old version, a chosen language, a caller flagged not digital); live calls leave
        them to the called number, the caller's country and their profile.
        """
        call = self._find(call_sid)
        if call is not None:
            return self._replay(call)
        picked = pinned or flow_for_number(self.session,
                                           handoff.e164(to_raw) or (to_raw or ""))
        if picked is None:
            raise NoFlow("no published flow")
        flow = picked.doc
        number = handoff.e164(from_raw)
        if language not in flow.languages:
            language = self._language(flow, number)
        call = Call(call_sid=call_sid, from_number=number, to_number=(to_raw or "")[:32],
                    language=language, flow_version_id=picked.version_id,
                    current_step=flow.start, attempts=0, path=[], started_at=self.now)
        call.not_digital = (handoff.is_not_digital(self.session, number)
                            if not_digital is None else not_digital)
        self.session.add(call)
        log.info("call %s from %s: flow %s v%s lang=%s not_digital=%s", call_sid,
                 mask_phone(number), flow.key, picked.number, call.language, call.not_digital)
        # linked through the relationship, not call.id: no flush here, so the call is
        # inserted once with its first step instead of inserted and then updated
        event = CallEvent(call=call, step=START, attempt=0, created_at=self.now)
        self.session.add(event)
        verbs = self._enter(call, flow, flow.start)
        return self._finish(event, "start", verbs)

    def answer(self, call_sid: str, step: str, attempt: int, given: Answer) -> str:
        """A listening step's answer (Gather/Connect/Dial/Record action): decide and reply."""
        call, event = self._find_at(call_sid, step, attempt)
        if call is None:
            raise UnknownCall(call_sid)
        if event is not None and event.response is not None:
            return event.response  # Twilio retried: same answer, no second step
        if call.state == "ended":
            return render([Hangup()])
        if (step, attempt) != (call.current_step, call.attempts):
            log.warning("call %s: stale webhook for %s/%s (now at %s/%s)", call_sid, step,
                        attempt, call.current_step, call.attempts)
            return self._replay(call)
        event = self._answered(call, event, step, attempt, given)
        flow = cached_doc(self.session, call.flow_version_id, self._digests.get(call.id, ""))
        decision, verbs = self._decide(call, flow, event)
        return self._finish(event, decision, verbs)

    def status(self, call_sid: str, status: str) -> None:
        """Twilio's status callback: close an ended call; a caller who hung up mid-flow
        gets a callback (when we know their number), with their need if they told it, as
        a silent call if not; a caller who was served or declined does not."""
        call = self._find(call_sid, lock=True)
        if call is None:
            raise UnknownCall(call_sid)
        if status not in ENDED_STATUSES or call.state == "ended":
            return
        call.state, call.twilio_status, call.ended_at = "ended", status, self.now
        self.session.add(CallEvent(call_id=call.id, step=STATUS, attempt=0, decision=status,
                                   created_at=self.now, handled_at=self.now))
        if call.outcome is None:  # mid-flow: not served
            self._recover_need(call)
            number = call.callback_number or call.from_number
            if (number and call.callback_request_id is None
                    and not caller_declined(self.session, call)):
                # a caller who hung up before saying their need is called back too
                handoff.book_for_call(self.session, call, now=self.now,
                                      source="hangup" if call.words else SILENT)
                call.outcome = "hangup_callback"
            else:
                call.outcome = "hangup"
        log.info("call %s ended: %s (%s)", call_sid, status, call.outcome)

    def store_utterance(self, call_sid: str, step: str, attempt: int, given: Answer,
                        reason: str) -> None:
        """The speech socket's result for a step, kept until Twilio posts the action URL."""
        call, event = self._find_at(call_sid, step, attempt)
        if call is None:
            raise UnknownCall(call_sid)
        if event is not None and (event.response is not None or event.source is not None):
            return
        event = self._answered(call, event, step, attempt, given)
        event.detail = {**(event.detail or {}), "reason": reason}
        if (call.state == "ended" and call.outcome in ("hangup", "hangup_callback")
                and event.words):
            # the hang-up was reported before the socket handed over the last words: the
            # silent call's booking (if any) is updated with them
            self._recover_need(call)
            if call.words and (call.callback_number or call.from_number):
                handoff.book_for_call(self.session, call, source="hangup", now=self.now)
                call.outcome = "hangup_callback"
                request = call.callback_request
                if request is not None and request.source == SILENT:
                    request.source, request.words = "hangup", request.words or call.words

    # ------------------------------------------------------------------ state
    def _find(self, call_sid: str, lock: bool = False) -> Call | None:
        """The call (row-locked when `lock`), with its flow version's checksum remembered."""
        query = (select(Call, FlowVersion.checksum)
                 .join(FlowVersion, Call.flow_version_id == FlowVersion.id)
                 .where(Call.call_sid == call_sid))
        if lock:
            query = query.with_for_update(of=Call)
        row = self.session.execute(query).first()
        if row is None:
            return None
        self._digests[row[0].id] = row[1]
        return row[0]

    def _find_at(self, call_sid: str, step: str,
                 attempt: int) -> tuple[Call | None, CallEvent | None]:
        """The call, row-locked, and its event for (step, attempt) if there is one: one query.

        The event is read in the statement's snapshot, which PostgreSQL takes before the
        lock is granted, so a duplicate webhook that waited on the lock may not see the
        event its twin just committed. It sees the call its twin moved on instead, which
        `answer` treats as stale (replaying the stored TwiML), and an event inserted twice
        hits the (call, step, attempt) unique key, which `ivr.views` runs again.
        """
        row = self.session.execute(_CALL_AT_STEP, {"call_sid": call_sid, "step": step,
                                                   "attempt": attempt}).first()
        if row is None:
            return None, None
        self._digests[row[0].id] = row[1]
        return row[0], row[2]

    def _replay(self, call: Call) -> str:
        """The last TwiML we gave this call (what Twilio should be doing now)."""
        last = self.session.scalar(select(CallEvent).where(
            CallEvent.call_id == call.id, CallEvent.response.is_not(None))
            .order_by(CallEvent.id.desc()).limit(1))
        return last.response if last is not None and last.response else render([Hangup()])

    def _finish(self, event: CallEvent, decision: str, verbs: list[Verb]) -> str:
        event.decision = decision
        event.response = render(verbs)
        event.handled_at = self.now
        return event.response

    def _answered(self, call: Call, event: CallEvent | None, step: str, attempt: int,
                  given: Answer) -> CallEvent:
        """The event of (step, attempt), created at its first answer, with `given` merged
        in: what an earlier delivery of the same answer already set is kept."""
        if event is None:
            event = CallEvent(call_id=call.id, step=step, attempt=attempt, created_at=self.now)
            self.session.add(event)
        words = strip_unknown(given.words or "")  # "[unk]" is no word a caller said
        if words and not event.words:
            event.words = words[:4000]
        if given.digits and not event.digits:
            event.digits = given.digits[:64]
        if given.asr_confidence is not None and event.asr_confidence is None:
            event.asr_confidence = given.asr_confidence
        if given.source and not event.source:
            event.source = given.source
        if given.extra:
            event.detail = {**(event.detail or {}), **given.extra}
        return event

    def _recover_need(self, call: Call) -> None:
        """If the caller said something at a question but we never stored it, keep it."""
        if call.words:
            return
        words = self.session.scalar(select(CallEvent.words).where(
            CallEvent.call_id == call.id, CallEvent.words.is_not(None),
            CallEvent.step.not_like("\\_%", escape="\\")).order_by(CallEvent.id.desc()).limit(1))
        if words:
            call.words = words

    @staticmethod
    def _language(flow: FlowDoc, number: str | None) -> str:
        return language_of_number(flow, number) or flow.default_language

    def _settle_language(self, call: Call, flow: FlowDoc, event: CallEvent, words: str) -> None:
        """A caller whose number does not decide the language: until their need is known,
        the words they say do, for the rest of the call (prompts, voice, recogniser and
        understanding all follow `call.language`): the language whose recogniser won when
        several listened (`heard_in`, see ivr.listening), else the words' own."""
        if len(flow.languages) < 2 or language_of_number(flow, call.from_number):
            return
        heard_in = (event.detail or {}).get("heard_in")  # the recogniser that won (stream)
        if heard_in not in flow.languages:
            vocab = flow.memo(("vocabularies",), lambda: vocabularies(flow.document))
            guess = detect_language(words, vocab)
            heard_in = guess.lang if guess is not None else None
        if heard_in is None or heard_in == call.language:
            return
        log.info("call %s: caller speaks %s (was %s)", call.call_sid, heard_in, call.language)
        call.language = str(heard_in)
        event.detail = {**(event.detail or {}), "language": heard_in}

    # ------------------------------------------------------------------ deciding
    def _decide(self, call: Call, flow: FlowDoc, event: CallEvent) -> tuple[str, list[Verb]]:
        name, asking = split_step(event.step)
        step = flow.step(name)
        kind = step["type"]
        if kind == "transfer":
            status = str((event.detail or {}).get("DialCallStatus", ""))
            if status == "completed":
                call.outcome = "transferred"
                talked = _seconds((event.detail or {}).get("DialCallDuration"))
                reached_human(call, self.now - timedelta(seconds=talked))
                return "transferred", [Hangup()]
            why: list[Verb] = [self._speak(call, flow, flow.reason("no_agent", call.language))]
            return f"dial_{status or 'unknown'}", self._enter(call, flow, step["on_no_answer"],
                                                              why)
        if kind == "record":
            detail = event.detail or {}
            if detail.get("RecordingUrl"):
                if call.callback_request_id is None:
                    self._recover_need(call)
                    handoff.book_for_call(self.session, call, source="voicemail", now=self.now)
                    call.outcome = "message"
                    reached_human(call, self.now)
                handoff.attach_recording(self.session, call, str(detail["RecordingUrl"]),
                                         detail.get("RecordingDuration"), now=self.now)
            return "recorded", self._enter(call, flow, step["next"])
        expecting = "phone" if asking else EXPECTING[kind]
        if is_emergency_question(event.step):
            expecting = "yes_no"
        words, digits = (event.words or "").strip(), (event.digits or "").strip()
        floor = float(flow.settings["asr_reject_below"])
        if words and event.asr_confidence is not None and event.asr_confidence < floor:
            # the recogniser is guessing (a grammar without [unk] maps noise onto a phrase)
            event.detail = {**(event.detail or {}), "ignored": "low_asr_confidence"}
            words = ""
        doubtful = bool(words and not digits and (event.detail or {}).get("doubt"))
        if words and not doubtful and call.words is None:
            self._settle_language(call, flow, event, words)
        heard = self.understanding.understand(flow.document, words, call.language, expecting,
                                              now=self.now)
        asking_if_emergency = is_emergency_question(event.step)
        if doubtful:
            maybe = None if asking_if_emergency else emergency_doubt(
                flow, self.understanding, words, call.language, heard, call.path, misheard=True)
            if maybe is not None and not self._asked_if_emergency(call):
                return self._ask_if_emergency(call, flow, event, maybe, words)
            return self._decide_doubtful(call, flow, event, step, heard.intent, words)
        if heard.not_digital is not None:
            call.not_digital = True
            call.not_digital_cue = heard.not_digital.evidence[:255]
        emergency = emergency_confidence(flow, self.understanding, words, call.language, heard,
                                         call.path)
        if emergency is not None and flow.emergency_step:
            event.intent, event.confidence = EMERGENCY, emergency
            call.words = words if kind == "ask" or not call.words \
                else f"{call.words} | {words}"[:4000]
            call.intent, call.intent_confidence, call.need_source = EMERGENCY, emergency, "speech"
            return "emergency", self._enter(call, flow, flow.emergency_step)
        wants_human = digits == "0" or heard.wants_human
        maybe = None if wants_human or digits or asking_if_emergency else emergency_doubt(
            flow, self.understanding, words, call.language, heard, call.path)
        if maybe is not None and not self._asked_if_emergency(call):
            return self._ask_if_emergency(call, flow, event, maybe, words)
        if wants_human:
            if kind == "ask" and words and not call.words:
                call.words = words
            return "human", self._enter(call, flow, flow.human_step)
        if asking_if_emergency:
            return self._answer_if_emergency(call, flow, event,
                                             {"1": "yes", "2": "no"}.get(digits) if digits
                                             else heard.yes_no)
        if kind == "ask":
            return self._decide_need(call, flow, event, step, heard.intent, digits, words)
        if kind == "ask_time":
            if digits == "1" or heard.time_window is not None:
                window = heard.time_window
                call.callback_window_start = window.start if window else None
                call.callback_window_end = window.end if window else None
                return "time_given", self._enter(call, flow, step["next"])
            return self._failed(call, flow, event)
        if asking:
            number = handoff.e164(digits if len(digits) >= 6 else heard.phone)
            if number:
                call.callback_number = number
                return "number_given", self._enter(call, flow, step["next"])
            return self._failed(call, flow, event)
        answer = {"1": "yes", "2": "no"}.get(digits) if digits else heard.yes_no
        if answer == "yes":
            if kind == "collect_number":
                call.callback_number = call.from_number
            return "yes", self._enter(call, flow, step["on_yes" if kind == "confirm" else "next"])
        if answer == "no":
            if kind == "collect_number":
                return "no", self._listen(call, flow, name + ASK_PHASE, 0, [])
            return "no", self._enter(call, flow, step["on_no"])
        return self._failed(call, flow, event)

    def _decide_need(self, call: Call, flow: FlowDoc, event: CallEvent, step: dict[str, Any],
                     result: Any, digits: str, words: str) -> tuple[str, list[Verb]]:
        if digits:
            intent = (step.get("keypad") or {}).get(digits[:1])
            if intent is None:
                return self._failed(call, flow, event)
            event.intent, event.confidence, event.source = intent, 1.0, "dtmf"
            call.intent, call.intent_confidence, call.need_source = intent, 1.0, "keypad"
            call.words = call.words or f"[{digits[:1]}] {flow.label(intent, call.language)}"
            return "keypad", self._enter(call, flow, step["next"])
        if not words or result is None:
            return self._failed(call, flow, event)
        event.intent, event.confidence = result.intent, result.confidence
        verdict = decide(result, float(flow.settings["confirm_below"]),
                         float(flow.settings["reject_below"]))
        if verdict == "reject":
            call.words = call.words or words
            return self._failed(call, flow, event)
        call.words = words
        call.intent, call.intent_confidence = result.intent, result.confidence
        call.need_source = "speech"
        if verdict == "confirm" and step.get("confirm") and not call.not_digital:
            return "confirm", self._enter(call, flow, step["confirm"])
        return "accept", self._enter(call, flow, step["next"])

    def _ask_if_emergency(self, call: Call, flow: FlowDoc, event: CallEvent, likely: float,
                          words: str) -> tuple[str, list[Verb]]:
        """Words that may report an emergency, but doubtful: ask ("Is it an emergency?")."""
        event.intent, event.confidence = EMERGENCY, likely
        event.detail = {**(event.detail or {}), "emergency_doubt": round(likely, 3)}
        name, _ = split_step(event.step)
        if flow.step(name)["type"] == "ask" and not call.words:
            call.words = words  # a caller who hangs up now is still called back about it
        return EMERGENCY_DOUBT, self._listen(call, flow, name + EMERGENCY_PHASE, 0, [])

    def _asked_if_emergency(self, call: Call) -> bool:
        """Whether this call was asked "Is it an emergency?" already (asked once a call)."""
        return self.session.scalar(select(CallEvent.id).where(
            CallEvent.call_id == call.id, CallEvent.decision == EMERGENCY_DOUBT)
            .limit(1)) is not None

    def _answer_if_emergency(self, call: Call, flow: FlowDoc, event: CallEvent,
                             answer: str | None) -> tuple[str, list[Verb]]:
        """The caller's answer to "Is it an emergency?": yes goes to the emergency step;
        no goes back to the question they were answering (asked again, never the next)."""
        doubted = self.session.scalar(select(CallEvent).where(
            CallEvent.call_id == call.id, CallEvent.decision == EMERGENCY_DOUBT)
            .order_by(CallEvent.id.desc()).limit(1))
        if answer == "yes":
            said = (doubted.words if doubted is not None else None) or ""
            if said and said not in (call.words or ""):
                call.words = f"{call.words} | {said}"[:4000] if call.words else said
            event.intent, event.confidence = EMERGENCY, 1.0
            call.intent, call.intent_confidence, call.need_source = EMERGENCY, 1.0, "speech"
            return "emergency", self._enter(call, flow, str(flow.emergency_step))
        if answer == "no":
            if doubted is None:
                return "no", self._enter(call, flow, flow.human_step)
            asked = self.session.scalar(select(func.max(CallEvent.attempt)).where(
                CallEvent.call_id == call.id, CallEvent.step == doubted.step)) or 0
            return "no", self._listen(call, flow, doubted.step, asked + 1, [])
        return self._failed(call, flow, event)

    def _decide_doubtful(self, call: Call, flow: FlowDoc, event: CallEvent,
                         step: dict[str, Any], result: Any,
                         words: str) -> tuple[str, list[Verb]]:
        """Words the recogniser may have misheard: confirm a need, ask anything else again."""
        event.detail = {**(event.detail or {}), "ignored": "doubtful_hearing"}
        if step["type"] != "ask" or not step.get("confirm") or result is None \
                or result.intent is None:
            return self._failed(call, flow, event)
        event.intent, event.confidence = result.intent, result.confidence
        if decide(result, float(flow.settings["confirm_below"]),
                  float(flow.settings["reject_below"])) == "reject":
            return self._failed(call, flow, event)
        call.words = words
        call.intent, call.intent_confidence = result.intent, result.confidence
        call.need_source = "speech"
        return "confirm", self._enter(call, flow, step["confirm"])

    def _failed(self, call: Call, flow: FlowDoc, event: CallEvent) -> tuple[str, list[Verb]]:
        """No answer or no match: one simpler reprompt, then say why and go to a human or
        a callback (never a third try)."""
        name, _ = split_step(event.step)
        silent = not event.words and not event.digits
        if event.attempt == 0:
            return "reprompt", self._listen(call, flow, event.step, 1, [], silent=silent)
        step = flow.step(name)
        target = step.get("on_failure") or flow.human_step
        if is_emergency_question(event.step):  # unsure whether in danger: a person decides
            silent, target = False, flow.human_step
        if silent:
            silent = self.session.scalar(select(CallEvent.id).where(
                CallEvent.call_id == call.id, CallEvent.step == event.step,
                CallEvent.attempt == 0, CallEvent.words.is_(None),
                CallEvent.digits.is_(None))) is not None
        if silent and step.get("on_silence") and (call.callback_number or call.from_number):
            target = step["on_silence"]
        why = flow.reason("not_heard" if silent else "not_understood", call.language)
        return "gave_up", self._enter(call, flow, target, [self._speak(call, flow, why)])


def caller_declined(session: Any, call: Call) -> bool:
    """Whether the caller said "no" to a question whose "yes" books their callback (a
    caller who hangs up after that is not called back)."""
    noes = session.scalars(select(CallEvent.step).where(
        CallEvent.call_id == call.id, CallEvent.decision == "no")).all()
    if not noes:
        return False
    steps = session.get(FlowVersion, call.flow_version_id).document["steps"]
    return any((steps.get(name) or {}).get("type") == "confirm"
               and _leads_to_booking(steps, steps[name].get("on_yes")) for name in noes)


def _leads_to_booking(steps: dict[str, Any], name: str | None, depth: int = 6) -> bool:
    """Whether the steps from `name` on (following each "yes"/next) book a callback."""
    while name and depth > 0:
        step = steps.get(name) or {}
        if step.get("type") == "book":
            return True
        name, depth = step.get("next") or step.get("on_yes") or step.get("open"), depth - 1
    return False


def language_of_number(flow: FlowDoc, number: str | None) -> str | None:
    """The language a caller's number decides (settings.language_by_country), or None
    (a foreign or hidden number: their first words decide)."""
    country = handoff.country_of(number)
    lang = (flow.settings.get("language_by_country") or {}).get(country or "")
    return lang if lang in flow.languages else None


def _seconds(value: Any) -> float:
    """Twilio's DialCallDuration (seconds talked), 0 when missing or not a number."""
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 0.0
