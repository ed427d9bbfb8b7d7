import pytest
pytest_plugins = ("tests.browser",)

@pytest.mark.browser
def test_login(live_server, browser):
    u = live_server.add_user("anna")
    page = browser.new_page()
    browser.login(page, live_server, u)
    print(page.url)
    browser.screenshot(page, "smoke")
