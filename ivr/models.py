"""The caller's side in the database: flows and their versions, calls and call events.

A flow's published versions are immutable: editing makes a new draft, publishing it
archives the previous one, and every call keeps the version it started on. Call state lives
here (not in a web process) so that any process can serve a call's next webhook; each
webhook handled is one CallEvent, unique per (call, step, attempt), which is what makes a
retried webhook return the same TwiML instead of advancing the call twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow

FLOW_STATUSES = ("draft", "published", "archived")


class Flow(Base):
    """A voice flow, known by its key (e.g. "main"); its content lives in versions."""

    __tablename__ = "ivr_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[FlowVersion]] = relationship(
        back_populates="flow", order_by="FlowVersion.number", cascade="all, delete-orphan")


class FlowVersion(Base):
    """One numbered version of a flow document (JSON), draft, published or archived."""

    __tablename__ = "ivr_flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("ivr_flows.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    checksum: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    published_by: Mapped[str | None] = mapped_column(String(80), default=None)

    flow: Mapped[Flow] = relationship(back_populates="versions")


class Call(Base):
    """One phone call through a flow version: who, where it is, and how it ended."""

    __tablename__ = "ivr_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str | None] = mapped_column(String(32), default=None)  # E.164
    to_number: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str] = mapped_column(String(8))
    flow_version_id: Mapped[int] = mapped_column(ForeignKey("ivr_flow_versions.id"))
    current_step: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[list[str]] = mapped_column(JSON, default=list)  # steps entered, in order
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | ended
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    twilio_status: Mapped[str | None] = mapped_column(String(32), default=None)
    intent: Mapped[str | None] = mapped_column(String(64), default=None)
    intent_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    words: Mapped[str | None] = mapped_column(Text, default=None)  # the need, exact words
    need_source: Mapped[str | None] = mapped_column(String(16), default=None)  # speech|keypad
    callback_number: Mapped[str | None] = mapped_column(String(32), default=None)
    callback_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    callback_window_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    not_digital: Mapped[bool] = mapped_column(default=False)
    not_digital_cue: Mapped[str | None] = mapped_column(String(255), default=None)
    callback_request_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # seconds from answering to a person (bridged) or a booked callback: AGCOM 255/24/CONS
    # asks for an average under 150 s to a human operator
    seconds_to_human: Mapped[float | None] = mapped_column(Float, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    flow_version: Mapped[FlowVersion] = relationship()
    # No foreign key (the queue may purge requests; the call's record stays), but linked so
    # a booking is written in the webhook's one flush: request first, then this call.
    callback_request: Mapped[Any] = relationship(
        "CallbackRequest", primaryjoin="foreign(Call.callback_request_id) == CallbackRequest.id")
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.id", cascade="all, delete-orphan")


class CallEvent(Base):
    """One webhook handled for a call step: what the caller said or keyed, and what we did.

    `words` are the caller's exact words (an agent reads them later); `response` is the
    TwiML we answered with, returned again if Twilio retries the same webhook.
    """

    __tablename__ = "ivr_call_events"
    __table_args__ = (UniqueConstraint("call_id", "step", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("ivr_calls.id", ondelete="CASCADE"),
                                         index=True)
    step: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    words: Mapped[str | None] = mapped_column(Text, default=None)
    digits: Mapped[str | None] = mapped_column(String(64), default=None)
    asr_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    source: Mapped[str | None] = mapped_column(String(16), default=None)  # vosk|twilio|dtmf
    intent: Mapped[str | None] = mapped_column(String(64), default=None)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    decision: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    response: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    call: Mapped[Call] = relationship(back_populates="events")
