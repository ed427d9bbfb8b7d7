"""Callers, their digital-inclusion profile, callback requests and call attempts.

The database is the source of truth for everything the queue must do: a request's status,
when it may next be dialled and which attempts were made. Redis only holds jobs that can
be rebuilt from these rows (see `callbacks.reconcile`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow

# Request statuses. "Open" ones still need a human to call back.
QUEUED = "queued"
CLAIMED = "claimed"
DIALLING = "dialling"
COMPLETED = "completed"
# The callback call reached the caller, and the agent has not said how it went yet. Not
# open (the caller was called back) and not done: only the agent's outcome closes it.
CONNECTED = "connected"
NO_ANSWER = "no_answer"
RETRY_SCHEDULED = "retry_scheduled"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (QUEUED, CLAIMED, DIALLING, CONNECTED, COMPLETED, NO_ANSWER, RETRY_SCHEDULED, FAILED,
            CANCELLED)
OPEN_STATUSES = (QUEUED, CLAIMED, DIALLING, RETRY_SCHEDULED)
# Requests a person still has to act on: open ones, and connected calls awaiting the outcome.
UNFINISHED_STATUSES = (*OPEN_STATUSES, CONNECTED)
CLAIMABLE_STATUSES = (QUEUED, RETRY_SCHEDULED)

# Transcription of a recorded message (CallbackRequest.transcript_status; None: no message).
TRANSCRIPT_PENDING = "pending"
TRANSCRIBED = "done"
NO_MODEL = "no_model"
TRANSCRIPT_FAILED = "failed"
TRANSCRIPT_STATUSES = (TRANSCRIPT_PENDING, TRANSCRIBED, NO_MODEL, TRANSCRIPT_FAILED)

# The promise of an urgent request (an emergency): no minutes, top of the queue.
URGENT = "urgent"
# The source of a request booked for a caller who never spoke (the number was known).
SILENT = "silent"

# Where a "not digital" flag came from.
PROFILE_SOURCES = ("import", "agent", "caller", "keypad", "rule", "admin")


class Caller(Base):
    """Someone who called, known by E.164 number, with their digital-inclusion profile.

    Only the flag, its source and a short reason (the evidence phrase, never a whole
    transcript) are kept.
    """

    __tablename__ = "callers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    not_digital: Mapped[bool] = mapped_column(default=False)
    not_digital_source: Mapped[str | None] = mapped_column(String(16), default=None)
    not_digital_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    not_digital_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # A person decided (agent/admin/import): rules must not override their decision.
    decided_by_person: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    changes: Mapped[list[DigitalProfileChange]] = relationship(
        back_populates="caller", cascade="all, delete-orphan",
        order_by="DigitalProfileChange.id")


class DigitalProfileChange(Base):
    """Audit trail of the "not digital" flag: who or what changed it, when, and why."""

    __tablename__ = "digital_profile_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("callers.id", ondelete="CASCADE"),
                                           index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))  # "user:7", "caller", "rule:repeat_call"
    from_value: Mapped[bool] = mapped_column()
    to_value: Mapped[bool] = mapped_column()
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200), default="")

    caller: Mapped[Caller] = relationship(back_populates="changes")


class CallbackRequest(Base):
    """A caller's request to be called back, its place in the queue and its promise.

    Ordering: `rank_key` is a static number such that the effective priority at time t is
    `rank_key + (w_age + w_deadline) * minutes(t)`; the added term is the same for every
    row, so ORDER BY rank_key DESC is the priority order at any moment (see priority.py).
    """

    __tablename__ = "callback_requests"
    __table_args__ = (
        Index("ix_callback_requests_claim", "status", "rank_key"),
        # The claim's pick (read backwards), queued rows only: a claimed row leaves this
        # index, so the scan does not wade through entries of rows already taken.
        Index("ix_callback_requests_claimable", "rank_key",
              postgresql_where=text("status = 'queued'"), sqlite_where=text("status = 'queued'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    caller_id: Mapped[int | None] = mapped_column(
        ForeignKey("callers.id", ondelete="SET NULL"), index=True, default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    needs_number: Mapped[bool] = mapped_column(default=False)
    number_problem: Mapped[str | None] = mapped_column(String(40), default=None)
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    intent: Mapped[str | None] = mapped_column(String(64), default=None)
    words: Mapped[str] = mapped_column(Text, default="")
    transcript: Mapped[str | None] = mapped_column(Text, default=None)
    # The caller's recorded message (Twilio's RecordingUrl, without ".wav") and its
    # transcription by the "speech" job (see callbacks.recordings).
    recording_url: Mapped[str | None] = mapped_column(String(500), default=None)
    recording_duration: Mapped[int | None] = mapped_column(Integer, default=None)
    transcript_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    transcript_status: Mapped[str | None] = mapped_column(String(16), default=None)
    transcript_tries: Mapped[int] = mapped_column(Integer, default=0)
    transcript_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    transcript_error: Mapped[str | None] = mapped_column(String(300), default=None)
    language: Mapped[str] = mapped_column(String(8), default="it")
    source: Mapped[str] = mapped_column(String(16), default="speech")
    asked_for_human: Mapped[bool] = mapped_column(default=False)
    times_requested: Mapped[int] = mapped_column(Integer, default=1)

    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    promised_by: Mapped[datetime] = mapped_column(UTCDateTime)
    promise_kind: Mapped[str] = mapped_column(String(24), default="minutes")
    promise_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    promise_made_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    promise_kept: Mapped[bool | None] = mapped_column(default=None)

    not_digital: Mapped[bool] = mapped_column(default=False)
    manual_boost: Mapped[float] = mapped_column(Float, default=0.0)
    rank_key: Mapped[float] = mapped_column(Float, default=0.0)

    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    claimed_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    outcome_note: Mapped[str | None] = mapped_column(String(500), default=None)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # when the last callback call reached the caller (kept after the request is closed)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # when the agent closed it as completed (never set by a call alone)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    caller: Mapped[Caller | None] = relationship()
    attempts: Mapped[list[CallAttempt]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="CallAttempt.id")

    @property
    def is_open(self) -> bool:
        """Whether someone still has to call this caller back."""
        return self.status in OPEN_STATUSES

    @property
    def awaits_outcome(self) -> bool:
        """Whether the call connected and the agent has still to record how it went."""
        return self.status == CONNECTED


class CallAttempt(Base):
    """One outbound call placed for a request, updated by Twilio's status callbacks.

    `status` starts "pending" (job enqueued), becomes "requesting" just before the REST
    call (so a re-run never dials twice), then follows Twilio's CallStatus values.
    """

    __tablename__ = "call_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("callback_requests.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    mode: Mapped[str] = mapped_column(String(16), default="agent_first")
    number: Mapped[str] = mapped_column(String(32))  # the number dialled first
    status: Mapped[str] = mapped_column(String(16), default="pending")
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    # Twilio's AMD verdict on the caller's leg (async AMD of a caller-first call, or the
    # <Number machineDetection> of the caller dialled in an agent-first call)
    answered_by: Mapped[str | None] = mapped_column(String(32), default=None)
    # the agent pressed 1 at the screening whisper: a person is on the agent's side
    agent_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    callee_status: Mapped[str | None] = mapped_column(String(16), default=None)
    duration: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(String(300), default=None)
    last_sequence: Mapped[int] = mapped_column(Integer, default=-1)
    ring_timeout: Mapped[int] = mapped_column(Integer, default=25)
    dispatch_tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    request: Mapped[CallbackRequest] = relationship(back_populates="attempts")


class CallbackSetting(Base):
    """Tunable queue settings an admin can see and change (weights, rules), as JSON."""

    __tablename__ = "callback_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Shift(Base):
    """An agent's planned time on the phones, used to promise honest waiting times."""

    __tablename__ = "agent_shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


# An agent's availability (`AgentStatus.availability`).
AVAILABLE = "available"  # ready for the next request
BUSY = "busy"  # working, on a request or wrapping up; still counted in the promise
AWAY = "away"  # on a break or gone: takes nothing, not counted in the promise
AVAILABILITIES = (AVAILABLE, BUSY, AWAY)


class AgentStatus(Base):
    """Where an agent stands now: availability, and the after-call work under way."""

    __tablename__ = "agent_status"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    availability: Mapped[str] = mapped_column(String(16), default=AVAILABLE)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # after-call work: no new request is taken before this (None: not wrapping up)
    wrap_up_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
