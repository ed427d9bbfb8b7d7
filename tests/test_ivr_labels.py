"""Intents are shown and spoken by their labels from the published flows."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from ivr.flow_store import create_draft, import_default_flows, publish, published_version
from ivr.labels import intent_label

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_labels_come_from_the_published_flow_in_each_language(session: Any) -> None:
    import_default_flows(session)
    session.commit()
    assert intent_label(session, "billing", "it") == "la bolletta"
    assert intent_label(session, "billing", "en") == "your bill"


def test_a_renamed_intent_is_seen_by_everyone_once_published(session: Any) -> None:
    import_default_flows(session)
    session.commit()
    current = published_version(session, "main")
    assert current is not None
    document = copy.deepcopy(current.document)
    document["intents"]["billing"]["label"]["en"] = "your energy bill"
    draft = create_draft(session, document, note="clearer label")
    assert intent_label(session, "billing", "en") == "your bill"  # a draft changes nothing
    publish(session, draft, by="admin", now=NOW)
    session.commit()
    assert intent_label(session, "billing", "en") == "your energy bill"


def test_unknown_intents_and_languages_still_read_well(session: Any) -> None:
    import_default_flows(session)
    session.commit()
    assert intent_label(session, "lost_card", "en") == "lost card"
    assert intent_label(session, "billing", "ko") in {"la bolletta", "your bill"}
    assert intent_label(session, None, "en") == ""
