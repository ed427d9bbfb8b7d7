"""Command-line tasks: `flask --app app <command>` (migrations, users, demo data)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from sqlalchemy.orm import Session

from core.models import User
from core.users import (
    UserError,
    create_user,
    find_user,
    issue_token,
    revoke_tokens,
    set_active,
    set_password,
)

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent

Seeder = Callable[[Session], None]


def alembic_config(database_url: str) -> Config:
    """Alembic settings pointing at our migrations and the given database."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str) -> None:
    """Apply every migration (idempotent)."""
    command.upgrade(alembic_config(database_url), "head")


def prepare_database(app: Flask) -> None:
    """Migrate, then (when SEED_DEMO is on) load the default flows and demo users."""
    upgrade_database(app.config["DATABASE_URL"])
    if app.config.get("SEED_DEMO"):
        seed_demo(app)


def seed_demo(app: Flask) -> None:
    """Default flows and one admin and one agent, created once; credentials are printed."""
    db = app.extensions["db"]
    with db.transaction() as session:
        for seeder in app.extensions.get("seeders", []):
            seeder(session)
        for username, role in (("admin", "admin"), ("agent", "agent")):
            password = secrets.token_urlsafe(9)
            try:
                create_user(session, username, password, role, display_name=username.title())
            except UserError:
                continue  # already there from an earlier run; its password is unchanged
            click.echo(f"demo {role}: username {username!r} password {password!r}")


def register_seeder(app: Flask, seeder: Seeder) -> None:
    """Let a package add demo/default data to `seed_demo`."""
    app.extensions.setdefault("seeders", []).append(seeder)


def init_app(app: Flask) -> None:
    """Register the CLI commands."""

    @app.cli.command("db-upgrade")
    def db_upgrade() -> None:
        """Apply database migrations."""
        upgrade_database(current_app.config["DATABASE_URL"])
        click.echo("database is up to date")

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Load default flows and the demo users."""
        prepare_database(current_app)
        seed_demo(current_app)

    @app.cli.group("users")
    def users() -> None:
        """Manage agents and admins."""

    @users.command("create")
    @click.argument("username")
    @click.option("--role", type=click.Choice(["agent", "admin"]), default="agent")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", "display_name", default="")
    @click.option("--language", type=click.Choice(["it", "en"]), default="it")
    def create(username: str, role: str, password: str, display_name: str,
               language: str) -> None:
        """Create a user and print an API token for it."""
        db = current_app.extensions["db"]
        try:
            with db.transaction() as session:
                user = create_user(session, username, password, role, display_name, language)
                token = issue_token(session, user, label="cli")
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"created {role} {user.username}")
        click.echo(f"API token: {token}")

    @users.command("token")
    @click.argument("username")
    @click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True,
                  help="the token stops working after this many days")
    def token(username: str, days: int) -> None:
        """Issue a new API token for an existing user."""
        with _user_change(username) as (session, user):
            token = issue_token(session, user, label="cli", ttl=timedelta(days=days))
        click.echo(f"API token (valid {days} days): {token}")

    @users.command("revoke-tokens")
    @click.argument("username")
    def revoke(username: str) -> None:
        """Revoke every API token of the user."""
        with _user_change(username) as (session, user):
            count = revoke_tokens(session, user)
        click.echo(f"revoked {count} token(s) of {username}")

    @users.command("password")
    @click.argument("username")
    @click.option("--password", prompt="New password", hide_input=True,
                  confirmation_prompt=True)
    def password(username: str, password: str) -> None:
        """Set a new password for the user (their console sessions end)."""
        with _user_change(username) as (session, user):
            set_password(session, user, password)
        click.echo(f"password of {username} changed")

    @users.command("deactivate")
    @click.argument("username")
    def deactivate(username: str) -> None:
        """Stop the user signing in or using the API (sessions and tokens stop at once)."""
        with _user_change(username) as (session, user):
            set_active(session, user, False)
        click.echo(f"{username} deactivated")

    @users.command("activate")
    @click.argument("username")
    def activate(username: str) -> None:
        """Let a deactivated user sign in again."""
        with _user_change(username) as (session, user):
            set_active(session, user, True)
        click.echo(f"{username} activated")


@contextmanager
def _user_change(username: str) -> Iterator[tuple[Session, User]]:
    """A transaction on the named user; a UserError becomes a one-line CLI error."""
    db = current_app.extensions["db"]
    try:
        with db.transaction() as session:
            yield session, find_user(session, username)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
