"""Who is due a give-back or breadth suggestion, found once per workspace, zone and local
day (scheduler/kinds/looks.py): both kinds aggregate weeks of kudos, too much for every pass."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base


class SuggestionLook(Base):
    """One look for candidates of every suggestion kind among a workspace's people in one
    zone, on that zone's local day; the key makes it once, on any number of replicas."""

    __tablename__ = "suggestion_looks"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    local_day: Mapped[date] = mapped_column(Date, primary_key=True)
    looked_at: Mapped[datetime]


class SuggestionCandidate(Base):
    """Someone a look found due a suggestion (about `subject`: a giver for give-back) on
    their local day; each pass of that day plans those who may be messaged then."""

    __tablename__ = "suggestion_candidates"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    local_day: Mapped[date] = mapped_column(Date, primary_key=True)
    # In the key, so that no two looks (each a workspace, zone and day) can store the same
    # row: someone who moved zone that day may be found by both, and is planned from the
    # one of the zone they are in.
    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
