"""Flows in the database: seeding, immutable published versions, calls keep their version."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from ivr.flow_store import (
    create_draft,
    flow_for_number,
    import_default_flows,
    publish,
    published_version,
)
from ivr.flowdoc import FlowError
from ivr.models import Call, FlowVersion
from localtwilio import SayText
from tests.ivr_support import OPEN, hotline, place_call


def test_seeding_is_idempotent(app: Any, session: Any) -> None:
    first = import_default_flows(session)
    again = import_default_flows(session)
    session.commit()
    assert [v.id for v in first] == [v.id for v in again]
    version = published_version(session, "main")
    assert version is not None and version.number == 1 and version.published_by == "seed"
    assert flow_for_number(session, "+390200000000").version_id == version.id


def test_publishing_a_draft_archives_the_old_version(app: Any, session: Any) -> None:
    [old] = import_default_flows(session)
    document = copy.deepcopy(old.document)
    document["steps"]["welcome"]["prompt"]["it"] = "Salve, servizio clienti."
    draft = create_draft(session, document, note="new greeting")
    assert draft.status == "draft" and draft.number == 2
    assert published_version(session, "main").id == old.id  # drafts do not answer calls
    publish(session, draft, by="admin", now=OPEN)
    session.commit()
    assert old.status == "archived" and draft.status == "published"
    with pytest.raises(ValueError):
        publish(session, old, by="admin", now=OPEN)


def test_invalid_drafts_are_refused(app: Any, session: Any) -> None:
    [old] = import_default_flows(session)
    document = copy.deepcopy(old.document)
    document["start"] = "nowhere"
    with pytest.raises(FlowError):
        create_draft(session, document)


def test_a_number_can_have_its_own_flow(app: Any, session: Any) -> None:
    [main] = import_default_flows(session)
    document = copy.deepcopy(main.document)
    document["id"] = "outages"
    document["numbers"] = ["+390211111111"]
    own = publish(session, create_draft(session, document), by="admin", now=OPEN)
    session.commit()
    assert flow_for_number(session, "+390211111111").version_id == own.id
    assert flow_for_number(session, "+390200000000").version_id == main.id


def test_a_call_keeps_the_version_it_started_on(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    db = app.extensions["db"]
    t1 = place_call(app, [SayText("bolletta"), SayText("sì"), SayText("sì")])
    with db.transaction() as s:
        old = published_version(s, "main")
        document = copy.deepcopy(old.document)
        document["steps"]["welcome"]["prompt"]["it"] = "Salve, servizio clienti."
        publish(s, create_draft(s, document), by="admin", now=OPEN)
    t2 = place_call(app, [SayText("bolletta"), SayText("sì"), SayText("sì")])
    assert t1.prompts[0].startswith("Buongiorno") and t2.prompts[0] == "Salve, servizio clienti."
    calls = {c.call_sid: c for c in session.scalars(select(Call))}
    versions = {v.id: v for v in session.scalars(select(FlowVersion))}
    assert versions[calls[t1.call_sid].flow_version_id].status == "archived"
    assert versions[calls[t2.call_sid].flow_version_id].status == "published"


def test_publishing_mid_call_does_not_change_the_call(make_app: Any) -> None:
    from tests.ivr_support import CALLER, HOTLINE, signed_post, twiml

    app = hotline(make_app)
    client = app.test_client()
    form = {"CallSid": "CA" + "c" * 32, "From": CALLER, "To": HOTLINE}
    signed_post(client, "/voice/incoming", form)
    with app.extensions["db"].transaction() as s:
        document = copy.deepcopy(published_version(s, "main").document)
        document["steps"]["offer_callback"]["prompt"]["it"] = "Nuova domanda: {label}?"
        publish(s, create_draft(s, document), by="admin", now=OPEN)
    reply = signed_post(client, f"/voice/step/{form['CallSid']}/ask_need/0",
                        {**form, "SpeechResult": "bolletta"})
    said = twiml(reply.data).find("Gather/Say").text
    assert said.startswith("Un operatore può richiamarla per la bolletta")
