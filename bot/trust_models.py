"""The tables of the daily DM budget between two people and of private mutes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base, utcnow


class PersonDM(Base):
    """A DM one person caused allybot to send another, once per key, in the recipient's local
    day: sent, muted (counted, not sent) or held (over budget; see bot/services/dm_budget.py)."""

    __tablename__ = "person_dms"
    __table_args__ = (
        UniqueConstraint("team_id", "recipient_id", "key", name="uq_person_dms_key"),
        Index("ix_person_dms_pair_day", "team_id", "sender_id", "recipient_id", "local_day"),
        Index("ix_person_dms_sender", "team_id", "sender_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(32))
    recipient_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    local_day: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mute(Base):
    """Someone whose promises and kudos DMs a person chose not to get; the muted never know."""

    __tablename__ = "mutes"
    __table_args__ = (Index("ix_mutes_muted", "team_id", "muted_id"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    muted_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
