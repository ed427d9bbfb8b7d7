"""Dry run of a flow document: where would a caller who says this sentence go?

The admin console's "try it" walks a draft without a call, a database or Twilio, with the
engine's own decision pieces: `speech.understanding` (intent, thresholds via `decide`,
"wants a human", "not digital" cues), `ivr.emergency` (an emergency goes to the flow's
emergency step), `ivr.hours.is_open` and `FlowDoc` texts. Steps that
ask nothing run as the engine runs them; at the first question about the need the
sentence is the caller's answer; a confirmation of that need is assumed answered "yes";
the walk stops at the next question, at a human, a callback or a goodbye.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ivr.emergency import EMERGENCY, emergency_confidence
from ivr.flowdoc import FlowDoc
from ivr.hours import is_open
from speech.understanding import Understanding, decide

MAX_STEPS = 40


@dataclass(frozen=True)
class SimStep:
    """One step the caller passes through, and what the hotline says or does there."""

    step: str
    type: str
    said: str = ""
    note: str = ""


@dataclass
class Simulation:
    """The result of a dry run: what was understood and the path the caller takes."""

    text: str
    lang: str
    intent: str | None = None
    confidence: float = 0.0
    decision: str = ""  # accept | confirm | reject | human | keypad | emergency | none
    not_digital: bool = False
    outcome: str = ""  # human | callback | goodbye | message | waits | reprompt
    steps: list[SimStep] = field(default_factory=list)

    @property
    def path(self) -> list[str]:
        """Step names in the order the caller passes them."""
        return [s.step for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready result."""
        data = asdict(self)
        data["path"] = self.path
        return data


class _Walk:
    def __init__(self, flow: FlowDoc, sim: Simulation, now: datetime,
                 understanding: Understanding) -> None:
        self.flow, self.sim, self.now, self.understanding = flow, sim, now, understanding
        self.answered = False
        self.confirm_step: str | None = None

    def say(self, name: str, key: str = "prompt", note: str = "") -> None:
        text = self.flow.text(name, key, self.sim.lang,
                              label=self.flow.label(self.sim.intent, self.sim.lang),
                              number="…", promise="…")
        self.sim.steps.append(SimStep(name, self.flow.step(name)["type"], text, note))

    def run(self, name: str) -> None:
        for _ in range(MAX_STEPS):
            if self.sim.path.count(name) >= 2:
                name = self.flow.human_step
                if self.sim.path.count(name) >= 2:
                    self.sim.outcome = "goodbye"
                    return
            step = self.flow.step(name)
            kind = step["type"]
            nxt = self._step(name, step, kind)
            if nxt is None:
                return
            name = nxt
        self.sim.outcome = "goodbye"

    def _step(self, name: str, step: Mapping[str, Any], kind: str) -> str | None:
        sim = self.sim
        if kind == "say":
            if step.get("digital_only") and sim.not_digital:
                sim.steps.append(SimStep(name, kind, "", "skipped: caller not digital"))
            else:
                self.say(name)
            return str(step["next"])
        if kind == "hours":
            open_ = is_open(self.flow.settings, self.now)
            sim.steps.append(SimStep(name, kind, "", "open" if open_ else "closed"))
            return str(step["open" if open_ else "closed"])
        if kind == "route":
            routes = step["routes"]
            if sim.not_digital and "not_digital" in step:
                sim.steps.append(SimStep(name, kind, "", "caller not digital"))
                return str(step["not_digital"])
            chosen = sim.intent if sim.intent in routes else "default"
            sim.steps.append(SimStep(name, kind, "", f"route: {chosen}"))
            return str(routes[chosen])
        if kind == "book":
            self.say(name, note="callback booked")
            sim.outcome = "callback"
            return str(step["next"])
        if kind == "end":
            self.say(name)
            sim.outcome = sim.outcome or "goodbye"
            return None
        if kind == "transfer":
            if not is_open(self.flow.settings, self.now):
                sim.steps.append(SimStep(name, kind, "", "closed"))
                return str(step["closed"])
            self.say(name, note="put through to a human")
            sim.outcome = "human"
            return None
        if kind == "record":
            self.say(name, note="leaves a message")
            sim.outcome = "message"
            return None
        if kind == "ask" and not self.answered:
            return self._answer(name, step)
        if kind == "confirm" and name == self.confirm_step:
            self.say(name, note="assuming the caller says yes")
            return str(step["on_yes"])
        self.say(name, note="waits for the caller's answer")
        sim.outcome = "waits"
        return None

    def _answer(self, name: str, step: Mapping[str, Any]) -> str | None:
        sim, flow = self.sim, self.flow
        self.answered = True
        self.say(name, note=f"caller says: {sim.text}")
        words = sim.text.strip()
        if words.isdigit() and len(words) == 1:
            intent = (step.get("keypad") or {}).get(words)
            if words == "0" or intent:
                sim.decision = "human" if words == "0" else "keypad"
                sim.intent, sim.confidence = intent, 1.0
                return flow.human_step if words == "0" else str(step["next"])
        heard = self.understanding.understand(flow.document, words, sim.lang, "intent")
        if heard.not_digital is not None:
            sim.not_digital = True
        emergency = emergency_confidence(flow, self.understanding, words, sim.lang, heard)
        if emergency is not None and flow.emergency_step:
            sim.decision, sim.intent, sim.confidence = "emergency", EMERGENCY, emergency
            return flow.emergency_step
        if heard.wants_human:
            sim.decision = "human"
            return flow.human_step
        result = heard.intent
        if result is not None:
            sim.intent, sim.confidence = result.intent, round(result.confidence, 4)
        if result is None or not words:
            sim.decision = "none"
            self._reprompt(name)
            return None
        sim.decision = decide(result, float(flow.settings["confirm_below"]),
                              float(flow.settings["reject_below"]))
        if sim.decision == "reject":
            self._reprompt(name)
            return None
        if sim.decision == "confirm" and step.get("confirm"):
            self.confirm_step = str(step["confirm"])
            return self.confirm_step
        return str(step["next"])

    def _reprompt(self, name: str) -> None:
        self.say(name, "reprompt", note="not understood: asks once more, then "
                 f"{self.flow.step(name).get('on_failure') or self.flow.human_step}")
        self.sim.outcome = "reprompt"


def simulate(document: Mapping[str, Any], text: str, lang: str, *, now: datetime,
             not_digital: bool = False,
             understanding: Understanding | None = None) -> Simulation:
    """Walk `document` as a call whose caller answers the need question with `text`.

    `text` may be a single keypad digit ("1", "0"). Raises ValueError for a language the
    flow does not offer.
    """
    flow = FlowDoc(document)
    if lang not in flow.languages:
        raise ValueError(f"the flow does not offer language {lang!r}")
    sim = Simulation(text=text, lang=lang, not_digital=not_digital)
    _Walk(flow, sim, now, understanding or Understanding()).run(flow.start)
    return sim
