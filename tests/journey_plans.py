"""How a scripted caller reaches each listening step of a flow, read from the flow itself.

The journey tests put a caller at every question of the default flow (to say "operatore",
press 0, or hang up there) without listing the questions by hand: `plan` walks the flow's
graph breadth first, answering each question the way that leads on (a keypad choice for a
need, a yes or a no, a number keyed in, a need said vaguely enough to be confirmed, or
words that may report an emergency, which the flow's `emergency_question` asks about) and
passing through the steps that ask nothing as the engine does (opening hours, routes by
intent). A step added to the flow is covered by the tests without editing them; a step no
answer can reach makes `test_every_question_of_the_default_flow_is_reached` fail.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localtwilio import Press, SayText

LISTENING = ("ask", "confirm", "collect_number", "ask_time")
ASK_PHASE = ".ask"
EMERGENCY_PHASE = ".emergency"

YES = {"it": "sì", "en": "yes"}
NO = {"it": "no", "en": "no"}
VAGUE_NEED = {"it": ("bolletta pagamento", "payment"), "en": ("bill payment", "payment")}
"""Words the shipped model understands with a confidence that asks for confirmation."""
DOUBTFUL_EMERGENCY = {"it": "esce acqua dal contatore", "en": "there's a leak"}
"""Words the shipped model takes for an emergency, but not surely: "Is it an emergency?"."""
KEYED_NUMBER = "3339876543"


@dataclass(frozen=True)
class Plan:
    """The answers that bring a caller to `step` (a listening step key) and what the call
    knows by then: the caller's need (`intent`), which a hang-up books a callback for."""

    step: str
    answers: tuple[Any, ...]
    intent: str | None
    spoke_need: bool

    @property
    def need_known(self) -> bool:
        """Whether the call knows why the caller rang (keyed or said)."""
        return self.intent is not None or self.spoke_need


def listening_steps(doc: Mapping[str, Any]) -> list[str]:
    """Every step key a caller can be asked at: listening steps, the number question of a
    `collect_number` step ("<step>.ask"), and "Is it an emergency?" (settings.
    emergency_question) asked at a need question ("<step>.emergency")."""
    keys: list[str] = []
    asks_if_emergency = bool((doc.get("settings") or {}).get("emergency_question"))
    for name, step in doc["steps"].items():
        if step["type"] in LISTENING:
            keys.append(name)
            if step["type"] == "collect_number":
                keys.append(name + ASK_PHASE)
            if step["type"] == "ask" and asks_if_emergency:
                keys.append(name + EMERGENCY_PHASE)
    return keys


def plan(doc: Mapping[str, Any], target: str, lang: str, *, is_open: bool,
         number_known: bool = True) -> Plan | None:
    """The shortest answers from the call's start to the question `target`, or None."""
    steps = doc["steps"]
    asks_if_emergency = bool((doc.get("settings") or {}).get("emergency_question"))
    queue: deque[tuple[str, tuple[Any, ...], str | None, bool]] = deque(
        [(doc["start"], (), None, False)])
    seen: set[tuple[str, str | None]] = set()
    while queue:
        name, answers, intent, spoke = queue.popleft()
        name = _pass_through(steps, name, intent, is_open, number_known)
        if name is None or (name, intent) in seen:
            continue
        seen.add((name, intent))
        if name == target:
            return Plan(target, answers, intent, spoke)
        if name.endswith(EMERGENCY_PHASE):
            # yes: the emergency advice and a person; no: back to the question (not planned)
            continue
        base = name.removesuffix(ASK_PHASE)
        step = steps[base]
        if name.endswith(ASK_PHASE):
            queue.append((step["next"], (*answers, Press(KEYED_NUMBER)), intent, spoke))
        elif step["type"] == "ask":
            for digit, chosen in (step.get("keypad") or {}).items():
                queue.append((step["next"], (*answers, Press(digit)), chosen, spoke))
            if step.get("confirm"):
                words, chosen = VAGUE_NEED[lang]
                queue.append((step["confirm"], (*answers, SayText(words, voice=lang)), chosen,
                               True))
            if asks_if_emergency:
                said = SayText(DOUBTFUL_EMERGENCY[lang], voice=lang)
                queue.append((name + EMERGENCY_PHASE, (*answers, said), intent, True))
        elif step["type"] == "confirm":
            queue.append((step["on_yes"], (*answers, SayText(YES[lang], voice=lang)), intent,
                          spoke))
            queue.append((step["on_no"], (*answers, SayText(NO[lang], voice=lang)), intent,
                          spoke))
        elif step["type"] == "collect_number":
            queue.append((step["next"], (*answers, SayText(YES[lang], voice=lang)), intent,
                          spoke))
            queue.append((base + ASK_PHASE, (*answers, SayText(NO[lang], voice=lang)), intent,
                          spoke))
        elif step["type"] == "ask_time":
            queue.append((step["next"], (*answers, Press("1")), intent, spoke))
    return None


def _pass_through(steps: Mapping[str, Any], name: str, intent: str | None, is_open: bool,
                  number_known: bool) -> str | None:
    """From `name`, follow the steps that ask nothing; the key of the next question, or
    None when the call ends (or is put through) before asking anything."""
    for _ in range(len(steps) + 1):
        if name.endswith((ASK_PHASE, EMERGENCY_PHASE)):
            return name
        step = steps[name]
        kind = step["type"]
        if kind in ("say", "book"):
            name = step["next"]
        elif kind == "hours":
            name = step["open" if is_open else "closed"]
        elif kind == "route":
            name = step["routes"].get(intent or "", step["routes"]["default"])
        elif kind == "transfer":
            if is_open:
                return None  # put through (the local stand-in's agents answer)
            name = step["closed"]
        elif kind == "collect_number" and not number_known:
            return name + ASK_PHASE
        elif kind in LISTENING:
            return name
        else:  # end, record
            return None
    return None
