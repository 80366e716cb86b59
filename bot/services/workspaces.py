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


async def mark_installed(
    session: AsyncSession,
    *,
    team_id: str,
    enterprise_id: str | None,
    name: str | None,
    now: datetime,
) -> None:
    """An install (or a reinstall after removal) through the OAuth flow: serve it again."""
    await ensure_workspace(session, team_id=team_id, enterprise_id=enterprise_id)
    await session.execute(
        update(Workspace)
        .where(Workspace.team_id == team_id)
        .values(enterprise_id=enterprise_id, name=name, installed_at=now, uninstalled_at=None)
    )
