"""Workspace lifecycle: installed, uninstalled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Workspace
from bot.services.people import ensure_workspace


async def mark_uninstalled(session: AsyncSession, *, team_id: str, now: datetime) -> None:
    """Nothing is sent to a workspace that removed allybot."""
    await ensure_workspace(session, team_id=team_id)
    await session.execute(
        update(Workspace).where(Workspace.team_id == team_id).values(uninstalled_at=now)
    )
