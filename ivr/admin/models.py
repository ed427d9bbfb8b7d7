"""The admin console's own tables: each flow's labelled test cases (text or audio), and
what admins decided about callers' words in the tuning loop.

A flow keeps its test cases across versions; publishing a draft runs them against the
draft and the published version (see `ivr.admin` and `speech.evaluate.evaluate_cases`).
Audio is kept in the database as the uploaded bytes, so any process can replay a case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class FlowTestCase(Base):
    """One labelled utterance for a flow: what a caller says and the intent it should get.

    `expected` is an intent name or "none" (the hotline should not pick any intent).
    A case has `text`, or `audio` bytes (WAV or raw mu-law, see `audio_type`) that go
    through the real recogniser when the cases run.
    """

    __tablename__ = "ivr_flow_test_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("ivr_flows.id", ondelete="CASCADE"),
                                         index=True)
    lang: Mapped[str] = mapped_column(String(8))
    expected: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text, default=None)
    audio: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    audio_type: Mapped[str | None] = mapped_column(String(64), default=None)
    audio_name: Mapped[str | None] = mapped_column(String(120), default=None)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_audio(self) -> bool:
        """Whether the case is a recording (transcribed when the cases run)."""
        return self.audio is not None


class TuningDecision(Base):
    """What an admin did with a caller's words from the tuning list: added them as an
    example of an intent, or ignored them. A decided utterance leaves the list."""

    __tablename__ = "ivr_tuning_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("ivr_call_events.id", ondelete="CASCADE"),
                                          unique=True)
    action: Mapped[str] = mapped_column(String(16))  # "added" | "ignored"
    intent: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_by: Mapped[str] = mapped_column(String(80), default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
