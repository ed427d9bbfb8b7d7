"""Interface language for the consoles: Italian and English, following the browser.

Each package keeps a catalog per language in `<package>/translations/<lang>.json`
(flat "key": "text" maps); they are merged at start-up. Templates call `_("key")`,
with `{name}` placeholders filled from keyword arguments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask, g, request, session

LANGUAGES = ("it", "en")
PACKAGES = ("core", "callbacks", "ivr", "speech", "localtwilio")
ROOT = Path(__file__).resolve().parent.parent


def load_catalogs() -> dict[str, dict[str, str]]:
    """All translation catalogs, merged per language."""
    catalogs: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for package in PACKAGES:
        for lang in LANGUAGES:
            path = ROOT / package / "translations" / f"{lang}.json"
            if path.exists():
                catalogs[lang].update(json.loads(path.read_text(encoding="utf-8")))
    return catalogs


def select_language() -> str:
    """The user's chosen language, else the browser's best match, else Italian."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def init_app(app: Flask) -> None:
    """Make `_()` and `current_language` available to templates, and /lang/<code> switch."""
    catalogs = load_catalogs()
    app.extensions["i18n"] = catalogs

    def translate(key: str, **values: Any) -> str:
        lang = g.get("lang") or select_language()
        text = catalogs.get(lang, {}).get(key) or catalogs["en"].get(key) or key
        return text.format(**values) if values else text

    @app.before_request
    def remember_language() -> None:
        g.lang = select_language()

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {"_": translate, "current_language": g.get("lang", LANGUAGES[0]),
                "languages": LANGUAGES}

    @app.route("/lang/<code>", methods=["POST"])
    def switch_language(code: str) -> Any:
        """Switch the console language and go back where the user was."""
        from flask import redirect, url_for

        from core.security import safe_local_path

        if code in LANGUAGES:
            session["lang"] = code
        return redirect(safe_local_path(request.form.get("next")) or url_for("home"))
