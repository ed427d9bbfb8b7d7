"""A flow from scratch in the admin console (ivr.admin.starter), without YAML: created,
grown in the form, test-called, given 50 test cases, gated and published."""

from __future__ import annotations

import io
from typing import Any

import yaml
from flask import Flask
from sqlalchemy import select

from ivr.admin.starter import parse_languages, starter_document
from ivr.flowdoc import check_document
from ivr.models import Flow, FlowVersion
from ivr.validation import validate
from tests.admin_journey import INTENTS, PROMPTS, case_rows
from tests.test_ivr_admin import admin_app, logged_in


def versions_of(app: Flask, key: str) -> list[FlowVersion]:
    with app.extensions["db"].transaction() as session:
        return list(session.scalars(select(FlowVersion).join(Flow).where(Flow.key == key)
                                    .order_by(FlowVersion.number)))


def test_the_starter_is_a_valid_flow_in_every_language() -> None:
    document = check_document(starter_document("shop", "Shop", ["it", "en", "fr"]))
    assert document["default_language"] == "it"
    assert [p for p in validate(document, None) if p.severity == "error"] == []
    assert set(document["steps"]["welcome"]["prompt"]) == {"it", "en", "fr"}
    assert parse_languages(" it, en;it  fr ") == ["it", "en", "fr"]


def test_a_new_flow_is_refused_with_a_bad_or_taken_key_or_no_language(make_app: Any) -> None:
    client = logged_in(admin_app(make_app))
    for form, why in [({"key": "Shop!", "languages": "it"}, "Invalid key"),
                      ({"key": "main", "languages": "it"}, "There is already a flow"),
                      ({"key": "shop", "languages": ""}, "language codes"),
                      ({"key": "shop", "languages": "it, english"}, "not valid: english")]:
        answer = client.post("/admin/flows", data=form)
        assert answer.status_code == 422 and why in answer.get_data(as_text=True), form


def grow_shop_flow(client: Any) -> None:
    """What an admin does in the form: two intents, two answers, a route, a question."""
    for name, spec in INTENTS.items():
        form = {"new_intent": name}
        for lang in ("it", "en"):
            form[f"new_intent.label.{lang}"] = spec["label"][lang]
            form[f"new_intent.examples.{lang}"] = "\n".join(spec["examples"][lang])
        assert client.post("/admin/flows/shop/form", data=form).status_code == 303
    for name in ("orders_info", "returns_info"):
        assert client.post("/admin/flows/shop/form", data={
            "op": "add_step", "new_step.key": name, "new_step.type": "say",
            "new_step.prompt.it": PROMPTS[name]["it"], "new_step.prompt.en": PROMPTS[name]["en"],
            "new_step.next": "goodbye"}).status_code == 303
    assert client.post("/admin/flows/shop/form", data={
        "op": "add_step", "new_step.key": "route_need", "new_step.type": "route",
        "new_step.routes.orders": "orders_info", "new_step.routes.returns": "returns_info",
        "new_step.routes.default": "human"}).status_code == 303
    assert client.post("/admin/flows/shop/form", data={
        "op": "add_step", "new_step.key": "ask_need", "new_step.type": "ask",
        "new_step.prompt.it": PROMPTS["ask_need"]["it"],
        "new_step.prompt.en": PROMPTS["ask_need"]["en"],
        "new_step.reprompt.it": PROMPTS["ask_need_again"]["it"],
        "new_step.reprompt.en": PROMPTS["ask_need_again"]["en"],
        "new_step.next": "route_need", "new_step.on_failure": "human"}).status_code == 303
    assert client.post("/admin/flows/shop/form", data={
        "steps.welcome.next": "ask_need"}).status_code == 303


def test_a_flow_from_scratch_is_tried_gated_on_fifty_cases_and_published(
        make_app: Any) -> None:
    app = admin_app(make_app)
    client = logged_in(app)
    created = client.post("/admin/flows", data={"key": "shop", "name": "Shop",
                                                "languages": "it, en"})
    assert created.status_code == 303 and created.location.endswith("/admin/flows/shop")
    grow_shop_flow(client)
    draft = versions_of(app, "shop")[-1]
    assert draft.status == "draft" and draft.document["start"] == "welcome"
    assert [p for p in validate(draft.document, None) if p.severity == "error"] == []
    for lang, words, intent, step in [("it", "il pacco non è arrivato", "orders", "orders_info"),
                                      ("en", "I want to return an item", "returns",
                                       "returns_info")]:
        call = client.post("/admin/flows/shop/try", data={"lang": lang, "text": words}).json
        assert call["intent"] == intent and step in call["path"], call
    upload = yaml.safe_dump({"cases": case_rows()}, allow_unicode=True).encode()
    imported = client.post("/admin/flows/shop/cases/import", data={
        "file": (io.BytesIO(upload), "shop-cases.yaml")}, content_type="multipart/form-data")
    assert "50 cases added" in imported.get_data(as_text=True)
    review = client.get("/admin/flows/shop/publish").get_data(as_text=True)
    assert "at least as well" in review, review[review.find('id="evaluation"'):][:3000]
    client.post("/admin/flows/shop/publish", data={"checksum": draft.checksum})
    assert [v.status for v in versions_of(app, "shop")] == ["published"]
