"""How the person (or machine) at a dialled number behaves, per number, in the REST stand-in.

`Callee(answer="human", script=[Press("1")])` picks up and presses 1 at the first Gather;
`Callee(answer="machine")` is a voicemail; "no-answer", "busy" and "failed" never pick
up. `hangup_after` hangs up that many (simulated) seconds after answering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from localtwilio.caller import CallerAction, Press

ANSWERS = ("human", "machine", "fax", "unknown", "no-answer", "busy", "failed")


@dataclass(frozen=True)
class Callee:
    """Behaviour of one dialled number."""

    answer: str = "human"
    script: tuple[CallerAction, ...] = ()
    hangup_after: float | None = None
    ring_seconds: int = 2
    talk_seconds: int = 30  # conversation length when reached through <Dial>
    machine_end: str = "machine_end_beep"  # for DetectMessageEnd: _beep/_silence/_other

    def __post_init__(self) -> None:
        if self.answer not in ANSWERS:
            raise ValueError(f"unknown answer {self.answer!r}; expected one of {ANSWERS}")

    @property
    def picks_up(self) -> bool:
        """Whether the call gets answered at all."""
        return self.answer in {"human", "machine", "fax", "unknown"}

    @property
    def final_status(self) -> str:
        """The CallStatus of a call that is never answered."""
        return self.answer if not self.picks_up else "completed"

    def answered_by(self, machine_detection: str | None) -> str | None:
        """Twilio's AnsweredBy for this callee under MachineDetection, or None without AMD."""
        if not machine_detection:
            return None
        if self.answer == "machine":
            return self.machine_end if machine_detection == "DetectMessageEnd" \
                else "machine_start"
        return self.answer


@dataclass
class CalleeBook:
    """Per-number behaviours with a default for numbers nobody configured."""

    # nobody configured: a person who answers and, asked to press 1 (call screening), does
    default: Callee = field(default_factory=lambda: Callee(script=(Press("1"),)))
    numbers: dict[str, Callee] = field(default_factory=dict)

    def set(self, number: str, callee: Callee) -> None:
        """Configure the behaviour of `number`."""
        self.numbers[number] = callee

    def get(self, number: str) -> Callee:
        """The behaviour of `number` (the default if unset)."""
        return self.numbers.get(number, self.default)
