"""The tuning loop (ivr.admin.tuning and the analytics page): the admin picks the intent
(nothing preselected), adds or ignores, handled words leave the list, added words show."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from ivr.models import Flow, FlowVersion
from tests.test_ivr_admin import logged_in
from tests.test_ivr_analytics import calls

WORDS = "vorrei informazioni sulla fornitura"


def _admin(app: Any) -> Any:
    from core.users import create_user

    with app.extensions["db"].transaction() as s:
        create_user(s, "ada", "long enough pw", "admin")
    return logged_in(app)


def _rows(html: str) -> list[tuple[str, str]]:
    """(event id, words) of each row still on the tuning list."""
    return re.findall(r'data-event="(\d+)">.*?<td lang="\w+">([^<]*)</td>', html, re.S)


def test_nothing_is_preselected_and_the_language_is_shown(make_app: Any) -> None:
    client = _admin(calls(make_app))
    html = client.get("/admin/analytics").get_data(as_text=True)
    section = html[html.index('id="candidates"'):]
    assert "selected>" not in section.replace('<option value="" selected>', "")
    assert '<option value="" selected>' in section and "required" in section
    assert '<td class="lang">it</td>' in section


def test_added_words_leave_the_list_and_show_at_the_top_of_the_examples(
        make_app: Any) -> None:
    app = calls(make_app)
    client = _admin(app)
    rows = _rows(client.get("/admin/analytics").get_data(as_text=True))
    event = next(e for e, words in rows if words == WORDS)
    answer = client.post("/admin/flows/main/examples", data={
        "event": event, "intent": "contract", "lang": "it"})
    assert answer.status_code == 303 and "added=" in answer.headers["Location"]
    html = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert WORDS in html[html.index('id="just-added"'):html.index("</p>",
                                                                   html.index('id="just-added"'))]
    assert event not in [e for e, _ in _rows(html)]
    with app.extensions["db"].transaction() as session:
        draft = session.scalar(select(FlowVersion).join(Flow).where(
            Flow.key == "main", FlowVersion.status == "draft"))
        assert draft is not None
        assert draft.document["intents"]["contract"]["examples"]["it"][0] == WORDS
    refused = client.post("/admin/flows/main/examples", data={
        "event": event, "intent": "weather", "lang": "it"})
    assert refused.status_code == 303 and "added=" not in refused.headers["Location"]


def test_ignored_words_leave_the_list(make_app: Any) -> None:
    client = _admin(calls(make_app))
    rows = _rows(client.get("/admin/analytics").get_data(as_text=True))
    event = rows[0][0]
    assert client.post("/admin/flows/main/examples/ignore",
                       data={"event": event}).status_code == 303
    after = _rows(client.get("/admin/analytics").get_data(as_text=True))
    assert after == [row for row in rows if row[0] != event]
