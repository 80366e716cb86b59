"""Slash commands: /kudos, /commit, /ally."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks.help import ally_help_text
from bot.ids import Command
from bot.inbox import Inbox, Work
from bot.services import kudos, people
from bot.services.kudos import KudosRejected
from handlers.kudos import give_and_announce, tell_privately


def command_key(body: dict[str, Any]) -> str:
    """Slack gives every invocation its own trigger_id; a retry carries the same one."""
    return f"command:{body['command']}:{body['trigger_id']}"


async def handle_kudos_command(work: Work) -> None:
    """`/kudos @ann [@bob …] <why> [#tag …]`."""
    body = work.body
    text = str(body.get("text") or "")
    async with work.db.session() as session:
        workspace = await people.ensure_workspace(session, team_id=work.team_id)
    known_tags = kudos.tags_for(workspace)
    if text.strip().lower() in ("help", "?"):
        await tell_privately(work, kudos.usage(known_tags))
        return
    try:
        parsed = kudos.parse_kudos_text(text, known_tags=known_tags)
        await give_and_announce(
            work,
            giver_id=str(body["user_id"]),
            parsed=parsed,
            channel_id=body.get("channel_id"),
            source="command",
            source_key=command_key(body),
        )
    except KudosRejected as exc:
        await tell_privately(work, str(exc))


async def handle_ally_command(work: Work) -> None:
    """`/ally …`: what is available, privately."""
    await tell_privately(work, ally_help_text())


async def handle_commit_command(work: Work) -> None:
    """`/commit …`: commitments are not available in this version; say so privately."""
    await tell_privately(
        work,
        "Commitments aren't switched on in this version of allybot yet. "
        "Meanwhile, `/kudos @ann <why>` recognises a colleague. " + "`/ally help` lists the rest.",
    )


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.command(Command.KUDOS)(inbox.listener("kudos_command", command_key, handle_kudos_command))
    app.command(Command.ALLY)(inbox.listener("ally_command", command_key, handle_ally_command))
    app.command(Command.COMMIT)(
        inbox.listener("commit_command", command_key, handle_commit_command)
    )
