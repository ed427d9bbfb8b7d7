"""The form-based flow editor's side of a document: field names in, a document out.

Every form field is named after the path of the value it edits, with dots
("steps.ask_need.prompt.en", "intents.billing.examples.it", "settings.confirm_below"),
so a validation Problem's path ("steps/ask_need/prompt/en") finds its field. Applying a
form starts from the current document and only changes the fields the form carries. Then
come the structural edits (`ivr.admin.edits`): the button pressed (`op`: "add_step",
"remove_step:<name>", "move_up:<name>", "move_down:<name>"), a filled-in new step
(`new_step.*`) or intent (`new_intent*`), renamed step keys (`steps.<name>.key`) and
deleted intents (`intents.<name>.delete`).

An emptied optional field (a number, a phone number, a text) is removed from the document,
so the default applies again. Numbers out of the schema's range, and phone numbers that are
not real numbers, are problems at their field. A checkbox ("settings.barge_in",
"steps.<name>.digital_only") comes with a hidden marker "<field>.shown": an unchecked box
is absent from a posted form, so the marker alone turns the setting off, while a form with
neither leaves it as it was.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from ivr.admin import edits as admin_edits
from ivr.admin.edits import EditRefused
from ivr.admin.form_fields import (
    bad,
    bounds,
    choices,
    items,
    lines,
    put,
    put_flag,
    read_number,
    read_phone,
)
from ivr.flowdoc import DEFAULT_SETTINGS, TARGET_KEYS, TEXT_KEYS
from ivr.hours import WEEKDAYS
from ivr.validation import Problem

FLOAT_SETTINGS = ("confirm_below", "reject_below", "asr_reject_below")
INT_SETTINGS = ("listen_timeout",)
TEXT_SETTINGS = ("timezone", "human_step")
PHONE_SETTINGS = ("transfer_number",)
CHOICE_SETTINGS = ("speech_input",)
FLAG_SETTINGS = ("barge_in",)
LANGUAGE_SETTINGS = ("say_language", "voice")
"""Settings that are {language: text}, one field per flow language ("settings.voice.it")."""
SLOW_SETTINGS = {"listen_timeout": int, "pause_seconds": int, "prosody_rate": str}
STEP_NUMBERS = ("timeout", "max_length")
STEP_DEFAULTS = {"timeout": 30, "max_length": 90}
"""What ivr.walker uses when a transfer has no `timeout` or a record step no `max_length`."""
KEYPAD_DIGITS = tuple("123456789")
COUNTRY = re.compile(r"[A-Z]{2}")


class FormError(ValueError):
    """A form value could not be read or an edit was refused, with its field.

    `document` is the document with what could be applied (to show the form again).
    """

    def __init__(self, problems: list[Problem], document: dict[str, Any] | None = None) -> None:
        super().__init__("; ".join(p.text("en") for p in problems))
        self.problems = problems
        self.document = document


def _settings(doc: dict[str, Any], form: Mapping[str, str], problems: list[Problem]) -> None:
    settings = doc.setdefault("settings", {})
    numeric: list[tuple[str, type]] = [(n, float) for n in FLOAT_SETTINGS]
    numeric += [(n, int) for n in INT_SETTINGS]
    for name, kind in numeric:
        field = f"settings.{name}"
        put(settings, name, form, field, partial(read_number, field=field, kind=kind,
                                                  problems=problems,
                                                  limits=bounds("settings", name)))
    for name in TEXT_SETTINGS:
        put(settings, name, form, f"settings.{name}")
    for name in PHONE_SETTINGS:
        field = f"settings.{name}"
        put(settings, name, form, field, partial(read_phone, field=field, problems=problems))
    for name in FLAG_SETTINGS:
        put_flag(settings, name, form, f"settings.{name}")
    if "settings.holidays" in form:
        settings["holidays"] = form["settings.holidays"].strip().upper() or None
    if "settings.extra_closed_days" in form:
        days = items(form["settings.extra_closed_days"])
        if days:
            settings["extra_closed_days"] = days
        else:
            settings.pop("extra_closed_days", None)
    if any(f"settings.opening_hours.{day}" in form for day in WEEKDAYS):
        hours = {day: items(form.get(f"settings.opening_hours.{day}", "")) for day in WEEKDAYS}
        settings["opening_hours"] = {day: spans for day, spans in hours.items() if spans}
    slow = settings.setdefault("not_digital", {})
    for name, kind in SLOW_SETTINGS.items():
        field = f"settings.not_digital.{name}"
        put(slow, name, form, field, None if kind is str else partial(
            read_number, field=field, kind=kind, problems=problems,
            limits=bounds("settings", "not_digital", name)))
    if not slow:
        settings.pop("not_digital")
    _speech_settings(doc, settings, form, problems)


def _change(settings: dict[str, Any], name: str, value: Any) -> None:
    """Write a setting only if it differs from what applies now (its value or the default)."""
    if value != settings.get(name, DEFAULT_SETTINGS.get(name)):
        settings[name] = value


def _speech_settings(doc: dict[str, Any], settings: dict[str, Any], form: Mapping[str, str],
                     problems: list[Problem]) -> None:
    """How the flow listens and speaks: recogniser, voices, language by caller's country."""
    for name in CHOICE_SETTINGS:
        field = f"settings.{name}"
        if field in form:
            value = form[field].strip()
            allowed = choices("settings", name)
            if value in allowed:
                _change(settings, name, value)
            else:
                problems.append(bad(field, f"Scegliere fra {', '.join(allowed)}",
                                     f"Choose one of {', '.join(allowed)}"))
    for name in LANGUAGE_SETTINGS:
        table = dict(settings.get(name, DEFAULT_SETTINGS[name]))
        for lang in doc["languages"]:
            put(table, lang, form, f"settings.{name}.{lang}")
        _change(settings, name, table)
    field = "settings.language_by_country"
    if field in form:
        countries: dict[str, str] = {}
        wrong: list[str] = []
        for item in items(form[field]):
            country, colon, lang = (part.strip() for part in item.partition(":"))
            if colon and COUNTRY.fullmatch(country.upper()) and lang.lower() in doc["languages"]:
                countries[country.upper()] = lang.lower()
            else:
                wrong.append(item)
        if wrong:
            languages = ", ".join(doc["languages"])
            problems.append(bad(field, f"Non valido: {'; '.join(wrong)}. Scrivere PAESE: "
                                 f"lingua, con una lingua del flusso ({languages})",
                                 f"Not valid: {'; '.join(wrong)}. Write COUNTRY: language, "
                                 f"with a language of the flow ({languages})"))
        else:
            _change(settings, "language_by_country", countries)


def _general(doc: dict[str, Any], form: Mapping[str, str], problems: list[Problem]) -> None:
    """The flow's name, note, languages, start step and the numbers it answers."""
    if "languages" in form:
        doc["languages"] = items(form["languages"])
    for key in ("default_language", "start", "name"):
        if form.get(key, "").strip():
            doc[key] = form[key].strip()
    put(doc, "note", form, "note")
    if "numbers" in form:
        typed = items(form["numbers"])
        numbers = [n for n in (read_phone(raw, "numbers", problems) for raw in typed) if n]
        if numbers and len(numbers) == len(typed):
            doc["numbers"] = list(dict.fromkeys(numbers))
        elif not typed:
            doc.pop("numbers", None)


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
                    values = lines(form[field]) if part == "examples" else items(form[field])
                    spec.setdefault(part, {})[lang] = values


def _steps(doc: dict[str, Any], form: Mapping[str, str], problems: list[Problem]) -> None:
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
        _step_options(name, step, form, problems)


def _step_options(name: str, step: dict[str, Any], form: Mapping[str, str],
                  problems: list[Problem]) -> None:
    """A step's own settings (admin_edits.STEP_OPTIONS): ring time, number, length, flag."""
    for key in STEP_NUMBERS:
        field = f"steps.{name}.{key}"
        put(step, key, form, field, partial(read_number, field=field, kind=int, problems=problems,
                                             limits=bounds("step", key)))
    field = f"steps.{name}.number"
    put(step, "number", form, field, partial(read_phone, field=field, problems=problems))
    put_flag(step, "digital_only", form, f"steps.{name}.digital_only")


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
        {lang: lines(form.get(f"new_intent.examples.{lang}", "")) for lang in languages})


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
    _general(doc, form, problems)
    _settings(doc, form, problems)
    _intents(doc, form)
    _steps(doc, form, problems)
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
