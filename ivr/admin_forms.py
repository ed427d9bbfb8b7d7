"""The form-based flow editor's side of a document: field names in, a document out.

Every form field is named after the path of the value it edits, with dots
("steps.ask_need.prompt.en", "intents.billing.examples.it", "settings.confirm_below"),
so a validation Problem's path ("steps/ask_need/prompt/en") finds its field. Applying a
form starts from the current document and only changes the fields the form carries. Then
come the structural edits (`ivr.admin_edits`): the button pressed (`op`: "add_step",
"remove_step:<name>", "move_up:<name>", "move_down:<name>"), a filled-in new step
(`new_step.*`) or intent (`new_intent*`), renamed step keys (`steps.<name>.key`) and
deleted intents (`intents.<name>.delete`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ivr import admin_edits
from ivr.admin_edits import EditRefused
from ivr.flowdoc import TARGET_KEYS, TEXT_KEYS
from ivr.hours import WEEKDAYS
from ivr.validation import Problem

FLOAT_SETTINGS = ("confirm_below", "reject_below")
INT_SETTINGS = ("listen_timeout",)
TEXT_SETTINGS = ("timezone", "transfer_number", "human_step")
SLOW_SETTINGS = {"listen_timeout": int, "pause_seconds": int, "prosody_rate": str}
KEYPAD_DIGITS = tuple("123456789")


class FormError(ValueError):
    """A form value could not be read or an edit was refused, with its field.

    `document` is the document with what could be applied (to show the form again).
    """

    def __init__(self, problems: list[Problem], document: dict[str, Any] | None = None) -> None:
        super().__init__("; ".join(p.text("en") for p in problems))
        self.problems = problems
        self.document = document


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _items(text: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]


def _bad(field: str, it: str, en: str) -> Problem:
    return Problem(field.replace(".", "/"), "form", {"it": it, "en": en})


def _number(form: Mapping[str, str], field: str, kind: type, problems: list[Problem]) -> Any:
    raw = form[field].strip().replace(",", ".")
    try:
        return kind(raw)
    except ValueError:
        problems.append(_bad(field, f"{raw!r} non è un numero", f"{raw!r} is not a number"))
        return None


def _settings(doc: dict[str, Any], form: Mapping[str, str], problems: list[Problem]) -> None:
    settings = doc.setdefault("settings", {})
    numeric: list[tuple[str, type]] = [(n, float) for n in FLOAT_SETTINGS]
    numeric += [(n, int) for n in INT_SETTINGS]
    for name, kind in numeric:
        field = f"settings.{name}"
        if field in form and form[field].strip():
            value = _number(form, field, kind, problems)
            if value is not None:
                settings[name] = value
    for name in TEXT_SETTINGS:
        if f"settings.{name}" in form:
            value = form[f"settings.{name}"].strip()
            if value:
                settings[name] = value
            else:
                settings.pop(name, None)
    if "settings.holidays" in form:
        settings["holidays"] = form["settings.holidays"].strip().upper() or None
    if "settings.extra_closed_days" in form:
        days = _items(form["settings.extra_closed_days"])
        if days:
            settings["extra_closed_days"] = days
        else:
            settings.pop("extra_closed_days", None)
    if any(f"settings.opening_hours.{day}" in form for day in WEEKDAYS):
        hours = {day: _items(form.get(f"settings.opening_hours.{day}", "")) for day in WEEKDAYS}
        settings["opening_hours"] = {day: spans for day, spans in hours.items() if spans}
    slow = settings.setdefault("not_digital", {})
    for name, kind in SLOW_SETTINGS.items():
        field = f"settings.not_digital.{name}"
        if field in form and form[field].strip():
            value = form[field].strip() if kind is str else _number(form, field, kind, problems)
            if value is not None:
                slow[name] = value
    if not slow:
        settings.pop("not_digital")


def _intents(doc: dict[str, Any], form: Mapping[str, str]) -> None:
    intents = doc.setdefault("intents", {})
    for name, spec in intents.items():
        for part in ("label", "examples", "keywords"):
            for lang in doc["languages"]:
                field = f"intents.{name}.{part}.{lang}"
                if field not in form:
                    continue
                if part == "label":
                    spec.setdefault("label", {})[lang] = form[field].strip()
                    if not spec["label"][lang]:
                        del spec["label"][lang]
                else:
                    values = _lines(form[field]) if part == "examples" else _items(form[field])
                    spec.setdefault(part, {})[lang] = values


def _steps(doc: dict[str, Any], form: Mapping[str, str]) -> None:
    for name, step in doc["steps"].items():
        for key in TEXT_KEYS:
            for lang in doc["languages"]:
                field = f"steps.{name}.{key}.{lang}"
                if field in form:
                    step.setdefault(key, {})[lang] = " ".join(form[field].split())
                    if not step[key][lang]:
                        del step[key][lang]
                    if not step[key]:
                        del step[key]
        for key in TARGET_KEYS:
            field = f"steps.{name}.{key}"
            if field in form:
                if form[field]:
                    step[key] = form[field]
                else:
                    step.pop(key, None)
        if step["type"] == "route":
            routes = step.setdefault("routes", {})
            for intent in [*doc.get("intents", {}), "default"]:
                field = f"steps.{name}.routes.{intent}"
                if field in form:
                    if form[field]:
                        routes[intent] = form[field]
                    else:
                        routes.pop(intent, None)
        if any(f"steps.{name}.keypad.{digit}" in form for digit in KEYPAD_DIGITS):
            keypad = {digit: form[f"steps.{name}.keypad.{digit}"] for digit in KEYPAD_DIGITS
                      if form.get(f"steps.{name}.keypad.{digit}")}
            if keypad:
                step["keypad"] = keypad
            else:
                step.pop("keypad", None)


def _new_step(doc: dict[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    languages = doc["languages"]
    texts = {key: {lang: form.get(f"new_step.{key}.{lang}", "") for lang in languages}
             for key in TEXT_KEYS}
    targets = {key: form.get(f"new_step.{key}", "") for key in TARGET_KEYS}
    routes = {intent: form.get(f"new_step.routes.{intent}", "")
              for intent in [*doc.get("intents", {}), "default"]}
    return admin_edits.add_step(doc, form.get("new_step.key", "").strip().lower(),
                                form.get("new_step.type", ""), texts, targets, routes)


def _new_intent(doc: dict[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    languages = doc["languages"]
    return admin_edits.add_intent(
        doc, form.get("new_intent", "").strip().lower(),
        {lang: form.get(f"new_intent.label.{lang}", "") for lang in languages},
        {lang: _lines(form.get(f"new_intent.examples.{lang}", "")) for lang in languages})


def _structure(doc: dict[str, Any], form: Mapping[str, str],
               problems: list[Problem]) -> dict[str, Any]:
    """The structural edits the form asks for, each refusal a problem at its field."""
    op, _, target = form.get("op", "").partition(":")
    edits: list[Any] = []
    if op == "remove_step":
        edits.append(lambda d: admin_edits.remove_step(d, target))
    elif op in ("move_up", "move_down"):
        edits.append(lambda d: admin_edits.move_step(d, target, -1 if op == "move_up" else 1))
    if op == "add_step" or form.get("new_step.key", "").strip():
        edits.append(lambda d: _new_step(d, form))
    if form.get("new_intent", "").strip():
        edits.append(lambda d: _new_intent(d, form))
    for name in list(doc["steps"]):
        new_key = form.get(f"steps.{name}.key", name).strip().lower()
        if new_key and new_key != name:
            edits.append(lambda d, old=name, new=new_key: admin_edits.rename_step(d, old, new))
    for name in list(doc.get("intents") or {}):
        if form.get(f"intents.{name}.delete"):
            edits.append(lambda d, intent=name: admin_edits.remove_intent(d, intent))
    for edit in edits:
        try:
            doc = edit(doc)
        except EditRefused as exc:
            problems.extend(exc.problems)
    return doc


def apply_form(document: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """A copy of `document` with the form's values and edits applied.

    Raises FormError (with the document as far as it could be applied) on bad input or a
    refused edit.
    """
    doc: dict[str, Any] = copy.deepcopy(dict(document))
    problems: list[Problem] = []
    if "languages" in form:
        doc["languages"] = _items(form["languages"])
    for key in ("default_language", "start", "name"):
        if form.get(key, "").strip():
            doc[key] = form[key].strip()
    _settings(doc, form, problems)
    _intents(doc, form)
    _steps(doc, form)
    doc = _structure(doc, form, problems)
    if problems:
        raise FormError(problems, doc)
    return doc


def problems_by_field(problems: Iterable[Problem]) -> dict[str, list[Problem]]:
    """Problems keyed by the form field they belong to ("steps.x.prompt.en")."""
    table: dict[str, list[Problem]] = {}
    for problem in problems:
        table.setdefault(problem.path.replace("/", "."), []).append(problem)
    return table


def anchor_after(form: Mapping[str, str], document: Mapping[str, Any]) -> str | None:
    """Where the editor should open after a saved edit: the step moved or added."""
    op, _, name = form.get("op", "").partition(":")
    if op in ("move_up", "move_down") and name in document["steps"]:
        return f"f-steps--{name}"
    if op == "add_step" and document["steps"]:
        return f"f-steps--{list(document['steps'])[-1]}"
    if op == "remove_step":
        return "steps"
    return None
