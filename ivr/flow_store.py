"""Flows in the database: import from files, drafts, publishing, and picking a call's flow.

Published versions are never edited: a change is a new draft, and publishing it archives
the previously published version. A call stores the FlowVersion it started on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from ivr.flowdoc import FlowDoc, check_document, default_flow_files, load_file
from ivr.models import Flow, FlowVersion

log = logging.getLogger(__name__)
DEFAULT_FLOW_KEY = "main"


def checksum(document: dict[str, Any]) -> str:
    """A stable content hash of a flow document."""
    payload = json.dumps(document, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def get_or_create_flow(session: Session, key: str, name: str = "") -> Flow:
    """The flow with this key, created empty if new."""
    flow = session.scalar(select(Flow).where(Flow.key == key))
    if flow is None:
        flow = Flow(key=key, name=name or key)
        session.add(flow)
        session.flush()
    return flow


def create_draft(session: Session, document: dict[str, Any], note: str = "") -> FlowVersion:
    """Check a document and store it as the next draft version of its flow."""
    document = check_document(document)
    flow = get_or_create_flow(session, document["id"], document.get("name", ""))
    last = session.scalar(select(func.max(FlowVersion.number))
                          .where(FlowVersion.flow_id == flow.id)) or 0
    version = FlowVersion(flow_id=flow.id, number=last + 1, status="draft", document=document,
                          checksum=checksum(document), note=note)
    session.add(version)
    session.flush()
    return version


def publish(session: Session, version: FlowVersion, *, by: str, now: datetime) -> FlowVersion:
    """Make a draft the flow's published version; the previous one is archived."""
    if version.status != "draft":
        raise ValueError(f"only drafts can be published (version {version.number} is "
                         f"{version.status})")
    check_document(version.document)
    for old in session.scalars(select(FlowVersion).where(
            FlowVersion.flow_id == version.flow_id, FlowVersion.status == "published")):
        old.status = "archived"
    version.status = "published"
    version.published_at = now
    version.published_by = by
    session.flush()
    return version


def published_version(session: Session, key: str) -> FlowVersion | None:
    """The published version of the flow `key`, if any."""
    return session.scalar(select(FlowVersion).join(Flow).where(
        Flow.key == key, FlowVersion.status == "published"))


@dataclass(frozen=True)
class PickedFlow:
    """The published version that answers a call, and its document."""

    version_id: int
    number: int
    doc: FlowDoc


def flow_for_number(session: Session, to_number: str) -> PickedFlow | None:
    """The published flow that answers `to_number` (its `numbers` list), else "main".

    One query; documents come from the cache (published versions never change).
    """
    rows = session.execute(select(FlowVersion.id, FlowVersion.number, FlowVersion.checksum)
                           .where(FlowVersion.status == "published")).all()
    fallback = None
    for version_id, number, digest in rows:
        doc = cached_doc(session, version_id, digest)
        picked = PickedFlow(version_id, number, doc)
        if to_number and to_number in (doc.document.get("numbers") or []):
            return picked
        if doc.key == DEFAULT_FLOW_KEY:
            fallback = picked
    return fallback


def import_file(session: Session, path: str | Path, *, by: str = "seed",
                now: datetime | None = None) -> FlowVersion:
    """Import a YAML flow; publishes it unless the published version is identical."""
    document = load_file(path)
    current = published_version(session, document["id"])
    if current is not None and current.checksum == checksum(document):
        return current
    draft = create_draft(session, document, note=f"imported from {Path(path).name}")
    log.info("flow %s: version %s imported from %s", document["id"], draft.number,
             Path(path).name)
    return publish(session, draft, by=by, now=now or utcnow())


def import_default_flows(session: Session) -> list[FlowVersion]:
    """Seeder: import and publish the flows shipped in ivr/flows/ (idempotent)."""
    return [import_file(session, path) for path in default_flow_files()]


def flow_doc(version: FlowVersion) -> FlowDoc:
    """The engine's view of a stored version's document."""
    return _doc_cache(version.id, version.checksum, version.document)


def flow_doc_by_id(session: Session, version_id: int) -> FlowDoc:
    """The engine's view of a version, without reading its document when it is cached."""
    digest = session.scalar(select(FlowVersion.checksum).where(FlowVersion.id == version_id))
    return cached_doc(session, version_id, digest or "")


def cached_doc(session: Session, version_id: int, digest: str) -> FlowDoc:
    """The document of version `version_id` whose checksum is `digest`, read once."""
    doc = _CACHE.get((version_id, digest))
    if doc is not None:
        return doc
    version = session.get(FlowVersion, version_id)
    if version is None:
        raise LookupError(f"no flow version {version_id}")
    return flow_doc(version)


_CACHE: dict[tuple[int, str], FlowDoc] = {}


def _doc_cache(version_id: int, digest: str, document: dict[str, Any]) -> FlowDoc:
    key = (version_id, digest)
    doc = _CACHE.get(key)
    if doc is None:
        if len(_CACHE) > 256:
            _CACHE.clear()
        doc = _CACHE[key] = FlowDoc(document)
    return doc


def seed_default_flows(session: Session) -> None:
    """The demo seeder (core.cli.register_seeder): publish the shipped flows if changed."""
    import_default_flows(session)
