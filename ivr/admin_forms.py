"""The form-based flow editor's side of a document: field names in, a document out.

Every form field is named after the path of the value it edits, with dots
("steps.ask_need.prompt.en", "intents.billing.examples.it", "settings.confirm_below"),
so a validation Problem's path ("steps/ask_need/prompt/en") finds its field. Applying a
form starts from the current document and only changes the fields the form carries; what
the form cannot express (adding a step) is done in the YAML editor.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ivr.flowdoc import TARGET_KEYS, TEXT_KEYS
from ivr.hours import WEEKDAYS
from ivr.validation import Problem

FLOAT_SETTINGS = ("confirm_below", "reject_below")
INT_SETTINGS = ("listen_timeout",)
TEXT_SETTINGS = ("timezone", "transfer_number", "human_step")
SLOW_SETTINGS = {"listen_timeout": int, "pause_seconds": int, "prosody_rate": str}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class FormError(ValueError):
    """A form value could not be read (e.g. a number that is not one), with its field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.text("en") for p in problems))
        self.problems = problems


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


def _intents(doc: dict[str, Any], form: Mapping[str, str], problems: list[Problem]) -> None:
    intents = doc.setdefault("intents", {})
    new = form.get("new_intent", "").strip().lower()
    if new:
        if not _NAME.match(new):
            problems.append(_bad("new_intent", "Nome non valido (lettere minuscole, cifre, _)",
                                 "Invalid name (lower-case letters, digits, _)"))
        elif new not in intents:
            intents[new] = {"label": {lang: new for lang in doc["languages"]},
                            "examples": {lang: [] for lang in doc["languages"]}}
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
    for name in [n for n in intents if form.get(f"intents.{n}.delete")]:
        del intents[name]


def _steps(doc: dict[str, Any], form: Mapping[str, str]) -> None:
    for name, step in doc["steps"].items():
        for key in TEXT_KEYS:
            for lang in doc["languages"]:
                field = f"steps.{name}.{key}.{lang}"
                if field in form:
                    step.setdefault(key, {})[lang] = " ".join(form[field].split())
                    if not step[key][lang]:
                        del step[key][lang]
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


def apply_form(document: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """A copy of `document` with the form's values applied; raises FormError on bad input."""
    doc: dict[str, Any] = copy.deepcopy(dict(document))
    problems: list[Problem] = []
    if "languages" in form:
        doc["languages"] = _items(form["languages"])
    for key in ("default_language", "start", "name"):
        if form.get(key, "").strip():
            doc[key] = form[key].strip()
    _settings(doc, form, problems)
    _intents(doc, form, problems)
    _steps(doc, form)
    if problems:
        raise FormError(problems)
    return doc


def problems_by_field(problems: Iterable[Problem]) -> dict[str, list[Problem]]:
    """Problems keyed by the form field they belong to ("steps.x.prompt.en")."""
    table: dict[str, list[Problem]] = {}
    for problem in problems:
        table.setdefault(problem.path.replace("/", "."), []).append(problem)
    return table
