"""A message someone writes to allybot in its Messages tab: "kudos @ann for …" does what
`/kudos` does; anything else is answered with the commands that fit what was asked."""

from __future__ import annotations

import re
from typing import Any

from bot.blocks.direct import dm_answer_text
from bot.blocks.kudos import build_notice_blocks
from bot.i18n import _
from bot.inbox import Work
from bot.services import kudos, people
from bot.services.kudos import KudosRejected
from handlers.dm import send_dm
from handlers.kudos import give_and_announce

# "kudos @ann …", "/kudos @ann …" (a slash command typed where Slack doesn't run it).
KUDOS_FIRST = re.compile(r"^\s*/?kudos\b[\s:,-]*", re.IGNORECASE)


def is_direct_message(event: dict[str, Any]) -> bool:
    """What a person typed in their DM with allybot: not allybot's own posts, not edits,
    deletions or other subtypes."""
    return (
        event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and bool(event.get("user"))
    )


async def _reply(work: Work, user_id: str, text: str) -> None:
    await send_dm(work.client, user_id=user_id, text=text, blocks=build_notice_blocks(text))


async def handle_direct_message(work: Work) -> None:
    event = work.body["event"]
    user, channel, ts = event["user"], event["channel"], event["ts"]
    text = str(event.get("text") or "")
    found = KUDOS_FIRST.match(text)
    if found is None or not text[found.end() :].strip():
        await _reply(work, user, dm_answer_text(text))
        return
    async with work.db.session() as session:
        workspace = await people.ensure_workspace(session, team_id=work.team_id)
    private, rest = kudos.split_private(text[found.end() :])
    kudos_channel = workspace.kudos_channel_id
    try:
        parsed = kudos.parse_kudos_text(rest, known_tags=kudos.tags_for(workspace))
        result = await give_and_announce(
            work,
            giver_id=user,
            parsed=parsed,
            channel_id=channel,  # a DM: the post goes to the workspace's kudos channel
            source="dm",
            source_key=kudos.message_source_key(channel, ts, user),
            public=private or kudos_channel is not None,
            private=private,
        )
    except KudosRejected as exc:
        await _reply(work, user, str(exc))
        return
    posted = [f"<@{k.receiver_id}>" for k in result.kudos if k.private_by is None]
    if not posted:
        return  # all private: give_and_announce told the giver so
    if kudos_channel is None:
        note = _(
            "Kudos to {receivers} logged: they were told by DM. It wasn't posted: the workspace "
            "has no kudos channel (an admin can set one with `/ally admin`).",
            receivers=", ".join(posted),
        )
    else:
        note = _(
            "Kudos to {receivers} logged: posted in <#{channel}>; they were told by DM.",
            receivers=", ".join(posted),
            channel=kudos_channel,
        )
    await _reply(work, user, note)
