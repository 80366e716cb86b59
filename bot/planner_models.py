"""The tables of the planners that look once per zone and local day (give-back, breadth)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base


class DailyScan(Base):
    """A once-a-day planner looked at a zone's people on a local day (scope: the workspace a
    narrowed pass looked at, or "" for all)."""

    __tablename__ = "daily_scans"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    local_day: Mapped[date] = mapped_column(Date, primary_key=True)


class DailyCandidate(Base):
    """Someone a once-a-day planner found due on their local day: planned as a nudge on a
    pass of that day when they may be messaged."""

    __tablename__ = "daily_candidates"
    __table_args__ = (
        UniqueConstraint(
            "kind", "local_day", "team_id", "user_id", "subject", name="uq_daily_candidates"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    local_day: Mapped[date] = mapped_column(Date)
