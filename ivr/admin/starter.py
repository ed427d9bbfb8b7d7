"""A new flow from scratch, without YAML: a key, a name and the languages give a first
draft that already runs (a greeting, a person to talk to, a goodbye), which the admin
then grows in the form editor (intents, a question, routes) and test-calls at once.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from ivr import versions
from ivr.admin.edits import NAME
from ivr.flow_store import create_draft
from ivr.models import FlowVersion

LANGUAGE = re.compile(r"^[a-z]{2,3}$")
STARTER_TEXTS: dict[str, dict[str, str]] = {
    "welcome": {"it": "Buongiorno, grazie per aver chiamato.",
                "en": "Hello, thank you for calling."},
    "human": {"it": "La passo a un operatore.", "en": "Putting you through to a person."},
    "goodbye": {"it": "Grazie, arrivederci.", "en": "Thank you, goodbye."},
}
"""The starter's prompts; a language without its own text gets the English one to edit."""


class NewFlowRefused(ValueError):
    """The new flow cannot be made as asked: `why` is the translation key of why."""

    def __init__(self, why: str, **values: str) -> None:
        super().__init__(why)
        self.why, self.values = why, values


def parse_languages(text: str) -> list[str]:
    """"it, en" -> ["it", "en"] (order kept, duplicates dropped)."""
    found: list[str] = []
    for part in re.split(r"[\s,;]+", text.strip().lower()):
        if part and part not in found:
            found.append(part)
    return found


def starter_document(key: str, name: str, languages: list[str]) -> dict[str, Any]:
    """The first draft of a new flow: welcome (say) -> goodbye (end), and the `human`
    transfer step the callback policy names, each prompt in every language."""

    def texts(step: str) -> dict[str, str]:
        return {lang: STARTER_TEXTS[step].get(lang, STARTER_TEXTS[step]["en"])
                for lang in languages}

    return {
        "id": key, "name": name or key, "languages": list(languages),
        "default_language": languages[0], "start": "welcome",
        "steps": {
            "welcome": {"type": "say", "prompt": texts("welcome"), "next": "goodbye"},
            "human": {"type": "transfer", "prompt": texts("human"), "closed": "goodbye",
                      "on_no_answer": "goodbye"},
            "goodbye": {"type": "end", "prompt": texts("goodbye")},
        },
    }


def create_flow(session: Session, key: str, name: str, languages_text: str) -> FlowVersion:
    """Create flow `key` with its starter draft; NewFlowRefused for a bad or taken key
    or no valid language."""
    key = key.strip()
    if not NAME.match(key):
        raise NewFlowRefused("admin.new_flow.bad_key", flow=key)
    if versions.find_flow(session, key) is not None:
        raise NewFlowRefused("admin.new_flow.taken", flow=key)
    languages = parse_languages(languages_text)
    bad = [lang for lang in languages if not LANGUAGE.match(lang)]
    if not languages or bad:
        raise NewFlowRefused("admin.new_flow.bad_languages", languages=", ".join(bad))
    return create_draft(session, starter_document(key, name.strip()[:120], languages),
                        note="new flow")
