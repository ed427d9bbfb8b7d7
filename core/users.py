"""Users, passwords and API tokens: plain functions over a Session."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import ROLES, ApiToken, User

HASH_CONCURRENCY = 4  # argon2 takes 64 MiB per hash: 64 logins at once took 900 MB
TOKEN_LIFETIME = timedelta(days=90)
MIN_PASSWORD_LENGTH = 8
_COMMON = frozenset(Path(__file__).with_name("common_passwords.txt").read_text().split())


class BoundedHasher:
    """argon2 password hashing with at most `concurrency` hashes running at once."""

    def __init__(self, concurrency: int = HASH_CONCURRENCY) -> None:
        self._hasher = PasswordHasher()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._running = 0
        self.peak = 0  # the most hashes seen running at once

    def _run(self, work: Callable[[], T]) -> T:
        with self._slots:
            with self._lock:
                self._running += 1
                self.peak = max(self.peak, self._running)
            try:
                return work()
            finally:
                with self._lock:
                    self._running -= 1

    def hash(self, password: str) -> str:
        """An argon2id hash of the password."""
        return self._run(lambda: self._hasher.hash(password))

    def verify(self, hashed: str, password: str) -> bool:
        """True, or raises argon2's VerificationError / InvalidHashError."""
        return self._run(lambda: self._hasher.verify(hashed, password))

    def check_needs_rehash(self, hashed: str) -> bool:
        """True when the hash was made with weaker parameters than today's."""
        return self._hasher.check_needs_rehash(hashed)


_hasher = BoundedHasher()
T = TypeVar("T")


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why, and `key` names
    its translation for the consoles."""

    def __init__(self, message: str, key: str = "account.refused") -> None:
        super().__init__(message)
        self.key = key


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def check_password_policy(password: str, username: str = "") -> None:
    """Raise UserError when the password is too short, common, or made of the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters",
                        "account.too_short")
    folded = password.lower()
    stripped = folded.rstrip("0123456789!?.")
    if folded in _COMMON or stripped in _COMMON or len(set(folded)) < 4:
        raise UserError("this password is too common or too simple: choose a longer phrase",
                        "account.too_common")
    name = username.strip().lower()
    if name and len(name) >= 3 and folded.replace(name, "").strip("-_. 0123456789") == "":
        raise UserError("the password must not be made of the username", "account.username")


def create_user(session: Session, username: str, password: str, role: str,
                display_name: str = "", language: str = "it") -> User:
    """Add an agent or admin; raises UserError for a bad role, short password or taken name."""
    username = username.strip().lower()
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if not username:
        raise UserError("username is required")
    check_password_policy(password, username)
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


def set_password(session: Session, user: User, password: str) -> None:
    """Give the user a new password (checked against the policy); their sessions end."""
    check_password_policy(password, user.username)
    user.password_hash = hash_password(password)
    end_sessions(user)
    session.flush()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """The user's own change: the current password must be right."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise UserError("the current password is wrong", "account.wrong_current") from None
    set_password(session, user, new)


def set_active(session: Session, user: User, active: bool) -> None:
    """Deactivate (sessions and tokens stop working at once) or reactivate a user."""
    user.active = active
    if not active:
        end_sessions(user)
    session.flush()


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every API token of the user; returns how many were live."""
    live = [t for t in user.tokens if not t.revoked]
    for api_token in live:
        api_token.revoked = True
    session.flush()
    return len(live)


def find_user(session: Session, username: str) -> User:
    """The user with this name; raises UserError when there is none."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def end_sessions(user: User) -> None:
    """Make every console session of the user invalid (logout, password change, deactivation)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, label: str = "",
                ttl: timedelta | None = TOKEN_LIFETIME) -> str:
    """Create an API token for the user and return it; only its digest is kept.

    It expires after `ttl` (90 days by default; None: never).
    """
    token = "hl_" + secrets.token_urlsafe(32)
    expires_at = utcnow() + ttl if ttl is not None else None
    session.add(ApiToken(user=user, digest=_digest(token), label=label, expires_at=expires_at))
    session.flush()
    return token


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning a valid, unrevoked, unexpired token, or None."""
    api_token = session.scalar(select(ApiToken).where(ApiToken.digest == _digest(token),
                                                      ApiToken.revoked.is_(False)))
    now = utcnow()
    if api_token is None or not api_token.user.active or _expired(api_token.expires_at, now):
        return None
    api_token.last_used_at = now
    return api_token.user
