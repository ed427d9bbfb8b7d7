"""Callers' digital profiles as CSV (number, not_digital, reason), and what the rules did.

Import goes through `callbacks.profiles` (normalising numbers, keeping the audit trail,
re-ranking open requests), as an admin's decision that rules will not override. Export
lists every known caller. `rule_effects` counts how many callers each inference rule
flagged in a period ("this rule flagged 34 callers last month").
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callbacks.models import Caller, DigitalProfileChange
from callbacks.profiles import InvalidPhone, get_or_create_caller, set_not_digital

HEADER = ("number", "not_digital", "reason")
TRUE = {"1", "true", "yes", "y", "si", "sì", "x"}
FALSE = {"0", "false", "no", "n", ""}
MAX_ROWS = 50_000


@dataclass
class ImportResult:
    """Counts of an import and the rows that were refused (line number, why)."""

    changed: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
E164 = re.compile(r"\+\d{4,15}")


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet will show as text: one starting like a formula (= + - @ tab CR)
    gets a leading apostrophe (OWASP's advice); a normalised phone number is left alone."""
    if cell.startswith(FORMULA_STARTS) and not E164.fullmatch(cell):
        return "'" + cell
    return cell


def _unescape(cell: str) -> str:
    """Undo `spreadsheet_safe` on import, so an exported file imports back unchanged."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def export_csv(session: Session) -> str:
    """Every known caller as `number,not_digital,reason` CSV (with the header); cells that
    a spreadsheet would run as formulas are neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for caller in session.scalars(select(Caller).order_by(Caller.phone)):
        writer.writerow([spreadsheet_safe(caller.phone),
                         "true" if caller.not_digital else "false",
                         spreadsheet_safe(caller.not_digital_reason or "")])
    return out.getvalue()


def import_csv(session: Session, text: str, *, actor: str, now: datetime) -> ImportResult:
    """Apply `number,not_digital,reason` rows (header optional) as an admin's decisions.

    A row with an unreadable number or flag is skipped and reported; the others apply.
    """
    result = ImportResult()
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for line, row in enumerate(rows, start=1):
        if line > MAX_ROWS:
            result.errors.append((line, f"more than {MAX_ROWS} rows: the rest was ignored"))
            break
        cells = [cell.strip() for cell in row]
        if not cells or not any(cells):
            continue
        if line == 1 and cells[0].lower() in ("number", "phone", "numero"):
            continue
        flag_text = (cells[1] if len(cells) > 1 else "true").lower()
        if flag_text not in TRUE | FALSE:
            result.errors.append((line, f"not_digital must be true or false, got {cells[1]!r}"))
            continue
        try:
            caller = get_or_create_caller(session, cells[0], now)
        except InvalidPhone as exc:
            result.errors.append((line, f"{exc}"))
            continue
        reason = _unescape(cells[2]) if len(cells) > 2 and cells[2] else "imported"
        changed = set_not_digital(session, caller, flag_text in TRUE, source="import",
                                  actor=actor, reason=reason, now=now)
        if changed:
            result.changed += 1
        else:
            result.unchanged += 1
    return result


def rule_effects(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Callers each inference rule flagged as not digital in [start, end): rule -> count."""
    rows = session.execute(select(DigitalProfileChange.actor, DigitalProfileChange.caller_id)
                           .where(DigitalProfileChange.source == "rule",
                                  DigitalProfileChange.to_value.is_(True),
                                  DigitalProfileChange.at >= start,
                                  DigitalProfileChange.at < end))
    callers: dict[str, set[int]] = {}
    for actor, caller_id in rows:
        callers.setdefault(actor.removeprefix("rule:"), set()).add(caller_id)
    return dict(Counter({rule: len(ids) for rule, ids in callers.items()}).most_common())


def flag_counts(session: Session) -> dict[str, int]:
    """Callers flagged not digital now, by where the flag came from."""
    counts = Counter(session.scalars(select(Caller.not_digital_source).where(
        Caller.not_digital.is_(True))))
    return {str(source or "unknown"): n for source, n in counts.most_common()}
