"""The admin console's "done when" journey in headless Chromium (issue 16): a flow built
from scratch in the form, drawn on the map, test-called in Italian and English, given 50
test cases from a file, gated (in the background, with progress) and published. Also the
map's self-loops and the test call's Hang up button. Screenshots: test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Page
from sqlalchemy import select

from core.clock import FrozenClock
from ivr.flow_store import create_draft
from ivr.models import Flow, FlowVersion
from tests.admin_journey import INTENTS, PROMPTS, case_rows
from tests.browser import admin_server
from tests.ivr_support import OPEN


def add_step(page: Page, key: str, step_type: str, texts: dict[str, dict[str, str]],
             targets: dict[str, str], routes: dict[str, str] | None = None) -> None:
    """Fill the editor's "new step" fieldset and add the step."""
    page.fill("input[name='new_step.key']", key)
    page.select_option("#new-step-type", step_type)
    for field, by_lang in texts.items():
        for lang, text in by_lang.items():
            page.fill(f"textarea[name='new_step.{field}.{lang}']", text)
    for field, target in targets.items():
        page.select_option(f"select[name='new_step.{field}']", target)
    for intent, target in (routes or {}).items():
        page.select_option(f"select[name='new_step.routes.{intent}']", target)
    page.click("#add-step")
    assert "Draft saved." in page.inner_text(".flash")
    assert page.locator(f"#f-steps--{key}").count() == 1


def new_call(page: Page, start: Any) -> None:
    """Start a new test call (`start()`: change the language, "Call again") and wait until
    its greeting is shown: a slower answer to the call before must not overwrite it."""
    with page.expect_response(lambda r: r.request.method == "POST" and "/try" in r.url):
        start()
    page.wait_for_selector("#try-form[data-turns='1']")


def call_and_check(page: Page, lang: str, words: str, intent: str, step: str) -> None:
    """A new test call in `lang`: the greeting, then `words` routed to `step`."""
    new_call(page, lambda: page.select_option("#try-lang", lang))
    greeting = page.inner_text("#chat li.hotline .said")
    assert PROMPTS["ask_need"][lang] in greeting, greeting
    page.fill("#try-text", words)
    page.click("#try-submit")
    page.wait_for_selector("#try-form[data-turns='2']")
    assert page.inner_text("#r-intent") == intent
    assert step in [page.locator("#r-path li").nth(i).get_attribute("data-step")
                    for i in range(page.locator("#r-path li").count())]


@pytest.mark.browser
@pytest.mark.slow
def test_an_admin_builds_tries_gates_and_publishes_a_flow_without_yaml(
        make_live_server: Any, browser: Any, tmp_path: Path) -> None:
    # the gate never waits in the request here: the page shows its progress, then reloads
    live = make_live_server(CLOCK=FrozenClock(OPEN), ADMIN_GATE_WAIT_SECONDS=0)
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows")
    # 1. a new flow from the flows page
    page.fill("#new-flow input[name=key]", "shop")
    page.fill("#new-flow input[name=name]", "Shop")
    page.fill("#new-flow input[name=languages]", "it, en")
    page.click("#create-flow")
    page.wait_for_url("**/admin/flows/shop")
    assert "Flow created" in page.inner_text(".flash")
    # 2. grown in the form: intents, two answers, a route, a question, the start rewired
    for name, spec in INTENTS.items():
        page.fill("input[name='new_intent']", name)
        for lang in ("it", "en"):
            page.fill(f"input[name='new_intent.label.{lang}']", spec["label"][lang])
            page.fill(f"textarea[name='new_intent.examples.{lang}']",
                      "\n".join(spec["examples"][lang]))
        page.click("#add-intent")
        assert "Draft saved." in page.inner_text(".flash")
        assert page.locator(f"#intent-{name}").count() == 1
    for name in ("orders_info", "returns_info"):
        add_step(page, name, "say", {"prompt": PROMPTS[name]}, {"next": "goodbye"})
    add_step(page, "route_need", "route", {}, {}, {"orders": "orders_info",
                                                   "returns": "returns_info",
                                                   "default": "human"})
    add_step(page, "ask_need", "ask", {"prompt": PROMPTS["ask_need"],
                                       "reprompt": PROMPTS["ask_need_again"]},
             {"next": "route_need", "on_failure": "human"})
    page.select_option("select[name='steps.welcome.next']", "ask_need")
    page.click("#save-top")
    assert "Draft saved." in page.inner_text(".flash")
    assert "0 errors" in page.inner_text("#problems-title")
    browser.screenshot(page, "admin-journey-editor")
    # 3. drawn on the map: every step, the question's routes
    page.click("nav.flownav a[href$='/shop/map']")
    page.wait_for_selector("#flow-map[data-drawn='7']")
    assert page.locator("#flow-map a.step").count() == 7
    for start, end, label in [("welcome", "ask_need", "next"), ("ask_need", "route_need", "next"),
                              ("route_need", "orders_info", "routes/orders"),
                              ("route_need", "returns_info", "routes/returns"),
                              ("route_need", "human", "routes/default")]:
        edge = page.locator(f"#flow-map g.edge[data-from='{start}'][data-to='{end}']"
                            f"[data-label='{label}']")
        assert edge.count() == 1 and edge.locator("path").get_attribute("d"), label
    browser.screenshot(page, "admin-journey-map")
    # 4. a test call in the browser, in Italian then in English
    page.click("nav.flownav a[href$='/shop/try']")
    page.wait_for_selector("#try-form[data-turns='1']")
    call_and_check(page, "it", "il pacco non è ancora arrivato", "orders", "orders_info")
    assert PROMPTS["orders_info"]["it"] in page.inner_text("#chat")
    call_and_check(page, "en", "I need to send this back", "returns", "returns_info")
    assert PROMPTS["returns_info"]["en"] in page.inner_text("#chat")
    browser.screenshot(page, "admin-journey-try")
    # 5. 50 test cases from a file
    upload = tmp_path / "shop-cases.yaml"
    upload.write_text(yaml.safe_dump({"cases": case_rows()}, allow_unicode=True))
    page.click("nav.flownav a[href$='/shop/cases']")
    page.set_input_files("#import-form input[type=file]", str(upload))
    page.click("#import-submit")
    assert "50 cases added, 0 already there, 0 refused" in page.inner_text("#import-result")
    # 6. the gate: its progress first, then its figures; passed, so published at once
    page.click("nav.flownav a[href$='/shop/publish']")
    assert page.locator("#gate-progress").count() == 1
    assert page.locator("#publish").is_disabled()
    page.wait_for_selector("#gate-verdict", timeout=180_000)  # the page reloads when done
    assert "at least as well" in page.inner_text("#gate-verdict")
    assert page.locator("#fig-draft td").last.inner_text() == "50"
    assert page.locator("#per-language tr[data-key='en'] td").first.inner_text() == "25"
    browser.screenshot(page, "admin-journey-gate")
    page.click("#publish")
    assert "Published." in page.inner_text(".flash")
    assert page.get_attribute("tr[data-version='1']", "class") == "published"
    with live.app.extensions["db"].transaction() as session:
        published = session.scalar(select(FlowVersion).join(Flow).where(
            Flow.key == "shop", FlowVersion.status == "published"))
        assert published is not None
        assert published.document["steps"]["route_need"]["routes"]["orders"] == "orders_info"


@pytest.mark.browser
def test_a_branch_back_to_its_own_step_is_drawn_as_a_loop_beside_it(make_live_server: Any,
                                                                    browser: Any) -> None:
    live = admin_server(make_live_server)
    with live.app.extensions["db"].transaction() as session:
        version = session.scalar(select(FlowVersion).join(Flow).where(Flow.key == "main"))
        assert version is not None
        document = dict(version.document)
        steps = dict(document["steps"])
        steps["limbo"] = {"type": "confirm", "prompt": {"it": "Sicuro?", "en": "Sure?"},
                          "reprompt": {"it": "Sicuro?", "en": "Sure?"},
                          "on_yes": "limbo", "on_no": "goodbye", "on_failure": "limbo"}
        steps["route_need"] = {**steps["route_need"],
                               "routes": {**steps["route_need"]["routes"], "payment": "limbo"}}
        create_draft(session, {**document, "steps": steps}, note="a step that loops")
        count = len(steps)
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows/main/map")
    page.wait_for_selector(f"#flow-map[data-drawn='{count}']")
    loops = page.locator("#flow-map g.edge[data-from='limbo'][data-to='limbo']")
    assert loops.count() == 2
    # every self-loop is drawn as one, and only self-loops are
    assert page.locator("#flow-map g.edge.loop").count() == 2
    boxes = page.evaluate("""() => {
      const box = (el) => {
        const b = el.getBBox();
        return {x: b.x, y: b.y, w: b.width, h: b.height};
      };
      const node = document.querySelector("#flow-map a.step[data-step='limbo'] rect");
      const others = [...document.querySelectorAll(
        "#flow-map a.step:not([data-step='limbo']) rect")];
      return {node: box(node), others: others.map(box),
              loops: [...document.querySelectorAll("#flow-map g.edge.loop")].map((g) => ({
                label: g.dataset.label, path: box(g.querySelector("path")),
                text: box(g.querySelector("text")), shown: g.querySelector("text").textContent}))};
    }""")
    node = boxes["node"]
    right, top, bottom = node["x"] + node["w"], node["y"], node["y"] + node["h"]

    def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
        return not (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                    or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])

    assert sorted(loop["label"] for loop in boxes["loops"]) == ["on_failure", "on_yes"]
    for loop in boxes["loops"]:
        path, text = loop["path"], loop["text"]
        # the arc leaves and rejoins the step's right side, close beside it
        assert right - 1 <= path["x"] <= right + 2, (loop, node)
        assert 10 <= path["w"] <= 60, loop
        assert top <= path["y"] and path["y"] + path["h"] <= bottom, (loop, node)
        # its label is right of the arc, level with the step, clear of every other step
        assert loop["shown"] == loop["label"]
        assert path["x"] + path["w"] <= text["x"] <= path["x"] + path["w"] + 40, loop
        assert top - 8 <= text["y"] and text["y"] + text["h"] <= bottom + 8, (loop, node)
        assert not any(overlaps(text, other) for other in boxes["others"]), loop
        assert not any(overlaps(path, other) for other in boxes["others"]), loop
    for label in ("on_yes", "on_failure"):
        assert page.locator(f"#flow-map g.edge.loop[data-label='{label}'] text").is_visible()
    # the other branches are still ordinary edges
    assert page.locator("#flow-map g.edge:not(.loop)[data-from='limbo'][data-to='goodbye']"
                        ).count() == 1
    browser.screenshot(page, "admin-map-self-loop")


@pytest.mark.browser
def test_hanging_up_a_test_call_books_the_callback_a_caller_would_get(make_live_server: Any,
                                                                       browser: Any) -> None:
    live = admin_server(make_live_server)
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows/main/try")
    page.wait_for_selector("#try-form[data-turns='1']")
    assert page.locator("#try-hangup").is_enabled()
    page.click("#try-hangup")  # before saying anything: a silent callback
    ended = page.wait_for_selector("#chat li.hangup")
    assert ended.get_attribute("data-outcome") == "hangup_callback"
    assert ended.get_attribute("data-callback") == "silent"
    assert "hung up at ask_need" in page.inner_text("#chat li.hangup")
    assert "silent call" in page.inner_text("#chat li.hangup")
    assert page.inner_text("#r-outcome") == "hangup_callback"
    assert page.locator("#chat li.over").count() == 1
    assert page.locator("#try-hangup").is_disabled()
    browser.screenshot(page, "admin-try-hung-up")
    new_call(page, lambda: page.click("#try-restart"))  # the need said, then the hang-up
    assert page.locator("#chat li.hangup").count() == 0
    assert page.locator("#try-hangup").is_enabled()
    new_call(page, lambda: page.select_option("#try-lang", "en"))
    page.fill("#try-text", "my bill is wrong")
    page.click("#try-submit")
    page.wait_for_selector("#try-form[data-turns='2']")
    page.click("#try-hangup")
    ended = page.wait_for_selector("#chat li.hangup")
    assert ended.get_attribute("data-callback") == "hangup"
    assert "with what the caller said" in page.inner_text("#chat li.hangup")
    assert page.locator("#chat li.caller").count() == 1  # the answer before it is kept
