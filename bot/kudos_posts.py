"""Editing allybot's kudos post in place when people join in ("me too"), once per burst.

What the edited post says, and what happens after Slack answers, live here; the
chat.update itself is made by the handler that waited out the burst
(`handlers/kudos_posts.py`) or, when that handler died, by the scheduler's sender.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.models.blocks import Block

from bot import i18n
from bot.blocks.kudos import build_kudos_post_blocks, kudos_post_text
from bot.db import Database
from bot.models import KudosPostUpdate
from bot.services import me_too, people

logger = logging.getLogger(__name__)

# The post or its channel is gone: no edit will ever land.
GONE = {"message_not_found", "channel_not_found", "is_archived", "cant_update_message"}


@dataclass(frozen=True)
class PostEdit:
    """One claimed edit, rendered: where the post is and what it now says."""

    row: KudosPostUpdate
    text: str
    blocks: list[Block]
    joined: int


async def prepare(db: Database, row: KudosPostUpdate) -> PostEdit | None:
    """The post as it should read now; None (and the edit given up) if its kudos was erased."""
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
        return None
    with i18n.speaking(workspace.language):  # a channel post: the workspace's language
        text = kudos_post_text(
            giver_id=post.giver_id, receiver_ids=post.receivers, reason=post.reason
        )
        blocks = build_kudos_post_blocks(
            giver_id=post.giver_id,
            receiver_ids=post.receivers,
            reason=post.reason,
            tags=post.tags,
            emoji=workspace.kudos_emoji,
            joined=joined,
        )
    return PostEdit(
        row=row, text=text + (f" (+{joined})" if joined else ""), blocks=blocks, joined=joined
    )


async def landed(db: Database, edit: PostEdit) -> None:
    async with db.session() as session:
        await me_too.finish(
            session,
            update_id=edit.row.id,
            token=edit.row.claim_token or "",
            shown=edit.joined,
            now=datetime.now(UTC),
        )


async def gone(db: Database, edit: PostEdit, error: str) -> None:
    """The post or its channel is gone: the count is not shown, and never will be."""
    logger.info("kudos post gone, count not shown", extra={"outcome": error})
    async with db.session() as session:
        await me_too.give_up(session, update_id=edit.row.id)
