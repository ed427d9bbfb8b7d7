"""What happened on a simulated call: turns, requests made, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field

from localtwilio.voices import Notice


@dataclass(frozen=True)
class Turn:
    """One thing said or done: `who` is "app", "caller" or "system"."""

    who: str
    text: str
    language: str | None = None
    verb: str = ""
    voice: str | None = None  # Say: the voice Twilio used ("man" when none was named)
    rate: str | None = None  # Say: the prosody rate honoured (None: the default rate)


@dataclass
class Exchange:
    """One HTTP request the stand-in made to the app, and the reply."""

    method: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int
    body: str
    kind: str = "webhook"  # webhook | action | redirect | fallback | status | duplicate


@dataclass
class CallTranscript:
    """The record of one call, as a test or the terminal caller reads it."""

    call_sid: str
    turns: list[Turn] = field(default_factory=list)
    requests: list[Exchange] = field(default_factory=list)
    outcome: str = ""  # hangup | transferred:<number> | completed | rejected | error
    hung_up_by: str | None = None  # caller | app | None
    error: str | None = None
    duration: int = 0
    stream_events: list[dict[str, object]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # Twilio's debugger log of the call

    def said_by(self, who: str) -> list[str]:
        """The texts of all turns by `who`."""
        return [t.text for t in self.turns if t.who == who]

    @property
    def prompts(self) -> list[str]:
        """Everything the app said (Say text), in order."""
        return [t.text for t in self.turns if t.who == "app" and t.verb == "Say"]

    def requests_to(self, path_fragment: str) -> list[Exchange]:
        """Requests whose URL contains `path_fragment`."""
        return [r for r in self.requests if path_fragment in r.url]
