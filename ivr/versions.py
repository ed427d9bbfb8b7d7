"""Flow versions for the admin console: the working draft, diffs, rollback, tuning edits.

Published and archived versions are never changed. An admin edits one working draft (the
newest version, while it is a draft); publishing it goes through `flow_store.publish`.
Rolling back publishes a *copy* of an old version as a new version, so history only grows
and calls in progress keep the version they pinned (`Call.flow_version_id`).
"""

from __future__ import annotations

import copy
import difflib
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from ivr.flow_store import checksum, create_draft, publish
from ivr.flowdoc import check_document
from ivr.models import Flow, FlowVersion


class VersionError(ValueError):
    """The asked-for version change is not possible (unknown version, not a draft...)."""


def canonical_yaml(document: dict[str, Any]) -> str:
    """The document as YAML with a stable key order, for display and diffs."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=True, width=100,
                          default_flow_style=False)


def diff(old: FlowVersion, new: FlowVersion) -> list[str]:
    """Unified diff lines between two versions' canonical YAML."""
    return list(difflib.unified_diff(
        canonical_yaml(old.document).splitlines(), canonical_yaml(new.document).splitlines(),
        fromfile=f"v{old.number} ({old.status})", tofile=f"v{new.number} ({new.status})",
        lineterm=""))


def find_flow(session: Session, key: str) -> Flow | None:
    """The flow with this key, or None."""
    return session.scalar(select(Flow).where(Flow.key == key))


def versions(session: Session, flow: Flow) -> list[FlowVersion]:
    """Every version of a flow, newest first."""
    return list(session.scalars(select(FlowVersion).where(FlowVersion.flow_id == flow.id)
                                .order_by(FlowVersion.number.desc())))


def get_version(session: Session, flow: Flow, number: int) -> FlowVersion:
    """Version `number` of the flow (VersionError if there is none)."""
    version = session.scalar(select(FlowVersion).where(FlowVersion.flow_id == flow.id,
                                                       FlowVersion.number == number))
    if version is None:
        raise VersionError(f"flow {flow.key} has no version {number}")
    return version


def published(session: Session, flow: Flow) -> FlowVersion | None:
    """The flow's published version, if any."""
    return session.scalar(select(FlowVersion).where(FlowVersion.flow_id == flow.id,
                                                    FlowVersion.status == "published"))


def working_draft(session: Session, flow: Flow) -> FlowVersion | None:
    """The draft being edited: the newest version when it is a draft, else None."""
    newest = session.scalar(select(FlowVersion).where(FlowVersion.flow_id == flow.id)
                            .order_by(FlowVersion.number.desc()).limit(1))
    return newest if newest is not None and newest.status == "draft" else None


def current_document(session: Session, flow: Flow) -> dict[str, Any]:
    """What the editor shows: the working draft, else the published (or newest) version."""
    history = versions(session, flow)
    version = working_draft(session, flow) or published(session, flow) or \
        (history[0] if history else None)
    if version is None:
        raise VersionError(f"flow {flow.key} has no versions")
    return copy.deepcopy(version.document)


def save_draft(session: Session, flow: Flow, document: dict[str, Any],
               note: str = "") -> FlowVersion:
    """Store an edited document as the working draft (updated in place, or a new draft).

    The document must pass the structural check (`flowdoc.check_document`); the flow's
    key cannot change here.
    """
    if document.get("id") != flow.key:
        raise VersionError(f"the document's id must stay {flow.key!r}")
    document = check_document(document)
    draft = working_draft(session, flow)
    if draft is None:
        return create_draft(session, document, note=note)
    draft.document = document
    flag_modified(draft, "document")  # equal dicts in another step order are still a change
    draft.checksum = checksum(document)
    if note:
        draft.note = note[:255]
    session.flush()
    return draft


def rollback(session: Session, flow: Flow, number: int, *, by: str,
             now: datetime) -> FlowVersion:
    """Publish a copy of version `number` as a new version (the old one stays as it was).

    A working draft in progress is archived with a note (it stays in the history, and
    can be rolled back to like any other version).
    """
    old = get_version(session, flow, number)
    draft = working_draft(session, flow)
    if draft is not None:
        draft.status = "archived"
        draft.note = (draft.note + " (set aside by a rollback)")[:255]
    copy_ = create_draft(session, copy.deepcopy(old.document),
                         note=f"rollback to v{old.number}")
    return publish(session, copy_, by=by, now=now)


def add_example(session: Session, flow: Flow, intent: str, lang: str, phrase: str,
                note: str = "") -> FlowVersion:
    """The tuning loop: add `phrase` as an example of `intent` in the working draft (first
    in the list, where the admin sees it)."""
    phrase = " ".join(phrase.split())
    if not phrase:
        raise VersionError("the phrase is empty")
    document = current_document(session, flow)
    spec = (document.get("intents") or {}).get(intent)
    if spec is None:
        raise VersionError(f"flow {flow.key} has no intent {intent!r}")
    examples = spec.setdefault("examples", {}).setdefault(lang, [])
    if phrase not in examples:
        examples.insert(0, phrase)
    return save_draft(session, flow, document,
                      note=note or f"example added to {intent} ({lang})")
