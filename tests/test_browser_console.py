"""The agent console in a real headless Chromium against the real app on a real port.

Calls go through the official Twilio library to the localtwilio REST stand-in (real HTTP),
placed by the app's own job queue; the stand-in sends its webhooks back into the app.
Screenshots of the main screens land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from callbacks.booking import book_callback
from callbacks.models import CallbackRequest
from core.clock import FrozenClock
from localtwilio import FlaskClientTransport
from localtwilio.rest import create_stand_in
from localtwilio.server import serve_in_thread
from tests.conftest import TWILIO_SID, TWILIO_TOKEN

if TYPE_CHECKING:
    from tests.browser import Browser, LiveServer, LoginDetails

pytestmark = pytest.mark.browser

TUESDAY_10 = datetime(2025, 3, 11, 9, 0, tzinfo=UTC)  # 10:00 in Rome: calling hours
AGENT_PHONE = "+390211111111"


@pytest.fixture
def stand_in() -> Iterator[Flask]:
    """The Twilio REST stand-in on a real port (its transport is set once the app runs)."""
    app = create_stand_in(TWILIO_SID, TWILIO_TOKEN)
    base_url, stop = serve_in_thread(app)
    app.config["BASE_URL"] = base_url
    yield app
    stop()


@pytest.fixture
def console(make_live_server: Callable[..., LiveServer], stand_in: Flask) -> LiveServer:
    """The hotline on a frozen Tuesday morning, calling out through the stand-in."""
    live = make_live_server(CLOCK=FrozenClock(TUESDAY_10), CALLBACKS_RECONCILE_SECONDS=0,
                            TWILIO_API_BASE_URL=stand_in.config["BASE_URL"])
    stand_in.extensions["localtwilio"].transport = FlaskClientTransport(live.app.test_client())
    return live


def book(live: LiveServer, phone: str, minutes_ago: int, **kwargs: Any) -> int:
    """Book a callback through the domain function, as the voice flow does."""
    values: dict[str, Any] = {"intent": "billing", "words": "ho un problema con la bolletta",
                              "language": "it", "window_start": None, "window_end": None,
                              "not_digital_cue": None, "source": "speech"}
    values.update(kwargs)
    with live.app.extensions["db"].transaction() as session:
        return book_callback(session, phone=phone, call_sid=f"CA{phone[-9:]}{minutes_ago:023d}",
                             now=TUESDAY_10 - timedelta(minutes=minutes_ago), **values).request_id


def row(live: LiveServer, request_id: int) -> CallbackRequest:
    with live.app.extensions["db"].session_factory() as session:
        found = session.get(CallbackRequest, request_id)
        assert found is not None
        return found


def agent(live: LiveServer, name: str = "anna") -> LoginDetails:
    user = live.add_user(name, display_name=name.title())
    with live.app.extensions["db"].transaction() as session:
        from core.models import User

        stored = session.get(User, user.user_id)
        assert stored is not None
        stored.phone_number = AGENT_PHONE
    return user


def open_console(browser: Browser, live: LiveServer, user: LoginDetails,
                 locale: str = "en-GB") -> Page:
    page = browser.new_page(locale=locale)
    browser.login(page, live, user, next_path="/console")
    expect(page).to_have_url(re.compile(r"/console$"))
    return page


def test_a_new_callback_appears_without_reloading(console: LiveServer, browser: Browser) -> None:
    book(console, "+393331111111", minutes_ago=35)
    page = open_console(browser, console, agent(console))
    page.evaluate("window.__sameDocument = true")
    page.locator("#take-next").focus()
    new_id = book(console, "+393332222222", minutes_ago=2, not_digital_cue="non ho internet",
                  words="non ho internet, devo pagare la bolletta")
    expect(page.locator(f"#req-{new_id}")).to_be_visible(timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    expect(page.locator("#queue-announce")).to_contain_text("New request")
    expect(page.locator("#waiting-count")).to_have_text("2")
    expect(page.locator("#take-next")).to_be_focused()  # the update did not steal focus
    first = page.locator("table.queue tbody tr").first
    expect(first).to_have_attribute("id", f"req-{new_id}")  # not digital goes first
    expect(first).to_contain_text("not digital, waiting 2 minutes")
    expect(first).to_contain_text("Not digital · caller said so")
    browser.screenshot(page, "console-queue-en")


def test_take_call_and_record_an_outcome(console: LiveServer, browser: Browser,
                                         stand_in: Flask) -> None:
    request_id = book(console, "+393331111111", minutes_ago=20)
    page = open_console(browser, console, agent(console))
    page.click("#take-next")
    expect(page.locator(f"#claim-{request_id}")).to_be_visible()
    expect(page.locator(f"#req-{request_id}")).to_have_count(0)
    browser.screenshot(page, "console-claimed")
    page.click(f"#claim-{request_id} button[data-shortcut=c]")
    expect(page.locator(".flash").first).to_contain_text("your phone rings first")
    assert console.app.extensions["jobs"].wait_idle(timeout=15)  # the job placed the call
    stand_in.extensions["localtwilio"].wait_idle(timeout=30)
    calls = list(stand_in.extensions["localtwilio"].calls.values())
    assert calls and calls[0].to == AGENT_PHONE  # agent first: the agent's phone rang
    # The call connected: the request awaits the agent's outcome, it is not resolved.
    assert row(console, request_id).status == "connected"
    claim = page.locator(f"#claim-{request_id}")
    expect(claim.locator("legend")).to_contain_text("The call connected", timeout=15_000)
    expect(claim.locator(".status")).to_have_text("connected: outcome needed")
    expect(claim.locator(".outcome-needed")).to_contain_text("counted as not resolved")
    expect(claim.get_by_role("button", name="Call now")).to_have_count(0)
    browser.screenshot(page, "console-call-finished")
    # The agent chooses the outcome: nothing is chosen for them, "no answer" is not offered,
    # and saving without a choice is refused next to the choices.
    expect(claim.locator("input[name=outcome]:checked")).to_have_count(0)
    expect(claim.locator("input[value=no_answer]")).to_have_count(0)
    claim.locator("textarea[name=notes]").fill("explained the second instalment")
    claim.get_by_role("button", name="Save outcome").click()
    claim = page.locator(f"#claim-{request_id}")
    expect(claim.locator(".field-error")).to_have_text("Choose an outcome first.")
    expect(claim.locator("textarea[name=notes]")).to_have_value("explained the second instalment")
    assert row(console, request_id).status == "connected"
    browser.screenshot(page, "console-outcome-required")
    claim.locator("input[value=resolved]").check()
    claim.get_by_role("button", name="Save outcome").click()
    expect(page.locator(".flash").first).to_contain_text("Outcome saved")
    expect(page.locator(f"#claim-{request_id}")).to_have_count(0)
    stored = row(console, request_id)
    assert (stored.status, stored.outcome_note) == ("completed",
                                                     "explained the second instalment")


def test_an_outcome_left_unrecorded_is_taken_over_after_the_notes_window(
        console: LiveServer, browser: Browser, stand_in: Flask) -> None:
    request_id = book(console, "+393331111111", minutes_ago=5)
    anna = open_console(browser, console, agent(console, "anna"))
    anna.click("#take-next")
    anna.click(f"#claim-{request_id} button[data-shortcut=c]")
    assert console.app.extensions["jobs"].wait_idle(timeout=15)
    stand_in.extensions["localtwilio"].wait_idle(timeout=30)
    assert row(console, request_id).status == "connected"
    # anna goes home without choosing; hours later the call is still not resolved
    clock = console.app.extensions["clock"]
    clock.advance(timedelta(hours=3))
    bruno = open_console(browser, console, agent(console, "bruno"))
    handled = bruno.locator(f"#in-hand-{request_id}")
    expect(handled).to_contain_text("Anna · connected: outcome needed")
    expect(handled).to_contain_text("outcome needed since")
    browser.screenshot(bruno, "console-outcome-overdue")
    handled.get_by_role("button", name="Take over and record the outcome").click()
    expect(bruno.locator(".flash").first).to_contain_text("choose its outcome")
    claim = bruno.locator(f"#claim-{request_id}")
    expect(claim.locator(".outcome-needed")).to_contain_text("overdue")
    claim.locator("input[value=follow_up]").check()
    later = (datetime(2025, 3, 12, 9, 0, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M")
    claim.locator("input[name=retry_at]").fill(later)
    claim.get_by_role("button", name="Save outcome").click()
    expect(bruno.locator(".flash").first).to_contain_text("Outcome saved")
    stored = row(console, request_id)
    assert stored.status == "retry_scheduled" and stored.outcome_note == "follow-up"
    assert stored.promise_kept is True  # the caller was reached on time, at 10:00
    anna.reload()
    expect(anna.locator(f"#claim-{request_id}")).to_have_count(0)


def test_two_agents_taking_at_once_get_different_requests(console: LiveServer,
                                                          browser: Browser) -> None:
    ids = [book(console, "+393331111111", 30), book(console, "+393332222222", 20)]
    anna = open_console(browser, console, agent(console, "anna"))
    bruno = open_console(browser, console, agent(console, "bruno"))
    for page in (anna, bruno):  # both forms submitted before either answer arrives
        page.evaluate("document.getElementById('take-next').form.requestSubmit()")
    for page in (anna, bruno):
        expect(page.locator("article.claim")).to_have_count(1)
    held = {int(p.locator("article.claim").get_attribute("id").split("-")[1])  # type: ignore
            for p in (anna, bruno)}
    assert held == set(ids)
    assert {row(console, i).claimed_by for i in ids} == {
        console.users["anna"].user_id, console.users["bruno"].user_id}


def test_everything_works_from_the_keyboard(console: LiveServer, browser: Browser) -> None:
    request_id = book(console, "+393331111111", minutes_ago=20)
    page = open_console(browser, console, agent(console))
    page.keyboard.press("Tab")  # the skip link comes first and is visible when focused
    expect(page.locator("a.skip")).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).left") == "8px"
    page.keyboard.press("n")  # take next
    expect(page.locator(f"#claim-{request_id}")).to_be_focused()
    page.keyboard.press("o")  # jump to the outcome
    first_choice = page.locator(f"#claim-{request_id} input[value=resolved]")
    expect(first_choice).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("ArrowDown")  # radios move with arrows: "no answer"
    expect(page.locator(f"#claim-{request_id} input[value=no_answer]")).to_be_checked()
    for _ in range(10):  # Tab on to the notes box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "notes":
            break
    page.keyboard.type("rang twelve times")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Save outcome"
    expect(page.locator(".flash").first).to_contain_text("Outcome saved")
    stored = row(console, request_id)
    assert (stored.status, stored.outcome_note) == ("no_answer", "rang twelve times")
    browser.screenshot(page, "console-after-keyboard-outcome")


def test_an_expired_session_goes_back_to_login_and_shows_nothing(console: LiveServer,
                                                                  browser: Browser) -> None:
    book(console, "+393331111111", minutes_ago=20, words="parole private del chiamante")
    page = open_console(browser, console, agent(console))
    expect(page.locator("table.queue")).to_contain_text("parole private del chiamante")
    page.context.clear_cookies()  # the session is gone (expired, or signed out elsewhere)
    expect(page).to_have_url(re.compile(r"/login"), timeout=15_000)  # the next poll notices
    assert "parole private" not in page.content()
    page.goto(console.url("/console"))
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert "parole private" not in page.content()
    browser.screenshot(page, "console-session-expired")


def test_an_aged_session_is_refused_by_the_server(make_live_server: Callable[..., LiveServer],
                                                  browser: Browser) -> None:
    live = make_live_server(CLOCK=FrozenClock(TUESDAY_10), CALLBACKS_RECONCILE_SECONDS=0,
                            PERMANENT_SESSION_LIFETIME=timedelta(seconds=3))
    book(live, "+393331111111", minutes_ago=20, words="parole private del chiamante")
    page = open_console(browser, live, agent(live))
    expect(page.locator("table.queue")).to_contain_text("parole private del chiamante")
    expect(page).to_have_url(re.compile(r"/login"), timeout=15_000)  # lifetime over
    assert "parole private" not in page.content()


def test_a_forged_form_without_csrf_token_is_refused(console: LiveServer,
                                                     browser: Browser) -> None:
    request_id = book(console, "+393331111111", minutes_ago=20)
    page = open_console(browser, console, agent(console))
    with page.expect_response(re.compile(r"/console/take$")) as answer:
        page.evaluate("""() => {
            const form = document.createElement('form');
            form.method = 'post';
            form.action = '/console/take';
            document.body.appendChild(form);
            form.submit();
        }""")
    assert answer.value.status == 400
    page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text("CSRF")
    assert row(console, request_id).status == "queued"


def test_caller_page_and_italian_interface(console: LiveServer, browser: Browser) -> None:
    request_id = book(console, "+393331111111", minutes_ago=20)
    book(console, "+393332222222", minutes_ago=50, not_digital_cue="non uso il computer")
    page = open_console(browser, console, agent(console), locale="it-IT")
    expect(page.locator("h1")).to_have_text("Coda delle richiamate")
    expect(page.locator("table.queue")).to_contain_text("non digitale, in attesa da 50 minuti")
    browser.screenshot(page, "console-queue-it")
    page.click(f"#req-{request_id} a")
    expect(page.locator("h1")).to_contain_text("+393331111111")
    page.fill("input[name=reason]", "non ha lo smartphone")
    page.click("form.nd-form button")
    expect(page.locator(".flash").first).to_contain_text("Profilo digitale aggiornato")
    expect(page.locator("table")).to_contain_text("non ha lo smartphone")
    assert row(console, request_id).not_digital
    browser.screenshot(page, "console-caller-it")
    page.click("header.top form button.link >> nth=0")  # switch to English
    expect(page.locator("h2#profile-title")).to_have_text("Digital profile")
