"""A shift in the agent console, in a real headless Chromium against the real app.

Each test is one thing an agent met in a shift that went wrong (issue "a whole shift
without surprises"): a voicemail from the local phone that would not play, shortcuts that
acted on another request, a validation error that wiped the agent's notes, a console that
did not fit a phone's screen.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from callbacks.models import CallbackRequest
from ivr.flow_store import import_file
from tests.browser import ROOT, Browser, LiveServer
from tests.test_browser_console import (  # noqa: F401  (console, stand_in are fixtures)
    AGENT_PHONE,
    agent,
    book,
    console,
    open_console,
    row,
    stand_in,
)
from tests.test_localtwilio_phone import PhonePage, start_phone_server

pytestmark = pytest.mark.browser

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
