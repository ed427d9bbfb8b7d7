"""The agents' side: callers, callback requests, the priority queue and the console."""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask, csrf: Any) -> None:
    """Register the callbacks API and the agent console (filled in by the callbacks package)."""
