"""Users, passwords and API tokens: plain functions over a Session."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import ROLES, ApiToken, User

_hasher = PasswordHasher()


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def create_user(session: Session, username: str, password: str, role: str,
                display_name: str = "", language: str = "it") -> User:
    """Add an agent or admin; raises UserError for a bad role, short password or taken name."""
    username = username.strip().lower()
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if not username:
        raise UserError("username is required")
    if len(password) < 8:
        raise UserError("password must be at least 8 characters")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role,
                display_name=display_name or username, language=language)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None."""
    user = session.scalar(select(User).where(User.username == username.strip().lower(),
                                             User.active.is_(True)))
    if user is None:
        _hasher.hash(password)  # same work either way: no user-enumeration by timing
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def end_sessions(user: User) -> None:
    """Make every console session of the user invalid (logout, password change, deactivation)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, label: str = "") -> str:
    """Create an API token for the user and return it; only its digest is kept."""
    token = "hl_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, digest=_digest(token), label=label))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning a valid, unrevoked token, or None."""
    api_token = session.scalar(select(ApiToken).where(ApiToken.digest == _digest(token),
                                                      ApiToken.revoked.is_(False)))
    if api_token is None or not api_token.user.active:
        return None
    api_token.last_used_at = utcnow()
    return api_token.user
