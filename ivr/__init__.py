"""The caller's side: voice flows, the call state machine, TwiML and Twilio webhooks."""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask, csrf: Any) -> None:
    """Register the voice webhooks and the admin console (filled in by the ivr package)."""
