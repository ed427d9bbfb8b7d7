"""The admin console for voice flows: a blueprint of its own, beside the call runtime.

Modules: `views` (flows, editor, publish, versions), `tryit` (test calls and test cases),
`insights` (analytics, the tuning loop, callers' profiles), `forms`/`edits`/`form_fields`
(the form editor), `gate` (the evaluation gate), `models` (test cases). Each views module
adds its routes in `register(bp)`; `create_blueprint` calls them, so nothing is registered
by importing a module.
"""

from __future__ import annotations

from flask import Blueprint, Flask


def create_blueprint() -> Blueprint:
    """The /admin blueprint with every admin route on it."""
    from ivr.admin import home, insights, tryit, views
    from ivr.admin.context import local_time

    bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
                   static_folder="static", static_url_path="/static")
    for module in (home, views, tryit, insights):
        module.register(bp)
    bp.add_app_template_filter(local_time, "admin_time")
    return bp


def init_app(app: Flask) -> None:
    """Register the admin blueprint and its console links."""
    from core.cli import register_seeder
    from ivr.admin import cases
    from ivr.admin.gate import CaseResults
    from ivr.admin.gate_runs import GateRuns

    app.register_blueprint(create_blueprint())
    app.extensions["admin_gate_runs"] = GateRuns()
    app.extensions["admin_case_results"] = CaseResults()
    # after the flows' seeder (ivr.init_app): the cases need their flow
    register_seeder(app, cases.seeder)
    links = app.config.setdefault("CONSOLE_LINKS", [])
    for link in (("admin.home", "nav.admin", "admin"),
                 ("admin.flows", "nav.flows", "admin"),
                 ("admin.analytics", "nav.analytics", "admin")):
        if link not in links:
            links.append(link)
