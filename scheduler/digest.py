"""Posts each workspace's weekly kudos digest in its kudos channel, on its digest day."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.blocks.kudos import build_digest_blocks
from bot.models import Workspace
from bot.runtime import AllyBot
from bot.services import digest
from bot.slack import slack_error

logger = logging.getLogger(__name__)
MORNING = (9, 17)


async def post_digests(bot: AllyBot, *, now: datetime, team_id: str | None = None) -> int:
    """Every workspace whose digest morning it is gets this week's digest, once."""
    stmt = select(Workspace).where(
        Workspace.kudos_channel_id.is_not(None), Workspace.uninstalled_at.is_(None)
    )
    if team_id:
        stmt = stmt.where(Workspace.team_id == team_id)
    async with bot.db.session() as session:
        workspaces = list((await session.execute(stmt)).scalars())
    posted = 0
    for ws in workspaces:
        local = now.astimezone(ZoneInfo(ws.timezone))
        if local.weekday() != ws.digest_day or not MORNING[0] <= local.hour < MORNING[1]:
            continue
        iso = local.isocalendar()
        assert ws.kudos_channel_id is not None
        async with bot.db.session() as session:
            week = await digest.week_in_kudos(session, team_id=ws.team_id, now=now)
            claimed = await digest.claim_week(
                session,
                team_id=ws.team_id,
                week=f"{iso.year}-W{iso.week:02d}",
                channel_id=ws.kudos_channel_id,
                now=now,
            )
        if claimed is None:
            continue
        if week.kudos == 0:
            async with bot.db.session() as session:
                await digest.mark_posted(session, digest_id=claimed, ts=None, status="empty")
            continue
        client = await bot.clients.for_team(ws.team_id)
        try:
            resp = await client.chat_postMessage(
                channel=ws.kudos_channel_id,
                text=f"Kudos this week: {week.kudos}",
                blocks=build_digest_blocks(week),
            )
        except SlackApiError as exc:
            logger.warning("weekly digest not posted: %s", slack_error(exc))
            async with bot.db.session() as session:
                await digest.release(session, digest_id=claimed)
            continue
        async with bot.db.session() as session:
            await digest.mark_posted(session, digest_id=claimed, ts=resp["ts"], status="posted")
        posted += 1
    return posted
