"""The "me too" edit of a kudos post, made by the handler of the reaction that ended a burst."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import kudos_posts
from bot.db import Database
from bot.models import KudosPostUpdate
from bot.services import me_too
from bot.slack import slack_error


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


async def _edit(db: Database, client: AsyncWebClient, row: KudosPostUpdate) -> None:
    edit = await kudos_posts.prepare(db, row)
    if edit is None:
        return
    try:
        await client.chat_update(
            channel=row.channel_id, ts=row.ts, text=edit.text, blocks=edit.blocks
        )
    except SlackApiError as exc:
        if slack_error(exc) not in kudos_posts.GONE:
            raise  # the lease runs out and a scheduler pass tries again
        await kudos_posts.gone(db, edit, slack_error(exc))
        return
    await kudos_posts.landed(db, edit)
