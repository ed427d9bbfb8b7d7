"""What an intent is called in words: "la bolletta" rather than `billing`.

Agents and callers hear and read the flow's own labels; this looks them up in the published
flows, so an admin who renames an intent changes what everyone sees.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import FlowVersion

Labels = dict[str, dict[str, str]]
VersionsKey = tuple[tuple[int, str], ...]

# Labels per set of published versions: one cheap query per lookup, documents read on change.
_cache: dict[VersionsKey, Labels] = {}


def intent_labels(session: Session) -> Labels:
    """intent -> {language: label} over every published flow (a newer flow's label wins)."""
    rows = session.execute(select(FlowVersion.id, FlowVersion.checksum)
                           .where(FlowVersion.status == "published")
                           .order_by(FlowVersion.published_at, FlowVersion.id)).all()
    key: VersionsKey = tuple((row.id, row.checksum) for row in rows)
    labels = _cache.get(key)
    if labels is None:
        labels = {}
        for version_id, _checksum in key:
            version = session.get(FlowVersion, version_id)
            intents = (version.document.get("intents") or {}) if version else {}
            for intent, spec in intents.items():
                labels.setdefault(intent, {}).update(spec.get("label") or {})
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = labels
    return labels


def intent_label(session: Session, intent: str | None, lang: str) -> str:
    """The label of `intent` in `lang` (else in another language, else the key made readable)."""
    if not intent:
        return ""
    label = intent_labels(session).get(intent, {})
    return label.get(lang) or next(iter(label.values()), "") or intent.replace("_", " ")
