"""Reading one form field into a flow document: numbers within the schema's range, phone
numbers, checkboxes with their hidden marker, texts; a refused value is a Problem at its
field and leaves the old value in place. Used by the form editor (`ivr.admin.forms`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from ivr.flowdoc import flow_schema
from ivr.handoff import e164
from ivr.validation import Problem

SHOWN = ".shown"
"""Suffix of a checkbox's hidden marker: the form carries the checkbox, checked or not."""
WHOLE = re.compile(r"[+-]?[0-9]+")
DECIMAL = re.compile(r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)")


def schema_property(*path: str) -> dict[str, Any]:
    """The flow schema's definition of a field: ("step", "timeout"), ("settings", "barge_in"),
    ("settings", "not_digital", "pause_seconds")."""
    defs = flow_schema()["$defs"]
    node: dict[str, Any] = defs[path[0]]
    for key in path[1:]:
        node = node["properties"][key]
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def bounds(*path: str) -> tuple[Any, Any]:
    """The (minimum, maximum) the schema allows for a numeric field (None: no limit)."""
    node = schema_property(*path)
    return node.get("minimum"), node.get("maximum")


def choices(*path: str) -> list[str]:
    """The values the schema allows for a field with a fixed set (its `enum`)."""
    return list(schema_property(*path)["enum"])


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def items(text: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]


def bad(field: str, it: str, en: str) -> Problem:
    return Problem(field.replace(".", "/"), "form", {"it": it, "en": en})


def read_number(raw: str, field: str, kind: type, problems: list[Problem],
            limits: tuple[Any, Any] = (None, None)) -> Any:
    """`raw` as an int or float within `limits`, else None and a problem at `field`."""
    raw = raw.strip().replace(",", ".")
    if not (WHOLE if kind is int else DECIMAL).fullmatch(raw):
        if kind is int and DECIMAL.fullmatch(raw):
            problems.append(bad(field, f"{raw!r} non è un numero intero",
                                 f"{raw!r} is not a whole number"))
        else:
            problems.append(bad(field, f"{raw!r} non è un numero", f"{raw!r} is not a number"))
        return None
    value = kind(raw)
    low, high = limits
    if not math.isfinite(value) or (low is not None and value < low) or (
            high is not None and value > high):
        problems.append(bad(field, f"{raw} è fuori dai limiti: da {low} a {high}",
                             f"{raw} is out of range: {low} to {high}"))
        return None
    return value


def read_phone(raw: str, field: str, problems: list[Problem]) -> str | None:
    """`raw` as an E.164 number ("+390212345678"), else None and a problem at `field`."""
    number = e164(raw)
    if number is None:
        problems.append(bad(field, f"{raw!r} non è un numero di telefono valido "
                             "(es. +39 02 1234 5678)",
                             f"{raw!r} is not a valid phone number (e.g. +39 02 1234 5678)"))
    return number


def put(target: dict[str, Any], key: str, form: Mapping[str, str], field: str,
         read: Callable[[str], Any] | None = None) -> None:
    """Set `target[key]` from `field` if the form carries it: empty removes it; `read`
    converts the text (None: it was refused with a problem, the old value stays)."""
    if field not in form:
        return
    raw = form[field].strip()
    if not raw:
        target.pop(key, None)
        return
    value = read(raw) if read is not None else raw
    if value is not None:
        target[key] = value


def checked(form: Mapping[str, str], field: str) -> bool | None:
    """A checkbox's state: True or False if the form carries it (or its marker), else None."""
    if field in form:
        return form[field].strip().lower() not in ("", "0", "false", "off", "no")
    return False if field + SHOWN in form else None


def put_flag(target: dict[str, Any], key: str, form: Mapping[str, str], field: str) -> None:
    """A checked box sets `key` to true; an unchecked one removes it (both default to off)."""
    state = checked(form, field)
    if state:
        target[key] = True
    elif state is False:
        target.pop(key, None)
