"""Browser-test harness: the real app on a real port, driven by a real headless Chromium.

tests/conftest.py loads it as a plugin, so every test module can use its fixtures:

    @pytest.mark.browser
    def test_something(live_server, browser):
        agent = live_server.add_user("anna", role="agent")
        page = browser.new_page()
        browser.login(page, live_server, agent)
        page.goto(live_server.url("/console"))
        browser.screenshot(page, "console-queue")

Fixtures
- `live_server`: `create_app(base_config(database_url) | overrides)` served by werkzeug's
  threaded server on 127.0.0.1 and a free port, in a daemon thread; runs on SQLite and
  PostgreSQL in turn (it uses the parametrized `database_url`). Shut down and disposed
  after the test.
- `make_live_server(**overrides)`: the same, with extra settings (CLOCK, REDIS_URL,
  TWILIO_API_BASE_URL, JOB_QUEUE, ...); a test may start several.
- `browser`: a `Browser` wrapper (Debian's /usr/bin/chromium through Playwright's sync
  API, never a downloaded browser). Every `browser.new_page()` / `browser.new_context()`
  is a fresh context (own cookies), so two contexts are two agents.
- `make_browser(extra_args=[...])`: the same with extra Chromium switches, e.g. the local
  phone's fake microphone:
  `make_browser(extra_args=fake_microphone_args("tests/data/hello.wav"))`.

Screenshots go to test-artifacts/screenshots/<name>.png (`browser.screenshot(page, name)`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app
from core.clock import FrozenClock
from core.users import create_user
from ivr.flow_store import import_default_flows
from tests.conftest import base_config
from tests.ivr_support import OPEN

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
DEFAULT_PASSWORD = "correct-horse-battery"
AXE = ROOT / "tests" / "assets" / "axe.min.js"  # axe-core, vendored (tests/assets/README.md)
AXE_BLOCKING = ("critical", "serious", "moderate")


def admin_server(make_live_server: Any, **overrides: Any) -> Any:
    """A live server at an open hour with the shipped flows imported: an admin's start."""
    live = make_live_server(CLOCK=FrozenClock(OPEN), **overrides)
    with live.app.extensions["db"].transaction() as session:
        import_default_flows(session)
    return live


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is; the violations of moderate impact or worse."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"],
             "nodes": [n["target"] for n in v["nodes"]][:5],
             "summary": v["nodes"][0].get("failureSummary", "")[:300] if v["nodes"] else ""}
            for v in result["violations"] if v["impact"] in AXE_BLOCKING]


def fake_microphone_args(wav_path: str | Path) -> list[str]:
    """Chromium switches that grant the microphone and feed it a WAV file (16-bit PCM)."""
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={Path(wav_path).resolve()}"]


# ---------------------------------------------------------------- the live server
@dataclass
class LiveServer:
    """A running app: its Flask object, base URL and helpers to set up data."""

    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread
    users: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>, no trailing slash."""
        return f"http://127.0.0.1:{self.server.server_port}"

    def url(self, path: str = "/") -> str:
        """An absolute URL on this server for a path such as "/console"."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def add_user(self, username: str, role: str = "agent", password: str = DEFAULT_PASSWORD,
                 display_name: str = "", language: str = "en") -> LoginDetails:
        """Create a console user in the server's database; returns what `login` needs."""
        with self.app.extensions["db"].transaction() as session:
            user = create_user(session, username, password, role,
                               display_name=display_name or username.title(),
                               language=language)
            user_id = user.id
        details = LoginDetails(username=username, password=password, user_id=user_id)
        self.users[username] = details
        return details

    def stop(self) -> None:
        """Stop serving, join the thread, close the job queue and the database."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.app.extensions["jobs"].close()
        self.app.extensions["db"].dispose()


@dataclass(frozen=True)
class LoginDetails:
    """A user the harness created: name, password and database id."""

    username: str
    password: str
    user_id: int


def start_live_server(app: Flask) -> LiveServer:
    """Serve `app` with werkzeug's threaded server on 127.0.0.1:<free port> in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    return LiveServer(app=app, server=server, thread=thread)


@pytest.fixture
def make_live_server(database_url: str) -> Iterator[Callable[..., LiveServer]]:
    """Start live servers on this test's database with extra settings; stops them after."""
    started: list[LiveServer] = []

    def factory(**overrides: Any) -> LiveServer:
        config = base_config(overrides.pop("DATABASE_URL", database_url))
        config.update(overrides)
        live = start_live_server(create_app(config))
        started.append(live)
        return live

    yield factory
    for live in started:
        live.stop()


@pytest.fixture
def live_server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    """The hotline app served on a real port (base test settings)."""
    return make_live_server()


# ---------------------------------------------------------------- the browser
class Browser:
    """Headless Chromium with helpers; each new context has its own cookies."""

    def __init__(self, playwright: Playwright, extra_args: Sequence[str] = (),
                 locale: str = "en-GB") -> None:
        self._browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args])
        self.locale = locale
        self.contexts: list[BrowserContext] = []

    def new_context(self, **options: Any) -> BrowserContext:
        """A fresh browser profile (cookies, storage); `locale` sets Accept-Language."""
        options.setdefault("locale", self.locale)
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = self._browser.new_context(**options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context

    def new_page(self, **options: Any) -> Page:
        """A page in a fresh context."""
        return self.new_context(**options).new_page()

    def login(self, page: Page, live: LiveServer, user: LoginDetails,
              next_path: str = "/") -> None:
        """Sign in through the real login form and wait until we have left it."""
        page.goto(live.url("/login?next=" + next_path))
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", user.password)
        with page.expect_response(lambda r: r.request.method == "POST"
                                  and "/login" in r.url) as answer:
            page.click("form.card button[type=submit]")
        if answer.value.status != 302:
            raise AssertionError(f"login as {user.username!r} failed: "
                                 f"HTTP {answer.value.status}")
        page.wait_for_load_state()

    def screenshot(self, page: Page, name: str, full_page: bool = True) -> Path:
        """Save test-artifacts/screenshots/<name>.png and return its path."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        """Close every context, then the browser."""
        for context in self.contexts:
            context.close()
        self._browser.close()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """One Playwright driver for the test session."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def make_browser(playwright_driver: Playwright) -> Iterator[Callable[..., Browser]]:
    """Launch Chromium with extra switches (e.g. `fake_microphone_args(wav)`)."""
    launched: list[Browser] = []

    def factory(extra_args: Sequence[str] = (), locale: str = "en-GB") -> Browser:
        browser = Browser(playwright_driver, extra_args, locale)
        launched.append(browser)
        return browser

    yield factory
    for browser in launched:
        browser.close()


@pytest.fixture
def browser(make_browser: Callable[..., Browser]) -> Browser:
    """Headless Chromium with the standard switches."""
    return make_browser()
