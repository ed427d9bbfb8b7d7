"""Test cases in bulk (ivr.admin.cases): the shipped set, CSV/YAML import and export, and
the gate's figures per intent and per language."""

from __future__ import annotations

import csv
import io
from io import BytesIO
from typing import Any

import yaml
from sqlalchemy import func, select

from ivr.admin.cases import CasesUnreadable, parse, seed_default_cases
from ivr.admin.models import FlowTestCase
from tests.test_ivr_admin import admin_app, logged_in


def _count(app: Any) -> int:
    with app.extensions["db"].transaction() as session:
        return int(session.scalar(select(func.count()).select_from(FlowTestCase)) or 0)


def test_the_default_flow_ships_its_dev_cases_in_both_languages(make_app: Any) -> None:
    app = admin_app(make_app)
    with app.extensions["db"].transaction() as session:
        added = seed_default_cases(session)
    assert added == 240 and _count(app) == 240
    with app.extensions["db"].transaction() as session:
        langs = set(session.scalars(select(FlowTestCase.lang)))
        assert langs == {"it", "en"}
        assert seed_default_cases(session) == 0  # idempotent


def test_parse_reads_csv_and_yaml_and_refuses_anything_else() -> None:
    assert parse("lang,expected,text\nit,billing,la bolletta\n") == [
        {"lang": "it", "expected": "billing", "text": "la bolletta"}]
    assert parse("cases:\n  - {lang: en, expected: none, text: hi}\n", "x.yaml") == [
        {"lang": "en", "expected": "none", "text": "hi"}]
    for bad in ("just,some\nwords,here\n", "cases: 3\n"):
        try:
            parse(bad)
        except CasesUnreadable:
            continue
        raise AssertionError(f"{bad!r} was accepted")


def test_import_then_export_round_trips_and_refuses_bad_rows(make_app: Any) -> None:
    app = admin_app(make_app)
    client = logged_in(app)
    text = ("lang,expected,text\nit,billing,la bolletta è sbagliata\n"
            "en,outage,the power is off\nfr,billing,la facture\nit,nothing,boh\n"
            "it,billing,la bolletta è sbagliata\n")
    page = client.post("/admin/flows/main/cases/import", data={
        "file": (BytesIO(text.encode()), "cases.csv")}, content_type="multipart/form-data")
    body = page.get_data(as_text=True)
    assert "2 cases added, 1 already there, 2 refused" in body
    assert "language &#39;fr&#39;" in body and "no intent named &#39;nothing&#39;" in body
    exported = client.get("/admin/flows/main/cases.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["text"] for r in rows] == ["la bolletta è sbagliata", "the power is off"]
    as_yaml = yaml.safe_load(client.get("/admin/flows/main/cases.yaml").get_data(as_text=True))
    assert as_yaml["cases"][1] == {"lang": "en", "expected": "outage",
                                   "text": "the power is off"}
    again = client.post("/admin/flows/main/cases/import", data={
        "file": (BytesIO(yaml.safe_dump(as_yaml).encode()), "cases.yaml")},
        content_type="multipart/form-data")
    assert "0 cases added, 2 already there" in again.get_data(as_text=True)


def test_the_gate_shows_figures_per_intent_and_language_and_changed_cases(
        make_app: Any) -> None:
    app = admin_app(make_app)
    client = logged_in(app)
    text = ("lang,expected,text\nit,billing,la bolletta è troppo alta\n"
            "it,outage,sono senza luce da stamattina\n"
            "en,outage,the power has been off since this morning\n")
    client.post("/admin/flows/main/cases/import", data={
        "file": (BytesIO(text.encode()), "cases.csv")}, content_type="multipart/form-data")
    with app.extensions["db"].transaction() as session:
        from ivr.flow_store import published_version
        document = published_version(session, "main").document  # type: ignore[union-attr]
    document["intents"]["outage"]["examples"] = {"it": ["problema tecnico"] * 5,
                                                 "en": ["technical problem"] * 5}
    document["intents"]["outage"]["keywords"] = {}
    client.post("/admin/flows/main/yaml", data={"document": yaml.safe_dump(document)})
    review = client.get("/admin/flows/main/publish").get_data(as_text=True)
    assert 'id="per-intent"' in review and 'data-key="outage"' in review
    assert 'id="per-language"' in review and 'data-key="en"' in review
    assert 'id="changed-cases"' in review and "sono senza luce da stamattina" in review
