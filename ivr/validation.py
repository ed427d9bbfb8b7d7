"""Checks an admin's flow must pass before publishing: pure functions over a flow document.

Each check returns `Problem`s with a path into the document ("steps/ask_need/prompt/en"),
a rule id and a message in each console language. Rules:

- `schema`: the JSON Schema (ivr/flow_schema.json) rejects the document;
- `voice`: a basic Twilio voice named for a language it cannot speak;
- `reference`: a step, intent or setting names a step or intent that does not exist;
- `dead_end`: from this step no path reaches a human, a callback or a goodbye;
- `loop`: steps that lead only to each other (no exit), or a cycle that never asks the
  caller anything (nothing bounds it);
- `unreachable` (warning): no path from the start reaches this step;
- `prompt_language`: a prompt or an intent label is missing in a language the flow offers;
- `few_examples`: an intent has fewer than MIN_EXAMPLES examples in a language;
- `vocabulary`: words the Vosk model for that language cannot recognise;
- `no_model` (warning): no speech model is installed for a language.

`schema`, `reference`, `voice`, `dead_end`, `loop` and `prompt_language` are *blocking*:
such a flow cannot run. The others can be published "anyway", knowingly.

This is the one validator of flow documents. `runnable_problems` is the part a document
must pass to be stored at all (`ivr.flowdoc.check_document` raises `FlowError` with those
problems); `validate` adds what must hold before publishing. Both speak `Problem`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import jsonschema

from ivr.flowdoc import DEFAULT_SETTINGS, INTERACTIVE, TARGET_KEYS, TEXT_KEYS, flow_schema

MIN_EXAMPLES = 5
BLOCKING = frozenset({"schema", "reference", "voice", "dead_end", "loop", "prompt_language"})
OUTCOME_STEPS = frozenset({"transfer", "book", "end"})
"""Step types that end the caller's journey well: a human, a callback, a goodbye."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a flow document, where it is and why, in it and en."""

    path: str
    rule: str
    message: dict[str, str]
    severity: str = "error"  # "error" | "warning"
    words: tuple[str, ...] = field(default=())

    @property
    def blocking(self) -> bool:
        """True when a flow with this problem cannot run at all."""
        return self.severity == "error" and self.rule in BLOCKING

    def text(self, lang: str) -> str:
        """The message in `lang` (English when there is none)."""
        return self.message.get(lang) or self.message["en"]


class VocabularySource(Protocol):
    """What the vocabulary rule needs from speech.models.ModelRegistry."""

    @property
    def languages(self) -> list[str]: ...

    def missing_words(self, lang: str, phrases: Iterable[str]) -> list[str]: ...


def _problem(path: str, rule: str, it: str, en: str, severity: str = "error",
             words: Iterable[str] = ()) -> Problem:
    return Problem(path, rule, {"it": it, "en": en}, severity, tuple(words))


# ---------------------------------------------------------------- structure
def schema_problems(document: Mapping[str, Any]) -> list[Problem]:
    """JSON Schema violations, each at the path of the offending value."""
    validator = jsonschema.Draft202012Validator(flow_schema())
    found = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        path = "/".join(str(p) for p in error.absolute_path)
        found.append(_problem(path, "schema", f"Non valido: {error.message}",
                              f"Invalid: {error.message}"))
    return found


def voice_problems(document: Mapping[str, Any]) -> list[Problem]:
    """A basic Twilio voice (man, woman, alice) named for a language it does not speak."""
    from ivr.voices import BASIC_LANGUAGES, DEFAULT_VOICES, say_language

    settings = document.get("settings") or {}
    found = []
    for lang in document["languages"]:
        voice = (settings.get("voice") or {}).get(lang)
        tag = say_language(settings, lang)
        if voice in BASIC_LANGUAGES and tag.split("-")[0].lower() not in BASIC_LANGUAGES[voice]:
            example = DEFAULT_VOICES.get(lang, "")
            found.append(_problem(
                f"settings/voice/{lang}", "voice",
                f"La voce {voice!r} di Twilio non parla {tag}; indica una voce Polly "
                f"(per esempio {example})",
                f"Twilio's {voice!r} voice does not speak {tag}; name a Polly voice "
                f"(e.g. {example})"))
    return found


def step_targets(step: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, target step) pairs a step can lead to ("routes/billing" for routes)."""
    targets = [(key, str(step[key])) for key in TARGET_KEYS if key in step]
    targets += [(f"routes/{name}", str(t)) for name, t in (step.get("routes") or {}).items()]
    return targets


def _human_step(document: Mapping[str, Any]) -> str:
    settings = document.get("settings") or {}
    return str(settings.get("human_step", DEFAULT_SETTINGS["human_step"]))


def reference_problems(document: Mapping[str, Any]) -> list[Problem]:
    """Names of steps and intents that point nowhere."""
    steps: Mapping[str, Any] = document["steps"]
    intents = document.get("intents") or {}
    found = []
    if document["start"] not in steps:
        found.append(_problem("start", "reference", f"Nessun passo {document['start']!r}",
                              f"No step named {document['start']!r}"))
    human = _human_step(document)
    if human not in steps:
        found.append(_problem("settings/human_step", "reference",
                              f"Nessun passo {human!r} per l'operatore",
                              f"No step named {human!r} to reach a human"))
    emergency = (document.get("settings") or {}).get("emergency_step")
    if emergency is not None and emergency not in steps:
        found.append(_problem("settings/emergency_step", "reference",
                              f"Nessun passo {emergency!r} per le emergenze",
                              f"No step named {emergency!r} for emergencies"))
    if document["default_language"] not in document["languages"]:
        found.append(_problem("default_language", "reference",
                              "La lingua predefinita deve essere tra le lingue del flusso",
                              "The default language must be one of the flow's languages"))
    for name, step in steps.items():
        for key, target in step_targets(step):
            if target not in steps:
                found.append(_problem(f"steps/{name}/{key}", "reference",
                                      f"Nessun passo {target!r}", f"No step named {target!r}"))
        for digit, intent in (step.get("keypad") or {}).items():
            if intent not in intents:
                found.append(_problem(f"steps/{name}/keypad/{digit}", "reference",
                                      f"Nessun intento {intent!r}", f"No intent named {intent!r}"))
        for intent in (step.get("routes") or {}):
            if intent != "default" and intent not in intents:
                found.append(_problem(f"steps/{name}/routes/{intent}", "reference",
                                      f"Nessun intento {intent!r}: questa strada non serve mai",
                                      f"No intent named {intent!r}: this route is never used",
                                      severity="warning"))
    return found


def _edges(document: Mapping[str, Any]) -> dict[str, set[str]]:
    steps: Mapping[str, Any] = document["steps"]
    return {name: {t for _, t in step_targets(step) if t in steps}
            for name, step in steps.items()}


def _reachable(edges: Mapping[str, set[str]], origin: str) -> set[str]:
    seen, frontier = {origin}, [origin]
    while frontier:
        for target in edges.get(frontier.pop(), ()):
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def _cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def cycles(document: Mapping[str, Any]) -> list[list[str]]:
    """Groups of steps that can lead back to each other (each group sorted)."""
    return _cycles(_edges(document))


def path_problems(document: Mapping[str, Any]) -> list[Problem]:
    """Dead ends, loops with no exit, cycles that never ask, unreachable steps."""
    steps: Mapping[str, Any] = document["steps"]
    edges = _edges(document)
    good = {name for name, step in steps.items() if step["type"] in OUTCOME_STEPS}
    can_finish = {name for name in steps if _reachable(edges, name) & good}
    found: list[Problem] = []
    trapped: set[str] = set()
    for component in _cycles(edges):
        members = set(component)
        chain = " → ".join(component)
        if not members & can_finish:
            trapped |= members
            found.append(_problem(f"steps/{component[0]}", "loop",
                                  f"Ciclo senza uscita: {chain}",
                                  f"Loop with no way out: {chain}"))
        elif not any(steps[m]["type"] in INTERACTIVE for m in members):
            found.append(_problem(f"steps/{component[0]}", "loop",
                                  f"Ciclo che non chiede mai nulla al chiamante: {chain}",
                                  f"Loop that never asks the caller anything: {chain}"))
    for name in steps:
        if name not in can_finish and name not in trapped:
            found.append(_problem(f"steps/{name}", "dead_end",
                                  "Da qui il chiamante non arriva né a un operatore, né a una "
                                  "richiamata, né a un saluto",
                                  "From here the caller reaches neither a human, nor a "
                                  "callback, nor a goodbye"))
    reachable = _reachable(edges, document["start"]) | _reachable(edges, _human_step(document))
    for name in steps:
        if name not in reachable:
            found.append(_problem(f"steps/{name}", "unreachable",
                                  "Nessun percorso porta a questo passo",
                                  "No path leads to this step", severity="warning"))
    human = _human_step(document)
    if human in steps and steps[human]["type"] != "transfer":
        found.append(_problem("settings/human_step", "dead_end",
                              "Il passo per l'operatore dovrebbe essere un trasferimento",
                              "The step that reaches a human should be a transfer",
                              severity="warning"))
    return found


def silent_loop_problems(document: Mapping[str, Any]) -> list[Problem]:
    """Cycles of steps that never wait for the caller: the engine would spin on them."""
    steps: Mapping[str, Any] = document["steps"]
    found = []
    for component in _cycles(_edges(document)):
        if not any(steps[m]["type"] in INTERACTIVE for m in component):
            chain = " → ".join(component)
            found.append(_problem(f"steps/{component[0]}", "loop",
                                  f"Ciclo che non chiede mai nulla al chiamante: {chain}",
                                  f"Loop that never asks the caller anything: {chain}"))
    return found


def missing_text_problems(document: Mapping[str, Any]) -> list[Problem]:
    """A prompt with no entry at all for a language the flow offers."""
    found = []
    for name, step in document["steps"].items():
        for key in TEXT_KEYS:
            for lang in document["languages"]:
                if key in step and lang not in step[key]:
                    found.append(_problem(f"steps/{name}/{key}/{lang}", "prompt_language",
                                          f"Manca il testo in {lang}", f"No text in {lang}"))
    return found


def runnable_problems(document: Mapping[str, Any]) -> list[Problem]:
    """What a document must pass to be stored at all: the engine could not run it."""
    found = schema_problems(document)
    if found:
        return found
    found = [p for p in reference_problems(document) if p.severity == "error"]
    found += voice_problems(document)
    found += missing_text_problems(document)
    if not found:
        found += silent_loop_problems(document)
    return found


# ---------------------------------------------------------------- content
def prompt_problems(document: Mapping[str, Any]) -> list[Problem]:
    """Prompts and intent labels missing in a language the flow offers."""
    languages = list(document["languages"])
    found = []
    for name, step in document["steps"].items():
        for key in TEXT_KEYS:
            for lang in languages:
                if key in step and not str(step[key].get(lang) or "").strip():
                    found.append(_problem(f"steps/{name}/{key}/{lang}", "prompt_language",
                                          f"Manca il testo in {lang}", f"No text in {lang}"))
    for intent, spec in (document.get("intents") or {}).items():
        for lang in languages:
            if not str((spec.get("label") or {}).get(lang) or "").strip():
                found.append(_problem(f"intents/{intent}/label/{lang}", "prompt_language",
                                      f"Manca l'etichetta in {lang}", f"No label in {lang}"))
    return found


def example_problems(document: Mapping[str, Any],
                     minimum: int = MIN_EXAMPLES) -> list[Problem]:
    """Intents with fewer than `minimum` example phrases in a flow language."""
    found = []
    for intent, spec in (document.get("intents") or {}).items():
        for lang in document["languages"]:
            count = len([e for e in (spec.get("examples") or {}).get(lang, []) if e.strip()])
            if count < minimum:
                found.append(_problem(
                    f"intents/{intent}/examples/{lang}", "few_examples",
                    f"Servono almeno {minimum} esempi in {lang} (ce ne sono {count})",
                    f"At least {minimum} examples in {lang} are needed (there are {count})"))
    return found


def vocabulary_problems(document: Mapping[str, Any],
                        models: VocabularySource | None) -> list[Problem]:
    """Words of each intent's phrases that the language's Vosk model does not know."""
    from speech.models import ModelUnavailable
    from speech.phrases import intent_phrases

    found = []
    installed = set(models.languages) if models is not None else set()
    intents = document.get("intents") or {}
    for lang in document["languages"]:
        if lang not in installed or models is None:
            found.append(_problem(f"languages/{lang}", "no_model",
                                  f"Nessun modello vocale installato per {lang}: il "
                                  "vocabolario non è stato controllato",
                                  f"No speech model is installed for {lang}: the vocabulary "
                                  "was not checked", severity="warning"))
            continue
        for intent, spec in intents.items():
            phrases = intent_phrases({"intents": {intent: spec}}, lang)
            try:
                missing = models.missing_words(lang, phrases)
            except ModelUnavailable as exc:
                found.append(_problem(f"languages/{lang}", "no_model", str(exc), str(exc),
                                      severity="warning"))
                break
            if missing:
                words = ", ".join(missing)
                found.append(_problem(
                    f"intents/{intent}/examples/{lang}", "vocabulary",
                    f"Il riconoscitore ({lang}) non conosce queste parole: {words}",
                    f"The recogniser ({lang}) does not know these words: {words}",
                    words=missing))
    return found


def validate(document: Mapping[str, Any], models: VocabularySource | None = None,
             *, min_examples: int = MIN_EXAMPLES) -> list[Problem]:
    """Every problem with a flow document, structural ones first; [] means publishable.

    Without `models` (the speech ModelRegistry) every language gets a `no_model` warning.
    """
    found = schema_problems(document)
    if found:
        return found
    found = reference_problems(document)
    if any(p.severity == "error" for p in found):
        return found
    found += voice_problems(document)
    found += path_problems(document)
    found += prompt_problems(document)
    found += example_problems(document, min_examples)
    found += vocabulary_problems(document, models)
    return found


def blocking(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that forbid publishing even knowingly."""
    return [p for p in problems if p.blocking]
