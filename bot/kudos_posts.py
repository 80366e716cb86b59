"""Editing allybot's kudos post in place when people join in ("me too"), once per burst."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.kudos import build_kudos_post_blocks, kudos_post_text
from bot.db import Database
from bot.models import KudosPostUpdate
from bot.services import me_too, people
from bot.slack import SlackClients, slack_error

logger = logging.getLogger(__name__)

# The post or its channel is gone: no edit will ever land.
GONE = {"message_not_found", "channel_not_found", "is_archived", "cant_update_message"}


async def edit_when_settled(
    db: Database, client: AsyncWebClient, *, team_id: str, channel_id: str, ts: str
) -> None:
    """Wait out the debounce, then edit the post if no later change has pushed it back: a
    burst of reactions ends in one chat.update, by whichever handler waited last."""
    await asyncio.sleep(me_too.DEBOUNCE.total_seconds())
    async with db.session() as session:
        claimed = await me_too.claim(
            session, now=datetime.now(UTC), team_id=team_id, channel_id=channel_id, ts=ts
        )
    for row in claimed:
        await _edit(db, client, row)


async def edit_stale(db: Database, clients: SlackClients, *, now: datetime) -> int:
    """A scheduler pass's part: edits whose handler died before making them."""
    async with db.session() as session:
        claimed = await me_too.claim(session, now=now, grace=me_too.STALE)
    for row in claimed:
        await _edit(db, await clients.for_team(row.team_id), row)
    return len(claimed)


async def _edit(db: Database, client: AsyncWebClient, row: KudosPostUpdate) -> None:
    async with db.session() as session:
        post = await me_too.find_post(
            session, team_id=row.team_id, channel_id=row.channel_id, ts=row.ts
        )
        joined = await me_too.joined(
            session, team_id=row.team_id, channel_id=row.channel_id, ts=row.ts
        )
        workspace = await people.ensure_workspace(session, team_id=row.team_id)
    if post is None:  # the kudos behind it was erased
        async with db.session() as session:
            await me_too.give_up(session, update_id=row.id)
        return
    text = kudos_post_text(giver_id=post.giver_id, receiver_ids=post.receivers, reason=post.reason)
    try:
        await client.chat_update(
            channel=row.channel_id,
            ts=row.ts,
            text=text + (f" (+{joined})" if joined else ""),
            blocks=build_kudos_post_blocks(
                giver_id=post.giver_id,
                receiver_ids=post.receivers,
                reason=post.reason,
                tags=post.tags,
                emoji=workspace.kudos_emoji,
                joined=joined,
            ),
        )
    except SlackApiError as exc:
        if slack_error(exc) not in GONE:
            raise  # the lease runs out and a scheduler pass tries again
        logger.info("kudos post gone, count not shown", extra={"outcome": slack_error(exc)})
        async with db.session() as session:
            await me_too.give_up(session, update_id=row.id)
        return
    async with db.session() as session:
        await me_too.finish(
            session,
            update_id=row.id,
            token=row.claim_token or "",
            shown=joined,
            now=datetime.now(UTC),
        )
