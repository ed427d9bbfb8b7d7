"""axe-core (tests/assets/axe.min.js, 4.14.1) on every agent console page, in Chromium.

A page passes when axe reports no critical, serious or moderate violation: colour
contrast, a level-one heading, labelled fields and table headers with text among them.
Each page is checked in the states an agent sees in a shift: an empty and a full queue, a
request in hand (with its outcome form refused), after-call work, a caller's page, in
English and Italian.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests import test_browser_console as console_tests
from tests.browser import Browser, LiveServer, axe_violations
from tests.test_browser_console import agent, book

pytestmark = pytest.mark.browser
stand_in = console_tests.stand_in
console = console_tests.console




def assert_accessible(page: Page, what: str) -> None:
    found = axe_violations(page)
    assert not found, f"{what}: " + json.dumps(found, indent=1, ensure_ascii=False)


def new_page(browser: Browser, live: LiveServer, locale: str, **options: Any) -> Page:
    # CSP may forbid the injected script: the check reads the page, it does not change it.
    page = browser.new_page(locale=locale, bypass_csp=True, **options)
    return page


@pytest.mark.parametrize("locale", ["en-GB", "it-IT"])
def test_every_console_page_passes_axe(console: LiveServer, browser: Browser,
                                       locale: str) -> None:
    page = new_page(browser, console, locale)
    page.goto(console.url("/login"))
    assert_accessible(page, "login")
    user = agent(console)
    browser.login(page, console, user, next_path="/console")
    page.goto(console.url("/console"))
    assert_accessible(page, "empty queue")

    first = book(console, "+393331111111", minutes_ago=50, not_digital_cue="non ho internet")
    book(console, "+393332222222", minutes_ago=5)
    page.reload()
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
    assert_accessible(page, "queue with a not-digital caller")

    page.click("#take-next")
    claim = page.locator(f"#claim-{first}")
    expect(claim).to_be_visible()
    assert_accessible(page, "a request in hand")
    claim.locator("input[value=follow_up]").check()
    claim.get_by_role("button", name="Save outcome" if locale == "en-GB"
                      else "Salva l'esito").click()
    expect(claim.locator(".field-error")).to_be_visible()
    assert_accessible(page, "a refused outcome form")
    claim = page.locator(f"#claim-{first}")
    claim.locator("input[value=no_answer]").check()
    claim.locator("form.outcome button[type=submit]").click()
    expect(page.locator("#wrap-up")).to_be_visible()
    assert_accessible(page, "after-call work")

    page.goto(console.url(f"/console/callers/{caller_id(console, first)}"))
    expect(page.locator("h1")).to_have_count(1)
    assert_accessible(page, "caller page")

    answer = page.goto(console.url("/admin/flows"))  # an admin page: refused, politely
    assert answer is not None and answer.status == 403
    assert_accessible(page, "a page the agent may not open")

    narrow = new_page(browser, console, locale, viewport={"width": 390, "height": 844})
    browser.login(narrow, console, user, next_path="/console")
    assert_accessible(narrow, "queue at 390 px")


def caller_id(live: LiveServer, request_id: int) -> int:
    from callbacks.models import CallbackRequest

    with live.app.extensions["db"].session_factory() as session:
        found = session.get(CallbackRequest, request_id)
        assert found is not None and found.caller_id is not None
        return found.caller_id


def test_the_local_phone_page_passes_axe(database_url: str, browser: Browser) -> None:
    from tests.test_localtwilio_phone import start_phone_server

    live = start_phone_server(database_url)
    try:
        user = live.add_user("anna", role="agent")
        page = new_page(browser, live, "it-IT")
        browser.login(page, live, user, next_path="/phone")
        page.goto(live.url("/phone"))
        page.wait_for_function(
            "() => document.getElementById('phone').dataset.socketOpen === '1'")
        assert_accessible(page, "local phone")
    finally:
        live.stop()
