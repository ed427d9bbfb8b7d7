"""Digital-profile CSV: exported cells can never run as spreadsheet formulas."""

from __future__ import annotations

import csv
import io

import pytest

from callbacks.profiles import get_or_create_caller, set_not_digital
from callbacks.profiles_csv import export_csv, import_csv
from tests.test_callbacks_support import TUESDAY_10

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "@SUM(A1:A9)", "+1+1", "-2+3",
            "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("reason", FORMULAS)
def test_a_reason_that_looks_like_a_formula_is_exported_as_text(session, reason: str) -> None:
    caller = get_or_create_caller(session, "+393331234567", TUESDAY_10)
    set_not_digital(session, caller, True, source="agent", actor="user:1", reason=reason,
                    now=TUESDAY_10)
    [header, row] = list(csv.reader(io.StringIO(export_csv(session))))
    assert row[0] == "+393331234567"  # a phone number stays a number
    assert row[2] == "'" + reason.strip()  # reasons are kept trimmed
    assert row[2][0] == "'"


def test_an_exported_file_imports_back_to_the_same_reasons(session) -> None:
    caller = get_or_create_caller(session, "+393331234567", TUESDAY_10)
    set_not_digital(session, caller, True, source="agent", actor="user:1", reason="=1+1",
                    now=TUESDAY_10)
    exported = export_csv(session)
    set_not_digital(session, caller, False, source="agent", actor="user:1", reason="reset",
                    now=TUESDAY_10)
    import_csv(session, exported, actor="user:1", now=TUESDAY_10)
    assert caller.not_digital and caller.not_digital_reason == "=1+1"
