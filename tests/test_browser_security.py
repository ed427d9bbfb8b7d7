"""The content security policy in a real Chromium: the consoles' own scripts still run, and
nothing on the pages is blocked (a violation would show in the browser's console)."""

from __future__ import annotations

from typing import Any

import pytest

from core.clock import FrozenClock
from ivr.flow_store import import_default_flows
from tests.ivr_support import OPEN


def _violations(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text else None)
    return seen


@pytest.mark.browser
def test_the_analytics_period_menu_still_submits_under_the_policy(make_live_server: Any,
                                                                  browser: Any) -> None:
    live = make_live_server(CLOCK=FrozenClock(OPEN))
    with live.app.extensions["db"].transaction() as session:
        import_default_flows(session)
    page = browser.new_page()
    blocked = _violations(page)
    browser.login(page, live, live.add_user("ada", role="admin"), "/admin/analytics")
    with page.expect_navigation():
        page.select_option("select[name=days]", "7")  # its inline onchange, allowed by hash
    assert "days=7" in page.url
    assert blocked == []


@pytest.mark.browser
def test_console_account_and_privacy_pages_load_without_violations(make_live_server: Any,
                                                                   browser: Any) -> None:
    live = make_live_server(CLOCK=FrozenClock(OPEN))
    page = browser.new_page()
    blocked = _violations(page)
    browser.login(page, live, live.add_user("ada", role="admin"), "/console")
    for path in ("/console", "/account/password", "/account/users", "/console/privacy"):
        response = page.goto(live.url(path))
        assert response is not None and response.status == 200, path
    assert blocked == []
