"""Each workspace's weekly kudos digest in its kudos channel, on its digest day: planned as
one outbox row per (workspace, ISO week) on the digest morning, posted by the sender."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.blocks.kudos import build_digest_blocks
from bot.i18n import _
from bot.models import OutboxMessage, Workspace
from bot.runtime import AllyBot
from bot.services import digest
from scheduler import messages
from scheduler.messages import MessageKind, Outgoing, Skip
from scheduler.sender import send_due

MORNING = (9, 17)


async def plan_digests(session: AsyncSession, *, now: datetime, team_id: str | None = None) -> int:
    """This week's digest for every workspace whose digest morning it is, once."""
    stmt = select(Workspace).where(
        Workspace.kudos_channel_id.is_not(None), Workspace.uninstalled_at.is_(None)
    )
    if team_id:
        stmt = stmt.where(Workspace.team_id == team_id)
    planned = 0
    for ws in list((await session.execute(stmt)).scalars()):
        local = now.astimezone(ZoneInfo(ws.timezone))
        if local.weekday() != ws.digest_day or not MORNING[0] <= local.hour < MORNING[1]:
            continue
        iso = local.isocalendar()
        week = f"{iso.year}-W{iso.week:02d}"
        planned += await digest.plan_week(session, team_id=ws.team_id, week=week, now=now)
    return planned


async def render(
    bot: AllyBot, client: AsyncWebClient, row: OutboxMessage, now: datetime
) -> Outgoing | Skip:
    """The week's figures, counted as it is posted, in the workspace's default language (a
    channel post); a week without kudos posts nothing."""
    async with bot.db.session() as session:
        ws = await session.get(Workspace, row.team_id)
        if ws is None or ws.kudos_channel_id is None or ws.uninstalled_at is not None:
            return Skip("no kudos channel")
        week = await digest.week_in_kudos(session, team_id=row.team_id, now=now)
    if week.kudos == 0:
        return Skip(digest.EMPTY)
    with i18n.speaking(ws.language):
        text = _("Kudos this week: {count}", count=i18n.format_number(week.kudos))
        blocks = build_digest_blocks(week)
    return Outgoing(text=text, blocks=blocks, channel_id=ws.kudos_channel_id)


messages.register(MessageKind(name=digest.KIND, render=render))


async def post_digests(bot: AllyBot, *, now: datetime, team_id: str | None = None) -> int:
    """Plan the digests due at `now` and send them; returns how many were posted."""
    async with bot.db.session() as session:
        await plan_digests(session, now=now, team_id=team_id)
    result = await send_due(bot, clocks=None, now=now, team_id=team_id, kinds=[digest.KIND])
    return result.sent
