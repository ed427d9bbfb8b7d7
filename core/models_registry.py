"""Import every package's models so Base.metadata knows the whole schema."""

from __future__ import annotations

import importlib

MODEL_MODULES = ("core.models", "ivr.models", "callbacks.models", "speech.models_db",
                 "ivr.admin.models")


def import_all_models() -> None:
    """Import each package's models module (those that exist)."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
