"""The caller's side: voice flows, the call state machine, TwiML and Twilio webhooks."""

from __future__ import annotations

from typing import Any

from flask import Flask

# The calls API is added to core.api.bp at import: app.py registers that blueprint before
# calling the packages' init_app, and Flask refuses routes added after that.
from ivr import api as _api  # noqa: F401,E402


def init_app(app: Flask, csrf: Any) -> None:
    """Register the voice webhooks, the speech-socket hooks and the default-flow seeder;
    book the callers spooled while the database was away."""
    from core.cli import register_seeder
    from core.webhooks import stream_upgrade_refusal, warn_if_disabled
    from ivr import flow_store, views
    from ivr.listening import FlowListenPlans, StoreUtterance, tts_check

    app.register_blueprint(views.bp)
    csrf.exempt(views.bp)
    app.extensions["speech.tts_available"] = tts_check(app.config)
    app.extensions["speech.listen_plan"] = FlowListenPlans(app)
    app.extensions["speech.result_sink"] = StoreUtterance(app)
    app.extensions["speech.upgrade_check"] = lambda request: stream_upgrade_refusal(
        app.config, request.full_path, request.headers)
    register_seeder(app, flow_store.seed_default_flows)
    warn_if_disabled(app.config)
    from ivr import admin
    admin.init_app(app)  # the admin console (ivr/admin/)
    from ivr.spooled import replay_at_start
    replay_at_start(app)  # callers a previous run kept on disk while the database was away
