"""The agents' side: callers, callback requests, the priority queue and the console."""

from __future__ import annotations

import logging
from typing import Any

import click
from flask import Flask, current_app

# The API routes are added to core.api.bp at import: app.py registers that blueprint
# before calling the packages' init_app, and Flask refuses routes added after that.
from callbacks import api as _api  # noqa: F401,E402

log = logging.getLogger(__name__)


def init_app(app: Flask, csrf: Any) -> None:
    """Register the callbacks API, the Twilio webhooks, the CLI and the periodic reconciler.

    `CALLBACKS_RECONCILE_SECONDS` (default 60; 0 = off) sets how often the reconciler runs.
    One schedule only: with RQ it is `rq cron callbacks/cron.py` (which outlives a Redis
    flush); the self-rescheduling chain is for the in-process queue alone. Every web process
    and worker used to start a chain of its own on Redis as well, and dozens of reconcile
    jobs queued up.
    """
    from callbacks import (
        api,  # noqa: F401  (adds routes to core.api.bp)
        reconcile,
        webhooks,
    )

    app.register_blueprint(webhooks.bp)
    csrf.exempt(webhooks.bp)
    app.config.setdefault("CALLBACK_AGENT_NUMBER", "")
    period = int(app.config.get("CALLBACKS_RECONCILE_SECONDS", 60))
    if period > 0 and app.extensions["jobs"].backend == "in-process":
        try:
            reconcile.schedule(app, period, app.extensions["clock"].now())
        except Exception as exc:  # a job queue's failure at start-up must not stop the app
            log.warning("could not schedule the callback reconciler (%s); run "
                        "`flask --app app callbacks reconcile`", type(exc).__name__)

    @app.cli.group("callbacks")
    def callbacks_cli() -> None:
        """The callback queue."""

    @callbacks_cli.command("reconcile")
    def reconcile_command() -> None:
        """Re-enqueue every due callback job from the database (after Redis lost them)."""
        counts = reconcile.reconcile_now(current_app, current_app.extensions["clock"].now())
        click.echo(", ".join(f"{name} {count}" for name, count in counts.items()))

    @callbacks_cli.command("import-profiles")
    @click.argument("csv_file", type=click.File("r", encoding="utf-8"))
    def import_profiles(csv_file: Any) -> None:
        """Import "number,not_digital,reason" rows as an admin's decisions.

        Refused rows are listed on stderr (the others are applied) and the exit status is 1.
        """
        from callbacks.profiles_csv import import_csv

        with current_app.extensions["db"].transaction() as session:
            result = import_csv(session, csv_file.read(), actor="cli",
                                now=current_app.extensions["clock"].now())
        click.echo(f"changed {result.changed}, unchanged {result.unchanged}, "
                   f"refused {len(result.errors)}")
        for line, why in result.errors:
            click.echo(f"line {line}: {why}", err=True)
        if result.errors:
            raise SystemExit(1)

    @callbacks_cli.command("erase-caller")
    @click.argument("number")
    @click.option("--yes", is_flag=True, help="do not ask for confirmation")
    def erase_caller_command(number: str, yes: bool) -> None:
        """Erase everything held about one caller, on their request (GDPR art. 17)."""
        from callbacks import privacy

        if not yes:
            click.confirm(f"Erase every record of {number}? This cannot be undone", abort=True)
        try:
            with current_app.extensions["db"].transaction() as session:
                counts = privacy.erase_caller(session, number,
                                              privacy.deleter_for_app(current_app),
                                              actor="cli")
        except (ValueError, RuntimeError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo("erased: " + ", ".join(f"{name} {n}" for name, n in counts.items()))

    @callbacks_cli.command("export-caller")
    @click.argument("number")
    def export_caller_command(number: str) -> None:
        """Print everything held about one caller as JSON (GDPR art. 15)."""
        import json

        from callbacks import privacy

        try:
            with current_app.extensions["db"].transaction() as session:
                data = privacy.export_caller(session, number)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))

    @callbacks_cli.command("retention")
    def retention_command() -> None:
        """Apply the retention periods now (the daily rq cron job does the same)."""
        from callbacks import privacy

        counts = privacy.enforce_retention_job()
        click.echo(", ".join(f"{name} {n}" for name, n in counts.items()))

    from callbacks import (
        console,  # the agent console (callbacks/console.py)
        privacy_views,
    )

    app.register_blueprint(privacy_views.bp)

    console.init_app(app)
