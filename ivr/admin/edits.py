"""Structural edits of a flow document for the form editor: steps and intents in and out.

Pure functions over a document (a dict as stored): each returns an edited copy, or raises
`EditRefused` with `Problem`s at the path of the form field that explains why, e.g. a step
that other steps still route to cannot be removed, and the refusal lists them. What each
step type needs comes from the flow schema (ivr/flow_schema.json): its `type` enum and the
fields each type requires; `OPTIONAL_TARGETS` adds the route fields the engine reads when a
type has them (the schema allows every route field on every step, so the editor offers the
rest too, folded away); `STEP_OPTIONS` the type's own settings (a transfer's ring time).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flowdoc import DEFAULT_SETTINGS, TARGET_KEYS, TEXT_KEYS, flow_schema
from ivr.validation import Problem

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
OPTIONAL_TARGETS: dict[str, tuple[str, ...]] = {
    "ask": ("confirm", "on_failure"),
    "confirm": ("on_failure",),
    "collect_number": ("on_failure",),
    "ask_time": ("on_failure",),
    "route": ("not_digital",),
}
"""Route fields a step type may have beyond the ones the schema requires."""
STEP_OPTIONS: dict[str, tuple[str, ...]] = {
    "say": ("digital_only",),
    "transfer": ("number", "timeout"),
    "record": ("max_length",),
}
"""A step type's own settings, offered only where the engine reads them (ivr.walker)."""
FIXED_FIELDS: dict[str, dict[str, Any]] = {"ask": {"expecting": "intent"}}
"""Fields a new step of a type gets without asking (the schema allows only one value)."""


class EditRefused(ValueError):
    """An edit cannot be made as asked; `problems` say why, at the field concerned."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.text("en") for p in problems))
        self.problems = problems


def _refuse(path: str, it: str, en: str) -> EditRefused:
    return EditRefused([Problem(path, "form", {"it": it, "en": en})])


@dataclass(frozen=True)
class StepFields:
    """The fields the editor offers for one step type."""

    texts: tuple[str, ...]  # prompts, one text per language each
    targets: tuple[str, ...]  # route fields the type uses (required ones first)
    other_targets: tuple[str, ...]  # route fields the schema allows but the type rarely needs
    required: frozenset[str]
    routes: bool  # routes {intent: step, default: step}
    options: tuple[str, ...] = ()  # the type's own settings (STEP_OPTIONS)


def step_types() -> list[str]:
    """The step types the flow schema allows, in its order."""
    return list(flow_schema()["$defs"]["step"]["properties"]["type"]["enum"])


def _required(step_type: str) -> frozenset[str]:
    for rule in flow_schema()["$defs"]["step"].get("allOf", []):
        if rule["if"]["properties"]["type"].get("const") == step_type:
            return frozenset(rule["then"].get("required", []))
    return frozenset()


def step_fields(step_type: str) -> StepFields:
    """What a step of `step_type` has: prompts, route fields, whether it routes, settings."""
    required = _required(step_type)
    targets = [k for k in TARGET_KEYS if k in required]
    targets += [k for k in OPTIONAL_TARGETS.get(step_type, ()) if k not in targets]
    return StepFields(texts=tuple(k for k in TEXT_KEYS if k in required),
                      targets=tuple(targets),
                      other_targets=tuple(k for k in TARGET_KEYS if k not in targets),
                      required=required, routes="routes" in required,
                      options=STEP_OPTIONS.get(step_type, ()))


def human_step(document: Mapping[str, Any]) -> str:
    """The step that reaches a human (settings.human_step, or the default name)."""
    settings = document.get("settings") or {}
    return str(settings.get("human_step", DEFAULT_SETTINGS["human_step"]))


def references(document: Mapping[str, Any], name: str) -> list[str]:
    """Every form field that names step `name` ("steps.ask_need.next", "start", ...)."""
    found = ["start"] if document.get("start") == name else []
    if human_step(document) == name:
        found.append("settings.human_step")
    for other, step in document["steps"].items():
        found += [f"steps.{other}.{key}" for key in TARGET_KEYS if step.get(key) == name]
        found += [f"steps.{other}.routes.{intent}"
                  for intent, target in (step.get("routes") or {}).items() if target == name]
    return found


def _check_name(document: Mapping[str, Any], name: str, field: str) -> None:
    if not NAME.match(name):
        raise _refuse(field, f"Nome {name!r} non valido: lettere minuscole, cifre e _, "
                      "iniziando con una lettera",
                      f"Invalid name {name!r}: lower-case letters, digits and _, starting "
                      "with a letter")
    if name in document["steps"]:
        raise _refuse(field, f"Esiste già un passo {name!r}", f"There is already a step {name!r}")


def add_step(document: Mapping[str, Any], name: str, step_type: str,
             texts: Mapping[str, Mapping[str, str]], targets: Mapping[str, str],
             routes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A copy of `document` with a new step `name` of `step_type` at the end.

    `texts` is {"prompt": {lang: text}, ...}, `targets` {"next": step, ...}, `routes`
    {intent: step, "default": step}; fields the type does not use are ignored, empty ones
    dropped. Refused (EditRefused, at "new_step.<field>") for a bad or taken name, an
    unknown type, or a field the type requires left empty.
    """
    doc: dict[str, Any] = copy.deepcopy(dict(document))
    _check_name(doc, name, "new_step/key")
    if step_type not in step_types():
        raise _refuse("new_step/type", f"Tipo di passo sconosciuto: {step_type!r}",
                      f"Unknown step type: {step_type!r}")
    fields = step_fields(step_type)
    step: dict[str, Any] = {"type": step_type, **copy.deepcopy(FIXED_FIELDS.get(step_type, {}))}
    problems: list[Problem] = []
    for key in fields.texts:
        text = {lang: " ".join(str(value).split()) for lang, value in texts.get(key, {}).items()}
        text = {lang: value for lang, value in text.items() if value}
        if text:
            step[key] = text
        elif key in fields.required:
            problems.append(Problem(f"new_step/{key}/{doc['default_language']}", "form",
                                    {"it": "Testo obbligatorio per questo tipo di passo",
                                     "en": "This step type needs this text"}))
    for key in fields.targets + fields.other_targets:
        if targets.get(key):
            step[key] = targets[key]
        elif key in fields.required:
            problems.append(Problem(f"new_step/{key}", "form",
                                    {"it": "Obbligatorio per questo tipo di passo",
                                     "en": "This step type needs this field"}))
    if fields.routes:
        step["routes"] = {intent: target for intent, target in (routes or {}).items() if target}
        if "default" not in step["routes"]:
            problems.append(Problem("new_step/routes/default", "form",
                                    {"it": "Serve una strada predefinita",
                                     "en": "A default route is needed"}))
    if problems:
        raise EditRefused(problems)
    doc["steps"][name] = step
    return doc


def remove_step(document: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A copy of `document` without step `name`; refused while anything still leads to it."""
    doc: dict[str, Any] = copy.deepcopy(dict(document))
    if name not in doc["steps"]:
        raise _refuse(f"steps/{name}", f"Nessun passo {name!r}", f"No step named {name!r}")
    if doc.get("start") == name:
        raise _refuse(f"steps/{name}", f"{name!r} è il passo iniziale: scegliere prima un "
                      "altro passo iniziale", f"{name!r} is the start step: choose another "
                      "start step first")
    pointing = [ref for ref in references(doc, name)
                if not ref.startswith(f"steps.{name}.")]
    if pointing:
        where = ", ".join(pointing)
        raise _refuse(f"steps/{name}", f"Non si può togliere {name!r}: ci portano ancora "
                      f"{where}. Cambiare prima questi campi.", f"Cannot remove {name!r}: "
                      f"it is still the target of {where}. Change those fields first.")
    del doc["steps"][name]
    return doc


def rename_step(document: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """A copy with step `old` called `new`, every route to it (and start, human step) updated."""
    doc: dict[str, Any] = copy.deepcopy(dict(document))
    if old not in doc["steps"]:
        raise _refuse(f"steps/{old}", f"Nessun passo {old!r}", f"No step named {old!r}")
    if new == old:
        return doc
    _check_name(doc, new, f"steps/{old}/key")
    was_human = human_step(doc) == old
    doc["steps"] = {(new if key == old else key): step for key, step in doc["steps"].items()}
    for step in doc["steps"].values():
        for key in TARGET_KEYS:
            if step.get(key) == old:
                step[key] = new
        routes = step.get("routes") or {}
        for intent, target in routes.items():
            if target == old:
                routes[intent] = new
    if doc.get("start") == old:
        doc["start"] = new
    if was_human:
        doc.setdefault("settings", {})["human_step"] = new
    return doc


def move_step(document: Mapping[str, Any], name: str, offset: int) -> dict[str, Any]:
    """A copy with step `name` moved `offset` places (-1: up) in the editor's order."""
    doc: dict[str, Any] = copy.deepcopy(dict(document))
    order = list(doc["steps"])
    if name not in order:
        raise _refuse(f"steps/{name}", f"Nessun passo {name!r}", f"No step named {name!r}")
    index = order.index(name)
    order.insert(max(0, min(len(order) - 1, index + offset)), order.pop(index))
    doc["steps"] = {key: doc["steps"][key] for key in order}
    return doc


def add_intent(document: Mapping[str, Any], name: str,
               labels: Mapping[str, str] | None = None,
               examples: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """A copy with a new intent `name`: its label and examples per language.

    A language without a label is labelled with the name (the validation then asks for a
    real one only if it is empty); refused for a bad or taken name (at "new_intent").
    """
    doc: dict[str, Any] = copy.deepcopy(dict(document))
    intents = doc.setdefault("intents", {})
    if not NAME.match(name):
        raise _refuse("new_intent", f"Nome {name!r} non valido: lettere minuscole, cifre e _",
                      f"Invalid name {name!r}: lower-case letters, digits and _")
    if name in intents:
        raise _refuse("new_intent", f"Esiste già un intento {name!r}",
                      f"There is already an intent {name!r}")
    languages = list(doc["languages"])
    label = {lang: " ".join((labels or {}).get(lang, "").split()) or name for lang in languages}
    phrases = {lang: [" ".join(p.split()) for p in (examples or {}).get(lang, []) if p.strip()]
               for lang in languages}
    intents[name] = {"label": label, "examples": phrases}
    return doc


def intent_references(document: Mapping[str, Any], name: str) -> list[str]:
    """Form fields that use intent `name`: keypad digits and routes of steps."""
    found: list[str] = []
    for step_name, step in document["steps"].items():
        found += [f"steps.{step_name}.keypad.{digit}"
                  for digit, intent in (step.get("keypad") or {}).items() if intent == name]
        if name in (step.get("routes") or {}):
            found.append(f"steps.{step_name}.routes.{name}")
    return found


def remove_intent(document: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A copy without intent `name`; refused while a keypad or a route still uses it."""
    doc: dict[str, Any] = copy.deepcopy(dict(document))
    if name not in (doc.get("intents") or {}):
        raise _refuse(f"intents/{name}", f"Nessun intento {name!r}", f"No intent named {name!r}")
    using = intent_references(doc, name)
    if using:
        where = ", ".join(using)
        raise _refuse(f"intents/{name}", f"Non si può eliminare {name!r}: lo usano ancora "
                      f"{where}. Cambiare prima questi campi.", f"Cannot delete {name!r}: "
                      f"{where} still use it. Change those fields first.")
    del doc["intents"][name]
    return doc
