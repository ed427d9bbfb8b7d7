"""Flow documents: schema validation, structural checks, and read access for the engine.

A flow is data (YAML in ivr/flows/, JSON in the database) validated by flow_schema.json.
On top of the schema `ivr.validation` (the one validator) checks what a schema cannot:
every step a step points to exists, every language has every prompt, and no chain of
steps that asks nothing can loop; `check_document` refuses a document failing those.

Step types (prompts are {lang: text}; `reprompt` is the simpler second try with a keypad
hint; `on_failure` is where a second failure goes, the human step by default):

- `say` (prompt, next; `digital_only: true` is skipped for callers who are not digital);
- `ask` (expecting: intent; prompt, reprompt, keypad {digit: intent}, confirm, next;
  `silence_reprompt`: the short second try after silence; `on_silence`: where a caller
  silent twice goes when their number is known, e.g. a `book` step with source silent);
- `confirm` (a yes/no question: prompt, reprompt, on_yes, on_no; keys 1 = yes, 2 = no);
- `route` (routes {intent: step, default: step}; `not_digital`: where those callers go);
- `hours` (open, closed: opening hours and public holidays from the settings);
- `transfer` (<Dial> the step's number, settings.transfer_number or FALLBACK_NUMBER;
  closed: when out of hours; on_no_answer: when nobody answers);
- `collect_number` (confirm the caller id, or ask for a number: ask_prompt, ask_reprompt);
- `ask_time` (when to call back, in words: "domani mattina"; key 1 = as soon as possible;
  a second failure goes to on_failure, e.g. straight on to the booking);
- `book` (book the callback; {promise} is the estimate; `source: silent` marks a caller
  who never spoke), `record` (a voice message), `end`.

Settings the engine reads at every step: `human_step` ("operator" or 0 goes there),
`emergency_step` (an emergency recognised at any listening step goes there; none by
default), `emergency_number` (a number, or one per language, said through the
{emergency_number} placeholder in any prompt), and `fallback_reasons` (the one short
sentence that says why before a fallback: closed, no_agent, not_understood, not_heard).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from ivr.validation import Problem


SCHEMA_PATH = Path(__file__).with_name("flow_schema.json")
FLOWS_DIR = Path(__file__).with_name("flows")
TARGET_KEYS = ("next", "confirm", "on_failure", "on_yes", "on_no", "not_digital", "open",
               "closed", "on_no_answer", "on_silence")
TEXT_KEYS = ("prompt", "reprompt", "ask_prompt", "ask_reprompt", "silence_reprompt")
INTERACTIVE = frozenset({"ask", "confirm", "collect_number", "ask_time", "transfer",
                         "record"})
"""Step types that wait for the caller (or Twilio) before going on."""

DEFAULT_SETTINGS: dict[str, Any] = {
    "confirm_below": 0.75,
    "reject_below": 0.35,
    "asr_reject_below": 0.3,
    "timezone": "Europe/Rome",
    "holidays": "IT",
    "opening_hours": {},
    "language_by_country": {},
    "say_language": {"it": "it-IT", "en": "en-GB"},
    "voice": {"it": "Polly.Bianca-Neural", "en": "Polly.Amy-Neural"},  # see ivr.voices
    "listen_timeout": 5,
    "speech_input": "auto",
    "human_step": "human",
    "emergency_step": None,
    "emergency_number": "",
    "fallback_reasons": {
        "closed": {"it": "Adesso siamo chiusi.", "en": "We are closed right now."},
        "no_agent": {"it": "In questo momento nessun operatore è libero.",
                     "en": "No agent is free right now."},
        "not_understood": {"it": "Non sono riuscito a capirla.",
                           "en": "I could not understand you."},
        "not_heard": {"it": "Non sono riuscito a sentirla.", "en": "I could not hear you."},
    },
    "transfer_number": "",
    "not_digital": {"prosody_rate": "85%", "listen_timeout": 9, "pause_seconds": 1},
}


class FlowError(ValueError):
    """A flow document is invalid; `problems` lists every reason (`ivr.validation.Problem`:
    path, rule, message in it and en), the one error format of flow checks."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.text('en')}" for p in problems))
        self.problems = problems


@lru_cache(maxsize=1)
def flow_schema() -> dict[str, Any]:
    """The JSON Schema of flow documents."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def validate_document(document: Mapping[str, Any]) -> list[Problem]:
    """Every reason the engine could not run a document (empty when it can): the
    `runnable_problems` of `ivr.validation`, the one flow validator."""
    from ivr.validation import runnable_problems

    return runnable_problems(document)


def check_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return the document as a plain dict, or raise FlowError listing every problem."""
    problems = validate_document(document)
    if problems:
        raise FlowError(problems)
    return json.loads(json.dumps(document))


def load_file(path: str | Path) -> dict[str, Any]:
    """Read and check a YAML flow document."""
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        from ivr.validation import Problem

        raise FlowError([Problem(str(path), "yaml", {"it": "Non è una mappa YAML",
                                                     "en": "Not a YAML mapping"})])
    return check_document(document)


def default_flow_files() -> list[Path]:
    """The flow documents shipped with the product (files with a `steps` section)."""
    return [p for p in sorted(FLOWS_DIR.glob("*.yaml"))
            if "steps" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})]


class FlowDoc:
    """Read-only access to a checked flow document, with settings defaults filled in."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.key: str = document["id"]
        self.languages: list[str] = list(document["languages"])
        self.default_language: str = document["default_language"]
        self.start: str = document["start"]
        self.intents: dict[str, Any] = dict(document.get("intents") or {})
        self.settings: dict[str, Any] = {**DEFAULT_SETTINGS, **(document.get("settings") or {})}
        self.settings["not_digital"] = {**DEFAULT_SETTINGS["not_digital"],
                                        **self.settings["not_digital"]}
        self.settings["fallback_reasons"] = {**DEFAULT_SETTINGS["fallback_reasons"],
                                             **self.settings["fallback_reasons"]}
        self._memo: dict[Any, Any] = {}

    def memo(self, key: Any, compute: Any) -> Any:
        """A value derived from this (immutable) document, computed once."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def step(self, name: str) -> dict[str, Any]:
        """The step called `name` (KeyError if the document has none)."""
        step: dict[str, Any] = self.document["steps"][name]
        return step

    def has_step(self, name: str) -> bool:
        """True if the document defines a step called `name`."""
        return name in self.document["steps"]

    def text(self, step_name: str, key: str, lang: str, **values: str) -> str:
        """A prompt in `lang` (else the default language) with {placeholders} filled in."""
        texts = self.step(step_name).get(key) or {}
        template = texts.get(lang) or texts.get(self.default_language) or ""
        return template.format_map(_Blank({"emergency_number": self.emergency_number(lang),
                                           **values}))

    def emergency_number(self, lang: str) -> str:
        """The emergency services' number for callers in `lang` ("112"), or ""."""
        number = self.settings.get("emergency_number") or ""
        if isinstance(number, dict):
            number = number.get(lang) or number.get(self.default_language) or ""
        return str(number)

    def reason(self, why: str, lang: str) -> str:
        """The short sentence saying why a fallback happens ("Adesso siamo chiusi.")."""
        texts = self.settings["fallback_reasons"].get(why) or {}
        return str(texts.get(lang) or texts.get(self.default_language) or "")

    def label(self, intent: str | None, lang: str) -> str:
        """How an intent is said back to the caller ("your bill")."""
        if not intent or intent not in self.intents:
            return ""
        labels = self.intents[intent].get("label") or {}
        return str(labels.get(lang) or labels.get(self.default_language) or intent)

    @property
    def human_step(self) -> str:
        """The step that reaches a human (asked for by "operator" or 0 at any step)."""
        return str(self.settings["human_step"])

    @property
    def emergency_step(self) -> str | None:
        """Where an emergency recognised at any listening step goes (None: nowhere special)."""
        step = self.settings.get("emergency_step")
        return str(step) if step else None


class _Blank(dict):  # type: ignore[type-arg]
    """format_map helper: unknown placeholders become empty instead of raising."""

    def __missing__(self, key: str) -> str:
        return ""
