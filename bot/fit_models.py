"""What intros read about a person to keep people apart or together: the values of the
profile fields the workspace's admins named (team or manager, location), as Slack last
gave them (see bot/intro_signals.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base


class IntroProfile(Base):
    """A person's team (or manager) and location from their Slack profile, for intros;
    refreshed a few at a time each round, erased with the rest of their data."""

    __tablename__ = "intro_profiles"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_value: Mapped[str | None] = mapped_column(String(200))
    location_value: Mapped[str | None] = mapped_column(String(200))
    read_at: Mapped[datetime]
