"""`/ally add|remove|list|met|resolve` and the buttons on check-in and follow-up nudges."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp

from bot import directory, i18n
from bot import text as texts
from bot.blocks.allies import resolve_guide, third_party_help
from bot.i18n import _, ngettext
from bot.ids import Action
from bot.inbox import Inbox, Work
from bot.models import Person
from bot.services import allies
from bot.services.allies import AllyRejected
from bot.services.kudos import USER_MENTION
from bot.text import Source, TextRefused
from handlers.common import answer_in_place, engaging
from handlers.keys import action_key, command_key
from handlers.kudos import tell_privately


async def _one_person(work: Work, text: str, usage: str) -> tuple[Person, Person, str]:
    """The owner, the one person mentioned first in `text`, and the rest of the text."""
    mentions = USER_MENTION.findall(text)
    if not mentions:
        raise AllyRejected(_("Mention someone: {usage}", usage=usage))
    first = USER_MENTION.search(text)
    assert first is not None
    rest = (text[: first.start()] + text[first.end() :]).strip()
    found = await directory.lookup(
        work.db, work.client, team_id=work.team_id, user_ids=[work.user_id, mentions[0]]
    )
    if mentions[0] not in found:
        raise AllyRejected(_("I couldn't find <@{user}> in this workspace.", user=mentions[0]))
    return found[work.user_id], found[mentions[0]], rest


def _carried(text: str, person: Person) -> str:
    """A note or topic through the one text path (it may be shown again later)."""
    try:
        return texts.carry(text, source=Source.MARKUP, mentions=[person.user_id])
    except TextRefused as exc:
        raise AllyRejected(str(exc)) from None


async def ally_add(work: Work, rest: str) -> str:
    owner, ally, cadence = await _one_person(work, rest, "`/ally add @bob every 2 weeks`.")
    days = allies.parse_cadence(cadence)
    async with work.db.session() as session:
        __, created = await allies.add(
            session, team_id=work.team_id, owner=owner, ally=ally, cadence_days=days, now=work.now()
        )
    rhythm = allies.cadence_text(days)
    if created:
        return _(
            "<@{user}> is on your ally list, {rhythm}. I'll nudge you when it's been "
            "that long without contact (kudos, a shared promise or a logged chat all count). "
            "Nobody is told they were added.",
            user=ally.user_id,
            rhythm=rhythm,
        )
    return _("Now checking in with <@{user}> {rhythm}.", user=ally.user_id, rhythm=rhythm)


async def ally_remove(work: Work, rest: str) -> str:
    mentions = USER_MENTION.findall(rest)
    if not mentions:
        raise AllyRejected(_("Mention who to remove: `/ally remove @bob`."))
    async with work.db.session() as session:
        removed = await allies.remove(
            session, team_id=work.team_id, user_id=work.user_id, ally_id=mentions[0]
        )
    if not removed:
        raise AllyRejected(_("<@{user}> isn't on your ally list.", user=mentions[0]))
    return _("<@{user}> is off your ally list.", user=mentions[0])


async def ally_list(work: Work, rest: str) -> str:
    owner = (
        await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=[work.user_id])
    )[work.user_id]
    async with work.db.session() as session:
        views = await allies.list_allies(session, team_id=work.team_id, user_id=work.user_id)
    if not views:
        return _("Your ally list is empty. `/ally add @bob every 2 weeks` starts it.")
    today = work.now().astimezone(ZoneInfo(owner.tz)).date()
    lines = []
    for v in views:
        days = (today - v.ally.last_contact_day).days
        rhythm = allies.cadence_text(v.ally.cadence_days)
        if days == 0:
            line = _(
                "• <@{user}>: last contact today, {rhythm}", user=v.ally.ally_id, rhythm=rhythm
            )
        elif days == 1:
            line = _(
                "• <@{user}>: last contact yesterday, {rhythm}", user=v.ally.ally_id, rhythm=rhythm
            )
        else:
            line = ngettext(
                "• <@{user}>: last contact {n} day ago, {rhythm}",
                "• <@{user}>: last contact {n} days ago, {rhythm}",
                days,
                user=v.ally.ally_id,
                rhythm=rhythm,
            )
        if v.gone:
            line += " " + _("_(left the workspace: no more nudges)_")
        elif v.ally.due_day <= today:
            # Translators: after an ally's line in the list: it is time to check in
            line += " " + _(":handshake: due")
        lines.append(line)
    return _("*Your allies* (private to you):") + "\n" + "\n".join(lines)


async def ally_met(work: Work, rest: str) -> str:
    owner, ally, note = await _one_person(work, rest, "`/ally met @bob lunch, talked roadmap`.")
    note = _carried(note, ally)
    async with work.db.session() as session:
        row = await allies.get(
            session, team_id=work.team_id, user_id=owner.user_id, ally_id=ally.user_id
        )
        await allies.log_check_in(
            session,
            team_id=work.team_id,
            user_id=owner.user_id,
            ally_id=ally.user_id,
            note=note or None,
            source="met",
            now=work.now(),
        )
    if row:
        return _("Logged: you and <@{user}> connected today.", user=ally.user_id)
    return _(
        "Logged: you and <@{user}> connected today. (<@{user}> isn't on your ally list: "
        "`/ally add` them?)",
        user=ally.user_id,
    )


async def ally_resolve(work: Work, rest: str) -> str:
    owner, other, topic = await _one_person(work, rest, "`/ally resolve @bob the release plan`.")
    topic = _carried(topic, other)
    async with work.db.session() as session:
        await allies.start_resolve(
            session,
            team_id=work.team_id,
            owner=owner,
            other=other,
            topic=topic,
            source_key=command_key(work.body),
            now=work.now(),
        )
    return resolve_guide(other.user_id, topic)


ALLY_FEATURES: dict[str, Callable[[Work, str], Awaitable[str]]] = {
    "add": ally_add,
    "remove": ally_remove,
    "list": ally_list,
    "met": ally_met,
    "resolve": ally_resolve,
}


async def run_ally_feature(work: Work, sub: str, rest: str) -> None:
    try:
        text = await ALLY_FEATURES[sub](work, rest)
    except AllyRejected as exc:
        text = str(exc)
    await tell_privately(work, text)


# -- buttons ------------------------------------------------------------------------------


def _row_id(work: Work) -> int:
    action = work.body["actions"][0]
    if action.get("type") == "static_select":
        return int(action["block_id"].split(":")[1])
    return int(action["value"])


async def handle_ally_button(work: Work) -> None:
    action = work.body["actions"][0]
    owner = (
        await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=[work.user_id])
    )[work.user_id]
    today = work.now().astimezone(ZoneInfo(owner.tz)).date()
    try:
        async with work.db.session() as session:
            match action["action_id"]:
                case Action.CHECKIN_TALKED:
                    row = await allies.owned_ally(
                        session,
                        ally_row_id=_row_id(work),
                        team_id=work.team_id,
                        user_id=work.user_id,
                    )
                    await allies.log_check_in(
                        session,
                        team_id=work.team_id,
                        user_id=work.user_id,
                        ally_id=row.ally_id,
                        note=None,
                        source="we_talked",
                        now=work.now(),
                    )
                    note = _(
                        ":white_check_mark: Noted: you and <@{user}> talked. Clock reset.",
                        user=row.ally_id,
                    )
                case Action.CHECKIN_SNOOZE:
                    row = await allies.owned_ally(
                        session,
                        ally_row_id=_row_id(work),
                        team_id=work.team_id,
                        user_id=work.user_id,
                    )
                    until = await allies.snooze(session, row=row, days=7, today=today)
                    note = _(
                        ":zzz: I'll bring <@{user}> up again on {day}.",
                        user=row.ally_id,
                        day=i18n.format_skeleton(until, "MMMEd"),
                    )
                case Action.CHECKIN_CADENCE:
                    row = await allies.owned_ally(
                        session,
                        ally_row_id=_row_id(work),
                        team_id=work.team_id,
                        user_id=work.user_id,
                    )
                    days = int(action["selected_option"]["value"])
                    await allies.set_cadence(session, row=row, days=days)
                    note = _(
                        "Now checking in with <@{user}> {rhythm}.",
                        user=row.ally_id,
                        rhythm=allies.cadence_text(days),
                    )
                case Action.RESOLVE_DONE | Action.RESOLVE_NOT_YET | Action.RESOLVE_HELP as which:
                    answer = {
                        Action.RESOLVE_DONE: "resolved",
                        Action.RESOLVE_NOT_YET: "not_yet",
                        Action.RESOLVE_HELP: "help",
                    }[which]
                    resolve = await allies.answer_resolve(
                        session,
                        resolve_id=int(action["value"]),
                        team_id=work.team_id,
                        user_id=work.user_id,
                        answer=answer,
                        today=today,
                    )
                    note = {
                        "resolved": _(":tada: Glad you talked it through. That takes courage."),
                        "not_yet": (
                            _(
                                "No rush. I'll ask again on {day}.",
                                day=i18n.format_skeleton(resolve.follow_up_day, "MMMEd"),
                            )
                            if resolve.follow_ups < allies.RESOLVE_MAX_FOLLOW_UPS
                            else _(
                                "No rush. I won't ask again; `/ally resolve` if you want a nudge."
                            )
                        ),
                        "help": third_party_help(),
                    }[answer]
                    if answer == "not_yet" and resolve.follow_ups < allies.RESOLVE_MAX_FOLLOW_UPS:
                        resolve.status = "open"
                case _:
                    return
    except AllyRejected as exc:
        await tell_privately(work, str(exc))
        return
    await answer_in_place(work, note)


async def acknowledge_link(ack: Callable[[], Awaitable[None]]) -> None:
    """ "Open a DM" is a link: Slack opens it and still tells allybot; nothing to do."""
    await ack()


def register(app: AsyncApp, inbox: Inbox) -> None:
    button = inbox.listener("ally_button", action_key, engaging(handle_ally_button))
    for action in (
        Action.CHECKIN_TALKED,
        Action.CHECKIN_SNOOZE,
        Action.CHECKIN_CADENCE,
        Action.RESOLVE_DONE,
        Action.RESOLVE_NOT_YET,
        Action.RESOLVE_HELP,
    ):
        app.action(action)(button)
    app.action(Action.CHECKIN_OPEN_DM)(acknowledge_link)
