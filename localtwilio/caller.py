"""The person on the phone: what a caller can do, scripted or interactive.

The runner asks the caller for an action whenever Twilio would listen (a Gather, a
Record, a Media Stream) and tells the caller every prompt it hears. A script is a list of
actions consumed in order; when a script runs out the caller hangs up, as a real caller
with nothing more to say would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SayText:
    """Speak `text`: a Gather gets it as SpeechResult; a stream/recording gets it synthesised."""

    text: str
    confidence: float = 0.92
    voice: str = "it"  # espeak-ng voice for synthesised audio


@dataclass(frozen=True)
class PlayAudio:
    """Send an audio file (wav, or raw 8 kHz mu-law with .ulaw); `transcript` feeds a Gather."""

    path: Path
    transcript: str | None = None
    confidence: float = 0.85


@dataclass(frozen=True)
class Press:
    """Press keys on the keypad (DTMF)."""

    digits: str


@dataclass(frozen=True)
class Silence:
    """Say nothing for `seconds` (a Gather times out; a stream receives silent frames)."""

    seconds: float = 5.0


@dataclass(frozen=True)
class Hold:
    """Stay on the line without answering for up to `seconds`, until the call changes."""

    seconds: float = 30.0


@dataclass(frozen=True)
class HangUp:
    """Put the phone down."""


@dataclass(frozen=True)
class LiveAudio:
    """A chunk of live microphone audio (raw 8 kHz mu-law), sent on as it arrives."""

    ulaw: bytes


CallerAction = SayText | PlayAudio | Press | Silence | Hold | HangUp | LiveAudio


@dataclass(frozen=True)
class Listening:
    """What the caller is asked for: where (gather/record/stream) and which inputs count."""

    kind: str  # gather | record | stream
    inputs: frozenset[str] = frozenset()
    language: str | None = None
    hints: tuple[str, ...] = ()


class Caller:
    """Base caller: hears prompts, answers when asked. Subclasses decide the answers."""

    def hear(self, text: str, language: str | None) -> None:
        """Called for every prompt the app plays (Say text, or a Play URL)."""

    def next_action(self, listening: Listening) -> CallerAction:
        """The caller's next action when the call is listening."""
        return HangUp()

    def has_more(self) -> bool:
        """Whether the caller still has something to do (a stream stays open while True)."""
        return False


class ScriptedCaller(Caller):
    """Plays a fixed list of actions; hangs up when the list is exhausted."""

    def __init__(self, actions: Iterable[CallerAction]) -> None:
        self.actions: list[CallerAction] = list(actions)
        self.heard: list[tuple[str, str | None]] = []

    def hear(self, text: str, language: str | None) -> None:
        """Remember what was heard, so tests and tools can read it back."""
        self.heard.append((text, language))

    def next_action(self, listening: Listening) -> CallerAction:
        """The next scripted action, or HangUp when there is none."""
        return self.actions.pop(0) if self.actions else HangUp()

    def has_more(self) -> bool:
        """True while scripted actions remain."""
        return bool(self.actions)


class InteractiveCaller(Caller):
    """Drives a call from callbacks (a terminal or a browser): prompts out, input in."""

    def __init__(self, on_prompt: Callable[[str, str | None], None],
                 get_input: Callable[[Listening], CallerAction]) -> None:
        self.on_prompt = on_prompt
        self.get_input = get_input

    def hear(self, text: str, language: str | None) -> None:
        """Pass the prompt to the UI."""
        self.on_prompt(text, language)

    def next_action(self, listening: Listening) -> CallerAction:
        """Ask the UI for the caller's input."""
        return self.get_input(listening)

    def has_more(self) -> bool:
        """An interactive caller is there until it hangs up."""
        return True


def as_caller(script: Caller | Sequence[CallerAction] | None) -> Caller:
    """Accept a Caller, a list of actions, or None (a caller who only listens)."""
    if isinstance(script, Caller):
        return script
    return ScriptedCaller(script or [])
