"""The tables of "me too" edits to kudos posts, newcomers' welcomes and intros skips."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base


class KudosPostUpdate(Base):
    """A kudos post's "joined in" count to edit in place (see bot/services/me_too.py)."""

    __tablename__ = "kudos_post_updates"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "ts", name="uq_kudos_post_updates_post"),
        Index("ix_kudos_post_updates_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime]
    claim_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None]
    shown: Mapped[int] = mapped_column(Integer, default=0)


class Newcomer(Base):
    """Someone who joined the workspace: welcomed on their first working morning, once, with
    a first intro to volunteer welcomers (`match_id`); see bot/services/newcomers.py."""

    __tablename__ = "newcomers"
    __table_args__ = (Index("ix_newcomers_welcome", "status", "welcome_at"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    joined_at: Mapped[datetime]
    welcome_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    match_id: Mapped[int | None] = mapped_column(Integer)
    intro_rounds: Mapped[int] = mapped_column(Integer, default=0)


class IntroSkip(Base):
    """A person's answer to a round's heads-up (Skip this round / I'm in), per round day:
    whoever skips is left out of that round only (see bot/services/intros/skips.py)."""

    __tablename__ = "intro_skips"
    __table_args__ = (Index("ix_intro_skips_round", "team_id", "round_day"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_day: Mapped[date] = mapped_column(Date, primary_key=True)
    choice: Mapped[str] = mapped_column(String(8))
    chosen_at: Mapped[datetime]
