"""A shift in the agent console, in a real headless Chromium against the real app.

Each test is one thing an agent met in a shift that went wrong (issue "a whole shift
without surprises"): a voicemail from the local phone that would not play, shortcuts that
acted on another request, a validation error that wiped the agent's notes, a console that
did not fit a phone's screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import expect
from rq import SimpleWorker
from sqlalchemy import select

from callbacks.models import CallbackRequest
from core.clock import FrozenClock
from ivr.flow_store import import_file
from localtwilio import FlaskClientTransport
from localtwilio.callee import Callee
from tests import test_browser_console as console_tests
from tests.browser import ROOT, Browser, LiveServer
from tests.test_browser_console import agent, book, open_console, row
from tests.test_localtwilio_phone import PhonePage, start_phone_server

pytestmark = pytest.mark.browser
# The console's fixtures: the app on a frozen Tuesday morning, calling through the stand-in.
stand_in = console_tests.stand_in
console = console_tests.console

VOICEMAIL_FLOW = ROOT / "tests" / "data" / "flows" / "voicemail_flow.yaml"
VOICEMAIL_LINE = "+390000000777"


@pytest.fixture
def phone_hotline(database_url: str) -> Iterator[LiveServer]:
    """The app with the local phone (its REST stand-in mounted) and a voicemail-only line."""
    live = start_phone_server(database_url)
    with live.app.extensions["db"].transaction() as session:
        import_file(session, VOICEMAIL_FLOW)
    yield live
    live.stop()


def test_a_voicemail_left_on_the_local_phone_plays_in_the_console(
        phone_hotline: LiveServer, browser: Browser) -> None:
    live = phone_hotline
    page = PhonePage(live)
    page.send(type="dial", to=VOICEMAIL_LINE, **{"from": "+393331234567"})
    assert page.expect("listening")["kind"] == "record"
    page.send(type="say", text="buongiorno, sono Mario, mi richiami per la bolletta")
    assert page.expect("ended")["outcome"] == "hangup"
    page.close()
    with live.app.extensions["db"].transaction() as session:
        request = session.scalar(select(CallbackRequest))
        assert request is not None and request.recording_url
        request_id = request.id
    # The message lives with the local stand-in, served as Twilio serves recordings.
    assert request.recording_url.startswith(live.base_url + "/local-twilio/2010-04-01/")

    console_page = open_console(browser, live, live.add_user("anna", role="agent"))
    audio = console_page.locator(f"#req-{request_id} audio")
    expect(audio).to_have_count(1)
    source = str(audio.get_attribute("src"))
    answer = console_page.request.get(live.url(source))
    assert answer.status == 200, answer.text()
    assert answer.headers["content-type"].startswith("audio/")
    assert answer.headers["x-content-type-options"] == "nosniff"
    # The player has the audio: a real length, not 0:00.
    duration = console_page.evaluate(
        """(id) => new Promise((resolve) => {
             const audio = document.querySelector('#req-' + id + ' audio');
             audio.preload = 'auto';
             audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
             audio.addEventListener('error', () => resolve(-1));
             audio.load();
           })""", request_id)
    assert duration > 0.5
    # Without a console session the stand-in keeps the message to itself.
    assert console_page.request.get(request.recording_url).status == 401


def test_an_agent_holds_one_request_and_the_shortcuts_act_on_it(
        console: LiveServer, browser: Browser) -> None:
    urgent = book(console, "+393331111111", minutes_ago=50, not_digital_cue="non uso internet")
    other = book(console, "+393332222222", minutes_ago=5)
    page = open_console(browser, console, agent(console))
    page.keyboard.press("n")
    held = page.locator("#mine article.claim")
    expect(held).to_have_count(1)
    expect(held).to_have_attribute("id", f"claim-{urgent}")
    expect(page.locator("#take-next")).to_be_disabled()
    expect(page.locator("#take-why")).to_contain_text("one request at a time")
    page.keyboard.press("n")  # a second "take" goes back to the request in hand
    expect(held).to_have_count(1)
    expect(held).to_be_focused()
    # The server says the same to a form sent anyway.
    page.evaluate("document.getElementById('take-next').form.requestSubmit()")
    expect(page.locator(".flash").first).to_contain_text("Finish the request in your hands")
    assert row(console, other).status == "queued"
    expect(held).to_be_focused()  # back at the request in hand
    page.keyboard.press("c")  # dials the request in hand
    expect(page.locator(".flash").first).to_contain_text("your phone rings first")
    assert console.app.extensions["jobs"].wait_idle(timeout=15)
    assert row_attempts(console, urgent)
    assert row(console, other).status == "queued" and not row_attempts(console, other)


def row_attempts(live: LiveServer, request_id: int) -> list[str]:
    """The statuses of the call attempts of a request."""
    from callbacks.models import CallAttempt

    with live.app.extensions["db"].session_factory() as session:
        return list(session.scalars(select(CallAttempt.status).where(
            CallAttempt.request_id == request_id)))


def test_a_refused_outcome_keeps_the_notes_and_says_why_next_to_the_field(
        console: LiveServer, browser: Browser) -> None:
    request_id = book(console, "+393331111111", minutes_ago=20)
    page = open_console(browser, console, agent(console))
    page.click("#take-next")
    claim = page.locator(f"#claim-{request_id}")
    claim.locator("input[value=follow_up]").check()
    claim.locator("textarea[name=notes]").fill("wants the technician on Thursday")
    with page.expect_response(re.compile(r"/outcome$")) as answer:
        claim.get_by_role("button", name="Save outcome").click()
    assert answer.value.status == 422
    claim = page.locator(f"#claim-{request_id}")
    expect(claim.locator("input[value=follow_up]")).to_be_checked()
    expect(claim.locator("textarea[name=notes]")).to_have_value(
        "wants the technician on Thursday")
    error = claim.locator(f"#retry-error-{request_id}")
    expect(error).to_contain_text("Choose a time in the future")
    expect(error).to_be_in_viewport()
    field = claim.locator("input[name=retry_at]")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", f"retry-error-{request_id}")
    expect(field).to_be_focused()
    assert row(console, request_id).status == "claimed"
    browser.screenshot(page, "console-outcome-refused")
    # Fixed in place, the same form saves; the page is a plain /console again.
    expect(page).to_have_url(re.compile(r"/console$"))
    field.fill("2025-03-11T15:30")
    claim.get_by_role("button", name="Save outcome").click()
    expect(page.locator(".flash").first).to_contain_text("Outcome saved")
    stored = row(console, request_id)
    assert stored.status == "retry_scheduled"
    assert stored.outcome_note == "follow-up: wants the technician on Thursday"


def test_the_console_fits_a_phone_screen(console: LiveServer, browser: Browser) -> None:
    for minutes, words in ((40, "la bolletta di gennaio è arrivata doppia e non capisco"),
                           (10, "ho un problema con la bolletta")):
        book(console, f"+39333{minutes:07d}", minutes_ago=minutes, words=words,
             not_digital_cue="non ho internet" if minutes == 40 else None)
    user = agent(console)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    browser.login(page, console, user, next_path="/console")
    for taken in (False, True):
        if taken:
            page.click("#take-next")
            expect(page.locator("#mine article.claim")).to_have_count(1)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide"
        why = page.locator("table.queue .why").first
        assert (why.bounding_box() or {"width": 0})["width"] > 200  # not a word per line
        browser.screenshot(page, f"console-390px{'-claimed' if taken else ''}")
    page.evaluate("window.scrollTo(0, 0)")
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_in_viewport(ratio=1)
    sign_out.click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_after_an_outcome_the_agent_wraps_up_before_the_next(console: LiveServer,
                                                             browser: Browser) -> None:
    first = book(console, "+393331111111", minutes_ago=30)
    second = book(console, "+393332222222", minutes_ago=10)
    page = open_console(browser, console, agent(console))
    page.click("#take-next")
    claim = page.locator(f"#claim-{first}")
    claim.locator("input[value=no_answer]").check()
    claim.get_by_role("button", name="Save outcome").click()
    expect(page.locator(".flash").first).to_contain_text("Outcome saved")
    expect(page.locator("#wrap-up")).to_contain_text("After-call work")
    expect(page.locator("#take-next")).to_be_disabled()
    page.evaluate("document.getElementById('take-next').form.requestSubmit()")
    expect(page.locator(".flash").first).to_contain_text("After-call work is still running")
    assert row(console, second).status == "queued"
    page.click("#ready-now")
    expect(page.locator("#wrap-up")).to_have_count(0)
    page.click("#take-next")
    expect(page.locator(f"#claim-{second}")).to_be_visible()


def test_an_agent_away_takes_nothing_and_says_so(console: LiveServer, browser: Browser) -> None:
    request_id = book(console, "+393331111111", minutes_ago=30)
    page = open_console(browser, console, agent(console), locale="it-IT")
    page.select_option("#availability", "away")  # saved at once
    expect(page.locator(".flash").first).to_contain_text("Stato salvato")
    expect(page.locator("#availability")).to_have_value("away")
    expect(page.locator("#take-next")).to_be_disabled()
    expect(page.locator("#take-why")).to_contain_text("Sei assente")
    page.select_option("#availability", "available")
    expect(page.locator("#take-next")).to_be_enabled()
    page.click("#take-next")
    expect(page.locator(f"#claim-{request_id}")).to_be_visible()
    expect(page.locator("#availability")).to_have_value("busy")  # holding one


def test_a_declined_callback_tells_the_agent_what_happened_and_when_it_returns(
        console: LiveServer, browser: Browser, stand_in: Flask) -> None:
    phone = "+393331111111"
    request_id = book(console, phone, minutes_ago=30)
    stand_in.extensions["localtwilio"].callees.set(phone, Callee(answer="busy"))
    page = open_console(browser, console, agent(console), locale="it-IT")
    page.click("#take-next")
    page.click(f"#claim-{request_id} button[data-shortcut=c]")
    assert console.app.extensions["jobs"].wait_idle(timeout=15)
    stand_in.extensions["localtwilio"].wait_idle(timeout=30)
    assert row(console, request_id).status == "retry_scheduled"
    notice = page.locator(f"#returned-{request_id}")
    expect(notice).to_contain_text(f"{phone} ha rifiutato la chiamata", timeout=15_000)
    # the first notice may be drawn before the retry time is stored: wait for the next poll
    expect(notice).to_contain_text("riprogrammata per il", timeout=15_000)
    expect(page.locator("#mine article.claim")).to_have_count(0)
    expect(page.locator(".tz-note")).to_contain_text("Europe/Rome")
    browser.screenshot(page, "console-declined-it")


def test_the_caller_page_tells_the_call_two_sided_in_the_agents_language(
        phone_hotline: LiveServer, browser: Browser) -> None:
    live = phone_hotline
    caller = "+393331234567"
    page = PhonePage(live)
    page.send(type="dial", **{"from": caller})
    answers = [{"type": "say", "text": "ho un problema con la bolletta"},
               {"type": "digits", "digits": "1"}, {"type": "digits", "digits": "1"},
               {"type": "digits", "digits": "1"}]
    while page.expect("listening", "ended", timeout=60)["type"] != "ended":
        page.send(**answers.pop(0))
    page.close()
    with live.app.extensions["db"].transaction() as session:
        request = session.scalar(select(CallbackRequest))
        assert request is not None and request.caller_id is not None
        caller_id, request_id = request.caller_id, request.id

    console_page = open_console(browser, live, live.add_user("anna", role="agent"))
    expect(console_page.locator(f"#req-{request_id} .caller-language")).to_have_text(
        "speaks Italian")
    console_page.goto(live.url(f"/console/callers/{caller_id}"))
    first = console_page.locator("ol.conversation li.turn").first
    # The question in the agent's language (English), not a step id; the caller's own words.
    expect(first.locator(".asked")).to_contain_text("Tell me in a few words why you are calling")
    expect(first.locator(".asked")).not_to_contain_text("ask_need")
    expect(first.locator(".said q")).to_have_text("ho un problema con la bolletta")
    expect(first.locator(".said")).to_contain_text("% confidence")
    expect(console_page.locator("ol.conversation")).to_contain_text("keyed 1")
    browser.screenshot(console_page, "console-caller-conversation")


def test_a_new_urgent_request_is_announced_and_can_sound(console: LiveServer,
                                                         browser: Browser) -> None:
    page = open_console(browser, console, agent(console), locale="it-IT")
    page.check("#alert-sound")  # the agent asks for a sound; kept for the next visits
    digital = book(console, "+393331111111", minutes_ago=1)
    expect(page.locator(f"#req-{digital}")).to_be_visible(timeout=15_000)
    expect(page.locator("#urgent-alert")).to_be_hidden()  # an ordinary request: no alarm
    urgent = book(console, "+393332222222", minutes_ago=0, not_digital_cue="non ho internet")
    expect(page.locator(f"#req-{urgent}")).to_be_visible(timeout=15_000)
    alert = page.locator("#urgent-alert")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("Richiesta urgente")
    expect(alert).to_have_attribute("data-sounded", "1")
    browser.screenshot(page, "console-urgent-alert-it")
    page.reload()
    expect(page.locator("#alert-sound")).to_be_checked()


def test_the_italian_console_counts_in_good_italian(console: LiveServer,
                                                    browser: Browser) -> None:
    one = book(console, "+393331111111", minutes_ago=1)
    fresh = book(console, "+393332222222", minutes_ago=0)
    page = open_console(browser, console, agent(console), locale="it-IT")
    expect(page.locator(f"#req-{one} .why")).to_contain_text("in attesa da 1 minuto")
    expect(page.locator(f"#req-{one} .why")).not_to_contain_text("1 minuti")
    expect(page.locator(f"#req-{fresh} .why")).to_contain_text("in attesa da meno di un minuto")
    page.click("header.top form button.link >> nth=0")  # English
    expect(page.locator(f"#req-{one} .why")).to_contain_text("waiting 1 minute,")


def test_the_call_status_moves_live_and_in_the_agents_language(
        make_live_server: Callable[..., LiveServer], stand_in: Flask, browser: Browser,
        redis_url: str) -> None:
    # Calls placed through RQ with no worker running: the test decides when the call goes.
    live = make_live_server(CLOCK=FrozenClock(console_tests.TUESDAY_10),
                            CALLBACKS_RECONCILE_SECONDS=0, REDIS_URL=redis_url,
                            RQ_QUEUE_PREFIX="cbconsole",
                            TWILIO_API_BASE_URL=stand_in.config["BASE_URL"])
    stand_in.extensions["localtwilio"].transport = FlaskClientTransport(live.app.test_client())
    request_id = book(live, "+393331111111", minutes_ago=20)
    page = open_console(browser, live, agent(live), locale="it-IT")
    page.click("#take-next")
    page.click(f"#claim-{request_id} button[data-shortcut=c]")
    status = page.locator(f"#claim-{request_id} .call-status").first
    expect(status).to_have_text("chiamata in partenza")
    page.locator(f"#claim-{request_id} textarea[name=notes]").fill("note in corso")
    page.evaluate("window.__sameDocument = true")
    jobs = live.app.extensions["jobs"]
    with live.app.app_context():
        SimpleWorker([jobs.queues["calls"]], connection=jobs.connection).work(burst=True)
    stand_in.extensions["localtwilio"].wait_idle(timeout=30)
    expect(status).to_have_text("collegata", timeout=15_000)  # no reload: notes kept
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator(f"#claim-{request_id} textarea[name=notes]")).to_have_value(
        "note in corso")


def test_the_admin_pages_show_times_in_the_hotlines_zone(console: LiveServer,
                                                         browser: Browser) -> None:
    from ivr.flow_store import import_default_flows

    with console.app.extensions["db"].transaction() as session:
        import_default_flows(session)  # published "now": 09:00 UTC is 10:00 in Rome
        from ivr.models import FlowVersion

        for version in session.scalars(select(FlowVersion)):
            version.published_at = version.created_at = console_tests.TUESDAY_10
    admin = console.add_user("ada", role="admin")
    page = browser.new_page()
    browser.login(page, console, admin, next_path="/admin/flows/main/versions")
    page.goto(console.url("/admin/flows/main/versions"))
    expect(page.locator("#versions thead")).to_contain_text("Europe/Rome")
    expect(page.locator("#versions tbody tr").first).to_contain_text("11/03/2025 10:00")
    page.goto(console.url("/admin/flows"))
    expect(page.locator("table")).to_contain_text("11/03/2025 10:00 CET")
