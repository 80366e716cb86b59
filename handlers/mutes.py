"""`/ally mute @bob` · `/ally unmute @bob` · `/ally mute` and Home's mute picker: whose
promises and kudos DMs reach you. Private: the muted person is never told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp

from bot import directory
from bot.i18n import _
from bot.ids import Action
from bot.inbox import Inbox, Work
from bot.services import dm_budget
from bot.services.dm_budget import MuteError
from bot.services.kudos import USER_MENTION
from handlers.common import engaging
from handlers.keys import action_key
from handlers.kudos import tell_privately

USAGE = "`/ally mute @bob` · `/ally unmute @bob` · `/ally mute`"


def _usage() -> str:
    # Translators: the mute commands stay in English; only "(your list)" is translated
    return _("{commands} (your list)", commands=USAGE)


def _mentioned(rest: str, verb: str) -> str:
    found = USER_MENTION.findall(rest)
    if len(found) != 1:
        raise MuteError(_("Mention one person: `/ally {verb} @bob`.", verb=verb))
    return str(found[0])


async def mute_command(work: Work, rest: str) -> None:
    """Mute one person, or show whom you muted."""
    try:
        if not rest.strip():
            await tell_privately(work, await _list_text(work))
            return
        who = _mentioned(rest, "mute")
        found = await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=[who])
        if who not in found:
            raise MuteError(_("I couldn't find <@{user}> in this workspace.", user=who))
        async with work.db.session() as session:
            added = await dm_budget.mute(
                session, team_id=work.team_id, user_id=work.user_id, muted_id=who, now=work.now()
            )
    except MuteError as exc:
        await tell_privately(work, f"{exc} {_usage()}")
        return
    if added:
        note = _(
            "Muted <@{user}>: their promises and kudos no longer reach you in a DM from "
            "allybot. They are not told. Undo it with `/ally unmute` or on your Home tab.",
            user=who,
        )
    else:
        note = _(
            "Muted <@{user}> (already muted): their promises and kudos no longer reach you in a "
            "DM from allybot. They are not told. Undo it with `/ally unmute` or on your Home tab.",
            user=who,
        )
    await tell_privately(work, note)


async def unmute_command(work: Work, rest: str) -> None:
    try:
        who = _mentioned(rest, "unmute")
    except MuteError as exc:
        await tell_privately(work, f"{exc} {_usage()}")
        return
    async with work.db.session() as session:
        removed = await dm_budget.unmute(
            session, team_id=work.team_id, user_id=work.user_id, muted_id=who
        )
    await tell_privately(
        work,
        _("Unmuted <@{user}>: their promises and kudos reach you again.", user=who)
        if removed
        else _("<@{user}> wasn't muted.", user=who),
    )


async def _list_text(work: Work) -> str:
    async with work.db.session() as session:
        muted = await dm_budget.muted_by(session, team_id=work.team_id, user_id=work.user_id)
    if not muted:
        return _("You haven't muted anyone. {usage}", usage=_usage())
    return _(
        "You muted {people}. {usage}",
        people=", ".join(f"<@{m}>" for m in muted),
        usage=_usage(),
    )


async def handle_home_mutes(work: Work) -> None:
    """Home's picker: the people chosen are exactly the people muted."""
    action = work.body["actions"][0]
    async with work.db.session() as session:
        await dm_budget.set_muted(
            session,
            team_id=work.team_id,
            user_id=work.user_id,
            muted=list(action.get("selected_users") or []),
            now=work.now(),
        )


MUTE_FEATURES: dict[str, Callable[[Work, str], Awaitable[None]]] = {
    "mute": mute_command,
    "unmute": unmute_command,
}


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.action(Action.HOME_MUTES)(
        inbox.listener("home_mutes", action_key, engaging(handle_home_mutes))
    )
