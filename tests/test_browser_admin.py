"""The admin console in headless Chromium: editor, try-it (typed and microphone), publish,
rollback. Screenshots go to test-artifacts/screenshots/admin-*.png."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ivr.flow_store import create_draft, publish
from ivr.models import FlowVersion
from tests.browser import admin_server
from tests.ivr_support import OPEN


@pytest.mark.browser
def test_the_editor_shows_errors_next_to_the_field_then_saves(make_live_server: Any,
                                                               browser: Any) -> None:
    live = admin_server(make_live_server)
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows")
    page.click("text=Hotline")
    page.fill("textarea[name='steps.goodbye.prompt.en']", "")
    page.click("#flow-form button[type=submit]")
    field = page.locator("#f-steps--goodbye--prompt--en")
    assert "No text in en" in field.inner_text()
    browser.screenshot(page, "admin-editor-error")
    page.fill("textarea[name='steps.goodbye.prompt.en']", "Thanks, goodbye.")
    page.fill("textarea[name='intents.billing.examples.en']",
              page.input_value("textarea[name='intents.billing.examples.en']")
              + "\nmy statement looks odd")
    page.fill("input[name='steps.human.timeout']", "45")
    page.check("input[name='settings.barge_in']")
    page.click("#flow-form button[type=submit]")
    assert "Draft saved." in page.inner_text(".flash")
    assert "Editing draft v2" in page.inner_text(".status")
    assert "my statement looks odd" in page.input_value(
        "textarea[name='intents.billing.examples.en']")
    assert page.input_value("input[name='steps.human.timeout']") == "45"
    assert page.is_checked("input[name='settings.barge_in']")
    browser.screenshot(page, "admin-editor-saved")
    page.uncheck("input[name='settings.barge_in']")  # an unticked box is not posted at all
    page.click("#flow-form button[type=submit]")
    assert "Draft saved." in page.inner_text(".flash")
    assert not page.is_checked("input[name='settings.barge_in']")
    assert page.input_value("input[name='steps.human.timeout']") == "45"


@pytest.mark.browser
def test_a_test_call_in_the_browser_in_both_languages(make_live_server: Any,
                                                      browser: Any) -> None:
    live = admin_server(make_live_server)
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows/main/try")
    page.wait_for_selector("#try-form[data-turns='1']")
    assert page.inner_text("#chat li.hotline .said").strip()  # the greeting
    page.fill("#try-text", "ho un problema con la bolletta")
    page.click("#try-submit")
    page.wait_for_selector("#try-form[data-turns='2']")
    assert page.inner_text("#r-intent") == "billing"
    turn = page.locator("#chat li.hotline").nth(1)
    assert "billing" in turn.inner_text() and "route_need" in turn.inner_text()
    page.fill("#try-text", "no")
    page.click("#try-submit")
    page.wait_for_selector("#try-form[data-turns='3']")
    assert page.locator("#chat li.caller").count() == 2
    browser.screenshot(page, "admin-test-call-it")
    page.select_option("#try-lang", "en")  # a new call, in English
    page.wait_for_selector("#try-form[data-turns='1']")
    page.fill("#try-text", "there is a gas leak in my kitchen")
    page.click("#try-submit")
    page.wait_for_selector("#try-form[data-turns='2']")
    assert page.inner_text("#r-intent") == "emergency"
    assert "999" in page.inner_text("#chat")
    assert page.locator("#r-path li").last.get_attribute("data-step") == "human"
    browser.screenshot(page, "admin-test-call-en")


@pytest.mark.browser
@pytest.mark.slow
def test_try_it_from_the_microphone_with_real_vosk(make_live_server: Any, make_browser: Any,
                                                    tmp_path: Path) -> None:
    from speech.models import discover_packages
    from tests.browser import fake_microphone_args
    from tests.test_ivr_admin import korean_flow

    wav = tmp_path / "visit.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(tmp_path / "raw.wav"),
                    "방문 예약"], check=True, capture_output=True)
    subprocess.run(["sox", str(tmp_path / "raw.wav"), "-r", "16000", "-c", "1", "-b", "16",
                    str(wav), "pad", "0.3", "3"], check=True, capture_output=True)
    live = admin_server(make_live_server, VOSK_MODEL_PATHS={"ko": discover_packages()["ko"]})
    with live.app.extensions["db"].transaction() as session:
        publish(session, create_draft(session, korean_flow()), by="test", now=OPEN)
    browser = make_browser(extra_args=fake_microphone_args(wav))
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows/ko_test/try")
    page.click("#record")
    page.wait_for_timeout(3500)
    page.click("#record")
    page.wait_for_selector("#try-form[data-turns='2']", timeout=30_000)
    browser.screenshot(page, "admin-try-microphone")
    assert "예약" in page.inner_text("#r-transcript")
    assert page.inner_text("#r-intent") == "appointment"


@pytest.mark.browser
def test_publish_then_roll_back_after_confirming(make_live_server: Any, browser: Any) -> None:
    live = admin_server(make_live_server)
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows/main/cases")
    page.fill("#case-form input[name=text]", "ho un problema con la bolletta")
    page.select_option("#case-form select[name=expected]", "billing")
    page.click("#case-form button[type=submit]")
    assert "ho un problema con la bolletta" in page.inner_text("#cases")
    page.goto(live.url("/admin/flows/main"))
    page.fill("textarea[name='steps.welcome.prompt.en']", "Hello from version two.")
    page.click("#flow-form button[type=submit]")
    page.click("text=Review and publish")
    assert "at least as well" in page.inner_text("#gate-verdict")
    browser.screenshot(page, "admin-publish-review")
    page.click("#publish")
    assert "Published." in page.inner_text(".flash")
    assert page.get_attribute("tr[data-version='2']", "class") == "published"
    browser.screenshot(page, "admin-versions")
    page.click("a:has-text('Diff with previous')")
    assert "Hello from version two." in page.inner_text("#diff")
    browser.screenshot(page, "admin-diff")
    page.go_back()
    page.click("a[data-rollback='1']")
    assert "Callers hear v2 now" in page.inner_text("#rollback-confirm")
    assert "Hello from version two." in page.inner_text("#diff")
    browser.screenshot(page, "admin-rollback-confirm")
    page.click("#cancel-rollback")  # nothing published
    assert page.get_attribute("tr[data-version='2']", "class") == "published"
    page.click("a[data-rollback='1']")
    page.click("#confirm-rollback")
    assert page.get_attribute("tr[data-version='3']", "class") == "published"
    assert "rollback to v1" in page.inner_text("tr[data-version='3']")
    assert page.get_attribute("tr[data-version='2']", "class") == "archived"
    browser.screenshot(page, "admin-rolled-back")


@pytest.mark.browser
def test_analytics_page_draws_its_charts(make_live_server: Any, browser: Any) -> None:
    from localtwilio import SayText
    from tests.ivr_support import place_call

    live = admin_server(make_live_server)
    live.app.config["WTF_CSRF_ENABLED"] = True
    place_call(live.app, [SayText("vorrei informazioni sulla fornitura"), SayText("no"),
                          SayText("sono senza luce")])
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/analytics")
    assert page.locator("figure.chart svg").count() == 4
    row = page.locator("#candidates tr.misrouted")
    assert "vorrei informazioni sulla fornitura" in row.inner_text()
    browser.screenshot(page, "admin-analytics")
    row.locator("select[name=intent]").select_option("contract")  # none preselected
    row.locator("form.add-example button").click()
    assert "Example added to the draft" in page.inner_text(".flash")


@pytest.mark.browser
def test_a_step_is_added_routed_to_published_and_removed_in_the_form(make_live_server: Any,
                                                                     browser: Any) -> None:
    live = admin_server(make_live_server)
    page = browser.new_page()
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/flows/main")
    # add a `say` step from the keyboard: the type hides the fields it does not use
    page.focus("input[name='new_step.key']")
    page.keyboard.type("survey")
    page.keyboard.press("Tab")
    page.keyboard.press("End")  # the last type in the list
    assert page.input_value("#new-step-type") == "ask_time"
    page.select_option("#new-step-type", "say")
    assert page.locator("#new-step [data-types='route']").is_hidden()
    assert page.locator("select[name='new_step.on_yes']").is_hidden()
    page.fill("textarea[name='new_step.prompt.it']", "Grazie, a presto.")
    page.fill("textarea[name='new_step.prompt.en']", "Thanks, talk soon.")
    page.select_option("select[name='new_step.next']", "goodbye")
    browser.screenshot(page, "admin-step-new")
    page.focus("#add-step")
    page.keyboard.press("Enter")
    assert "Draft saved." in page.inner_text(".flash")
    survey = page.locator("#f-steps--survey")
    assert "No path leads to this step" in survey.inner_text()
    # route to it, save: validation passes
    page.select_option("select[name='steps.route_need.routes.payment']", "survey")
    page.click("#save-top")
    assert "No path leads" not in page.inner_text("#f-steps--survey")
    assert page.locator("#problems li.problem.error").count() == 0
    assert "0 errors" in page.inner_text("#problems-title")
    browser.screenshot(page, "admin-step-routed")
    page.click("text=Review and publish")
    page.click("#publish")
    assert "Published." in page.inner_text(".flash")
    with live.app.extensions["db"].transaction() as session:
        live_doc = session.scalar(select(FlowVersion).where(FlowVersion.status == "published"))
        assert live_doc is not None and live_doc.document["steps"]["survey"]["next"] == "goodbye"
    # removing it while routed to is refused, with the field that still leads there
    page.goto(live.url("/admin/flows/main"))
    page.click("button[value='remove_step:survey']")
    refusal = page.inner_text("#f-steps--survey")
    assert "still the target of steps.route_need.routes.payment" in refusal
    browser.screenshot(page, "admin-step-remove-refused")
    page.select_option("select[name='steps.route_need.routes.payment']", "")
    page.click("button[value='remove_step:survey']")
    assert "Draft saved." in page.inner_text(".flash")
    assert page.locator("#f-steps--survey").count() == 0
    assert "survey" not in page.inner_text("select[name='steps.book.next']")
    browser.screenshot(page, "admin-step-removed")
