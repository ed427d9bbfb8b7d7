"""The admin console's new pages in headless Chromium: the flow map, the landing page,
bulk test cases and the gate per intent and language, the tuning loop, and axe-core
(tests/assets/axe.min.js) on every admin page. Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from ivr.flow_store import create_draft
from ivr.models import Flow, FlowVersion
from tests.browser import admin_server, axe_violations

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.browser
def test_the_map_draws_every_step_and_branch_and_marks_a_trap(make_live_server: Any,
                                                              browser: Any) -> None:
    live = admin_server(make_live_server)
    with live.app.extensions["db"].transaction() as session:
        document = copy.deepcopy(session.scalar(select(FlowVersion).join(Flow).where(
            Flow.key == "main")).document)
        document["steps"]["limbo"] = {  # asks, but only ever leads back to itself
            "type": "confirm", "prompt": {"it": "Sicuro?", "en": "Sure?"},
            "reprompt": {"it": "Sicuro?", "en": "Sure?"}, "on_yes": "limbo", "on_no": "limbo"}
        document["steps"]["route_need"]["routes"]["payment"] = "limbo"  # a new branch
        create_draft(session, document, note="a trap")
        steps = len(document["steps"])
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows/main/map")
    page.wait_for_selector(f"#flow-map[data-drawn='{steps}']")
    assert page.locator("#flow-map a.step").count() == steps
    assert page.locator("#flow-map g.edge[data-from='route_need'][data-to='limbo']"
                        "[data-label='routes/payment']").count() == 1
    assert page.locator("#flow-map text.edge-label", has_text="routes/outage").count() == 1
    trap = page.locator("#flow-map a.step[data-step='limbo']")
    assert "loop" in (trap.get_attribute("class") or "")
    assert "loop" not in (page.locator("#flow-map a.step[data-step='goodbye']")
                          .get_attribute("class") or "")
    browser.screenshot(page, "admin-flow-map")
    page.click("#flow-map a.step[data-step='ask_need']")
    page.wait_for_url("**/admin/flows/main#f-steps--ask_need")
    assert page.locator("#f-steps--ask_need").is_visible()


@pytest.mark.browser
def test_import_fifty_cases_then_the_gate_per_intent_and_language(
        make_live_server: Any, browser: Any, tmp_path: Path) -> None:
    live = admin_server(make_live_server)
    rows = []
    for lang in ("it", "en"):
        data = yaml.safe_load((ROOT / f"tests/data/eval/dev/intents_{lang}.yaml").read_text())
        rows += [{"lang": c["lang"], "expected": c["expected"], "text": c["text"]}
                 for c in data["cases"][:25]]
    upload = tmp_path / "cases.yaml"
    upload.write_text(yaml.safe_dump({"cases": rows}, allow_unicode=True))
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows/main/cases")
    page.set_input_files("#import-form input[type=file]", str(upload))
    page.click("#import-submit")
    assert "50 cases added, 0 already there, 0 refused" in page.inner_text("#import-result")
    with page.expect_download() as download:
        page.click("#export-csv")
    assert download.value.path().read_text().count("\n") == 51
    page.goto(live.url("/admin/flows/main"))
    page.fill("textarea[name='steps.welcome.prompt.en']", "Hello from a draft.")
    page.click("#flow-form button[type=submit]")
    # 100 test calls (each encodes its sentence, ~0.15 s on the shared test machine) and
    # the draft's understanding model trained first: well over the default 10 s here
    page.set_default_timeout(180_000)
    page.click("text=Review and publish")
    page.wait_for_selector("#gate-verdict")  # after a progress bar if it takes a while
    assert page.locator("#per-language tr[data-key='it']").count() == 1
    assert page.locator("#per-language tr[data-key='en'] td").first.inner_text() == "25"
    assert page.locator("#per-intent tr[data-key='billing']").count() == 1
    browser.screenshot(page, "admin-gate-per-intent")
    assert "at least as well" in page.inner_text("#gate-verdict")
    page.click("#publish")
    assert "Published." in page.inner_text(".flash")


@pytest.mark.browser
def test_the_landing_page_and_the_tuning_loop(make_live_server: Any, browser: Any) -> None:
    from localtwilio import SayText
    from tests.ivr_support import place_call

    live = admin_server(make_live_server)
    place_call(live.app, [SayText("vorrei informazioni sulla fornitura"), SayText("no"),
                          SayText("sono senza luce")])
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin")
    assert page.inner_text("h1") == "What needs attention"
    assert "vorrei informazioni sulla fornitura" in page.inner_text("#home-words")
    assert "No test cases yet" in page.inner_text("#home-cases")
    browser.screenshot(page, "admin-home")
    page.click("text=Go to the tuning list")
    row = page.locator("#candidates tr[data-event]").first
    assert row.locator("select[name=intent]").input_value() == ""  # nothing preselected
    assert row.locator("td.lang").inner_text() == "it"
    row.locator("select[name=intent]").select_option("contract")
    row.locator("form.add-example button").click()
    assert "vorrei informazioni sulla fornitura" in page.inner_text("#just-added")
    assert page.locator("#candidates tr[data-event]").count() == 0  # handled: gone
    browser.screenshot(page, "admin-tuning-added")
    page.click("#just-added a")
    assert page.input_value("textarea[name='intents.contract.examples.it']").startswith(
        "vorrei informazioni sulla fornitura")


@pytest.mark.browser
@pytest.mark.parametrize("locale", ["en-GB", "it-IT"])
def test_admin_pages_pass_axe(make_live_server: Any, browser: Any, locale: str) -> None:
    live = admin_server(make_live_server)
    page = browser.new_page(bypass_csp=True, locale=locale)
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin")
    found = {}
    for path in ("/admin", "/admin/flows", "/admin/flows/main", "/admin/flows/main/map",
                 "/admin/flows/main/try", "/admin/flows/main/cases",
                 "/admin/flows/main/publish", "/admin/flows/main/versions",
                 "/admin/analytics", "/admin/profiles"):
        page.goto(live.url(path))
        if path.endswith("/map"):
            page.wait_for_selector("#flow-map[data-drawn]")
        if path.endswith("/try"):
            page.wait_for_selector("#try-form[data-turns='1']")
        violations = axe_violations(page)
        if violations:
            found[path] = violations
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)
