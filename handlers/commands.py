"""Slash commands: /kudos, /commit, /ally."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.help import ally_help_text
from bot.i18n import _
from bot.ids import Command
from bot.inbox import Inbox, Work
from bot.services import kudos, preferences
from bot.services.kudos import KudosRejected
from bot.text import snippet
from handlers.admin import open_admin
from handlers.allies import ALLY_FEATURES, run_ally_feature
from handlers.common import engaging
from handlers.insights import INSIGHTS_FEATURES
from handlers.intros import run_intros_command
from handlers.keys import command_key
from handlers.kudos import give_and_announce, tell_privately
from handlers.mutes import MUTE_FEATURES
from handlers.preferences import open_settings
from handlers.privacy import PRIVACY_FEATURES, engaging_unless_private


async def handle_kudos_command(work: Work) -> None:
    """`/kudos [private] @ann [@bob …] <why> [#tag …]`."""
    body = work.body
    text = str(body.get("text") or "")
    workspace = work.workspace
    if workspace is None:
        async with work.db.session() as session:
            workspace = await work.workspace_in(session)
    known_tags = kudos.tags_for(workspace)
    if text.strip().lower() in ("help", "?"):
        await tell_privately(work, kudos.usage(known_tags))
        return
    private, text = kudos.split_private(text)
    try:
        parsed = kudos.parse_kudos_text(text, known_tags=known_tags)
        await give_and_announce(
            work,
            giver_id=str(body["user_id"]),
            parsed=parsed,
            channel_id=body.get("channel_id"),
            source="command",
            source_key=command_key(body),
            private=private,
        )
    except KudosRejected as exc:
        await tell_privately(work, str(exc))


async def handle_ally_command(work: Work) -> None:
    """`/ally <subcommand> …`: preferences and help, answered privately."""
    words = str(work.body.get("text") or "").split(maxsplit=1)
    sub = words[0].lower() if words else "help"
    rest = words[1] if len(words) > 1 else ""
    if sub in ALLY_FEATURES:
        await run_ally_feature(work, sub, rest)
        return
    if sub == "settings":
        await open_settings(work)
        return
    if sub == "intros":
        await run_intros_command(work, rest)
        return
    if sub == "admin":
        await open_admin(work)
        return
    if sub in MUTE_FEATURES:
        await MUTE_FEATURES[sub](work, rest)
        return
    if sub in PRIVACY_FEATURES:
        await PRIVACY_FEATURES[sub](work, rest)
        return
    if sub in INSIGHTS_FEATURES:
        await INSIGHTS_FEATURES[sub](work, rest)
        return
    if sub not in preferences.COMMANDS:
        if sub in ("help", "?"):
            await tell_privately(work, ally_help_text())
        else:
            unknown = _("I don't know `/ally {word}`.", word=snippet(sub))
            await tell_privately(work, f"{unknown}\n\n{ally_help_text()}")

        return
    try:
        async with work.db.session() as session:
            change = await preferences.apply_command(
                session,
                team_id=work.team_id,
                user_id=work.user_id,
                command=sub,
                rest=rest,
                now=work.now(),
            )
    except preferences.PreferenceError as exc:
        await tell_privately(work, str(exc))
        return
    await tell_privately(work, change.summary)


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.command(Command.KUDOS)(
        inbox.listener("kudos_command", command_key, engaging(handle_kudos_command))
    )
    app.command(Command.ALLY)(
        inbox.listener("ally_command", command_key, engaging_unless_private(handle_ally_command))
    )
