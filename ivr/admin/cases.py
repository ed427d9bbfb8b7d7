"""A flow's test cases in bulk: the cases shipped with the default flow, import and export
as CSV or YAML (columns `lang`, `expected`, `text`; the format of `python -m speech
evaluate`). Plain functions over a session; recordings are kept but not exported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr import versions
from ivr.admin.models import FlowTestCase
from ivr.models import Flow

DEFAULT_CASES_DIR = Path(__file__).with_name("default_cases")
MAX_CASES = 5000
COLUMNS = ("lang", "expected", "text")


@dataclass
class ImportResult:
    """How many cases came in, and the rows refused with why (1-based row numbers)."""

    added: int = 0
    skipped: int = 0  # already there (same language, text and expected intent)
    refused: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    """(row, why: a translation key admin.refused.*, its values)."""


class CasesUnreadable(ValueError):
    """The uploaded file is neither CSV with the right columns nor a YAML list of cases."""


def parse(text: str, filename: str = "") -> list[dict[str, str]]:
    """Rows from CSV (a header with lang, expected, text) or YAML (a list, or `cases:`)."""
    if filename.lower().endswith((".yaml", ".yml")) or text.lstrip().startswith(
            ("cases:", "- ", "flow:", "#")):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CasesUnreadable(f"invalid YAML: {exc}") from exc
        rows = data.get("cases") if isinstance(data, Mapping) else data
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise CasesUnreadable("YAML must be a list of cases (lang, expected, text)")
        return [{k: str(r.get(k) or "").strip() for k in COLUMNS} for r in rows]
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"text", "expected"} <= set(reader.fieldnames):
        raise CasesUnreadable("CSV needs a header with the columns lang, expected, text")
    return [{k: str(r.get(k) or "").strip() for k in COLUMNS} for r in reader]


def import_rows(session: Session, flow: Flow, rows: Iterable[Mapping[str, str]], *,
                by: str, now: datetime) -> ImportResult:
    """Add valid rows as test cases of `flow` (its current document decides what is valid)."""
    document = versions.current_document(session, flow)
    intents = set(document.get("intents") or {}) | {"none"}
    languages = list(document["languages"])
    have = {(c.lang, c.text, c.expected) for c in session.scalars(
        select(FlowTestCase).where(FlowTestCase.flow_id == flow.id))}
    result = ImportResult()
    for number, row in enumerate(rows, start=1):
        lang = row.get("lang") or document["default_language"]
        expected, text = row.get("expected") or "none", (row.get("text") or "")[:2000]
        if len(have) >= MAX_CASES:
            result.refused.append((number, "admin.refused.too_many", {"most": str(MAX_CASES)}))
        elif not text:
            result.refused.append((number, "admin.refused.no_text", {}))
        elif lang not in languages:
            result.refused.append((number, "admin.refused.language", {"lang": lang}))
        elif expected not in intents:
            result.refused.append((number, "admin.refused.intent", {"intent": expected}))
        elif (lang, text, expected) in have:
            result.skipped += 1
        else:
            have.add((lang, text, expected))
            session.add(FlowTestCase(flow_id=flow.id, lang=lang, expected=expected,
                                     text=text, created_by=by, created_at=now))
            result.added += 1
    return result


def _rows(cases: Iterable[FlowTestCase]) -> list[dict[str, str]]:
    return [{"lang": c.lang, "expected": c.expected, "text": c.text or ""}
            for c in cases if c.text is not None]


def export_csv(cases: Iterable[FlowTestCase]) -> str:
    """The text cases as CSV (lang, expected, text)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(_rows(cases))
    return out.getvalue()


def export_yaml(flow_key: str, cases: Iterable[FlowTestCase]) -> str:
    """The text cases as YAML ({flow, cases: [...]})."""
    return yaml.safe_dump({"flow": flow_key, "cases": _rows(cases)}, allow_unicode=True,
                          sort_keys=False, width=200)


def seed_default_cases(session: Session, now: datetime | None = None,
                       only: str | None = None) -> int:
    """Give each shipped flow (or only the flow `only`) its shipped test cases, if it has
    none yet (the seeder; idempotent)."""
    from core.db import utcnow

    added = 0
    for path in sorted(DEFAULT_CASES_DIR.glob("*.yaml")):
        if only is not None and path.stem != only:
            continue
        flow = versions.find_flow(session, path.stem)
        if flow is None or not flow.versions:
            continue
        count = session.scalar(select(func.count()).select_from(FlowTestCase).where(
            FlowTestCase.flow_id == flow.id))
        if count:
            continue
        rows: list[Any] = parse(path.read_text(encoding="utf-8"), path.name)
        added += import_rows(session, flow, rows, by="seed", now=now or utcnow()).added
    return added


def seeder(session: Session) -> None:
    """`seed-demo`'s hook (core.cli.register_seeder): the shipped cases of shipped flows."""
    seed_default_cases(session)
