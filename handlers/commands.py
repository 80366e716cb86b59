"""Slash commands: /kudos, /commit, /ally."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.help import ally_help_text
from bot.ids import Command
from bot.inbox import Inbox, Work
from bot.services import kudos, people, preferences
from bot.services.kudos import KudosRejected
from bot.text import snippet
from handlers.admin import open_admin
from handlers.allies import ALLY_FEATURES, run_ally_feature
from handlers.common import engaging
from handlers.home import open_settings
from handlers.insights import INSIGHTS_FEATURES
from handlers.intros import run_intros_command
from handlers.keys import command_key
from handlers.kudos import give_and_announce, tell_privately
from handlers.privacy import PRIVACY_FEATURES, engaging_unless_private


async def handle_kudos_command(work: Work) -> None:
    """`/kudos [private] @ann [@bob …] <why> [#tag …]`."""
    body = work.body
    text = str(body.get("text") or "")
    async with work.db.session() as session:
        workspace = await people.ensure_workspace(session, team_id=work.team_id)
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
    if sub in PRIVACY_FEATURES:
        await PRIVACY_FEATURES[sub](work, rest)
        return
    if sub in INSIGHTS_FEATURES:
        await INSIGHTS_FEATURES[sub](work, rest)
        return
    handler = ALLY_SUBCOMMANDS.get(sub)
    if handler is None:
        prefix = "" if sub in ("help", "?") else f"I don't know `/ally {snippet(sub)}`.\n\n"
        await tell_privately(work, prefix + ally_help_text())
        return
    try:
        async with work.db.session() as session:
            change = await handler(session, work, rest)
    except preferences.PreferenceError as exc:
        await tell_privately(work, str(exc))
        return
    await tell_privately(work, change.summary)


async def _tips(session: AsyncSession, work: Work, rest: str) -> preferences.Change:
    return await preferences.set_tip_cadence(
        session, team_id=work.team_id, user_id=work.user_id, cadence=rest, now=work.now()
    )


async def _pause(session: AsyncSession, work: Work, rest: str) -> preferences.Change:
    length = preferences.parse_duration(rest or "7d")
    return await preferences.pause(
        session, team_id=work.team_id, user_id=work.user_id, length=length, now=work.now()
    )


async def _resume(session: AsyncSession, work: Work, _rest: str) -> preferences.Change:
    return await preferences.resume(
        session, team_id=work.team_id, user_id=work.user_id, now=work.now()
    )


async def _kudos_privacy(session: AsyncSession, work: Work, rest: str) -> preferences.Change:
    return await preferences.set_kudos_privacy(
        session, team_id=work.team_id, user_id=work.user_id, choice=rest, now=work.now()
    )


async def _quiet(session: AsyncSession, work: Work, rest: str) -> preferences.Change:
    if not rest:
        raise preferences.PreferenceError(
            "Say when: `/ally quiet 18:00-09:00`, or `/ally quiet off`."
        )
    return await preferences.set_quiet_hours(
        session, team_id=work.team_id, user_id=work.user_id, text=rest, now=work.now()
    )


ALLY_SUBCOMMANDS: dict[str, Callable[[AsyncSession, Work, str], Awaitable[preferences.Change]]] = {
    "tips": _tips,
    "pause": _pause,
    "resume": _resume,
    "quiet": _quiet,
    "kudos": _kudos_privacy,
}


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.command(Command.KUDOS)(
        inbox.listener("kudos_command", command_key, engaging(handle_kudos_command))
    )
    app.command(Command.ALLY)(
        inbox.listener("ally_command", command_key, engaging_unless_private(handle_ally_command))
    )
