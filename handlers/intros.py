"""`/ally intros join|leave|pause 4w|resume|never @bob`, the intros buttons on Home, and
"Did you meet?" (Yes / Not yet / Skip) in a match's group DM."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import directory, i18n
from bot.blocks.intros import build_never_modal, met_note, status_text
from bot.i18n import _
from bot.ids import Action, Callback
from bot.inbox import Inbox, Work
from bot.models import Person
from bot.services import preferences
from bot.services.intros import answers as intro_answers
from bot.services.intros import meeting
from bot.services.intros import members as intro_members
from bot.services.intros import rules as intro_rules
from bot.services.intros.rules import IntrosError
from bot.services.kudos import USER_MENTION
from bot.text import snippet
from handlers.common import answer_in_place, engaging
from handlers.intro_meeting import run_meeting_command
from handlers.keys import action_key, view_key
from handlers.kudos import tell_privately
from handlers.relay import group_language

USAGE = (
    "`/ally intros join` · `/ally intros leave` · `/ally intros pause 4w` · "
    "`/ally intros resume` · `/ally intros never @name` · `/ally intros never remove @name` · "
    "`/ally intros welcome on|off` · "
    "`/ally intros in-person [place]` · `/ally intros remote` · "
    "`/ally intros`"
)


def _usage() -> str:
    # Translators: the commands stay in English; "(where you stand)" explains the last one
    return _("{commands} (where you stand)", commands=USAGE)


async def run_intros_command(work: Work, rest: str) -> None:
    """`/ally intros …`, answered privately; bad input changes nothing and says why."""
    words = rest.split(maxsplit=1)
    sub = words[0].lower() if words else "status"
    sub = "status" if sub in ("", "me") else sub
    arg = words[1].strip() if len(words) > 1 else ""
    try:
        text = await _run(work, sub, arg)
    except (IntrosError, preferences.PreferenceError) as exc:
        text = str(exc)
    await tell_privately(work, text)


async def _run(work: Work, sub: str, arg: str) -> str:
    now = work.now()
    if sub == "never":
        return await _never(work, arg)
    if sub == "welcome":
        return await _welcome(work, arg)
    if sub == "in" and arg.lower().split()[:1] == ["person"]:
        sub, arg = "in-person", arg.split(maxsplit=1)[1] if len(arg.split()) > 1 else ""
    if sub in ("in-person", "inperson", "remote"):
        mode = meeting.REMOTE if sub == "remote" else meeting.IN_PERSON
        return await run_meeting_command(work, mode, arg)
    if sub not in ("join", "leave", "pause", "resume", "status"):
        return _(
            "I don't know `/ally intros {word}`. Try: {usage}", word=snippet(sub), usage=_usage()
        )
    tz = (await _me(work)).tz  # looked up before the unit of work: one connection at a time
    async with work.db.session() as session:
        match sub:
            case "join":
                workspace = await intro_members.join(
                    session, team_id=work.team_id, user_id=work.user_id, now=now
                )
            case "leave":
                await intro_members.leave(
                    session, team_id=work.team_id, user_id=work.user_id, now=now
                )
                return _(
                    "You're out of intros: no more pairings. `/ally intros join` to come back."
                )
            case "pause":
                length = preferences.parse_duration(arg or "4w")
                until = await intro_members.pause(
                    session, team_id=work.team_id, user_id=work.user_id, length=length, now=now
                )
                local = until.astimezone(ZoneInfo(tz))
                return _(
                    "Intros paused until {day}. You stay in the pool after that.",
                    day=i18n.format_skeleton(local, "MMMEd"),
                )
            case "resume":
                await intro_members.resume(
                    session, team_id=work.team_id, user_id=work.user_id, now=now
                )
                return _("Intros resumed: you're in the next round.")
            case _:
                status = await intro_members.status(
                    session, team_id=work.team_id, user_id=work.user_id, now=now
                )
                return status_text(status, tz) + "\n" + _usage()
    channel = workspace.intros_channel_id
    assert channel is not None
    joined = _(
        "You're in intros: every so often allybot pairs you with someone from <#{channel}> "
        "in a group DM, preferring people you haven't worked with much.",
        channel=channel,
    )
    note = await _channel_note(work, channel)
    return f"{joined} {note}" if note else joined


async def _welcome(work: Work, arg: str) -> str:
    """`/ally intros welcome on|off`: volunteer to be in newcomers' first intros."""
    choice = arg.strip().lower()
    if choice not in ("on", "off"):
        return _(
            "Say `/ally intros welcome on` to be in the first intro of people who join the "
            "workspace (two or three volunteers each time), or `/ally intros welcome off`."
        )
    await _me(work)  # known by profile, so newcomers are matched with people still here
    async with work.db.session() as session:
        await intro_members.set_welcomer(
            session, team_id=work.team_id, user_id=work.user_id, on=choice == "on", now=work.now()
        )
    if choice == "on":
        return _(
            "Thank you! When someone joins, you may be one of the two or three people in their "
            "first intro, on their first working morning. You'll hear about it privately first."
        )
    return _(
        "You won't be asked to welcome newcomers any more. `/ally intros welcome on` to return."
    )


async def _me(work: Work) -> Person:
    found = await directory.lookup(
        work.db, work.client, team_id=work.team_id, user_ids=[work.user_id]
    )
    return found[work.user_id]


async def _channel_note(work: Work, channel_id: str) -> str:
    """A joiner who is not in the channel is told now, not when a round skips them."""
    try:
        members = await directory.channel_members(work.client, channel_id)
    except SlackApiError:
        return ""
    if work.user_id in members:
        return ""
    return _("Join <#{channel}> too: rounds pair the people in it.", channel=channel_id)


async def _never(work: Work, arg: str) -> str:
    words = arg.split(maxsplit=1)
    removing = bool(words) and words[0].lower() == "remove"
    mentions = USER_MENTION.findall(arg)
    now = work.now()
    if not mentions:
        if arg and not removing:
            raise IntrosError(_("Mention someone: `/ally intros never @name`."))
        if removing:
            raise IntrosError(_("Mention who to take off: `/ally intros never remove @name`."))
        async with work.db.session() as session:
            listed = await intro_members.nevers_of(
                session, team_id=work.team_id, user_id=work.user_id
            )
        if not listed:
            return _("Your never list is empty. `/ally intros never @name` adds someone.")
        names = ", ".join(f"<@{u}>" for u in listed)
        return _("Never paired with (private to you): {people}.", people=names)
    other_id = mentions[0]
    if removing:
        async with work.db.session() as session:
            removed = await intro_members.remove_never(
                session, team_id=work.team_id, user_id=work.user_id, other_id=other_id, now=now
            )
        if not removed:
            raise IntrosError(_("<@{user}> isn't on your never list.", user=other_id))
        return _("<@{user}> is off your never list.", user=other_id)
    found = await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=[other_id])
    if other_id not in found:
        raise IntrosError(_("I couldn't find <@{user}> in this workspace.", user=other_id))
    async with work.db.session() as session:
        added = await intro_members.add_never(
            session, team_id=work.team_id, user_id=work.user_id, other=found[other_id], now=now
        )
    if not added:
        return _("<@{user}> is already on your never list.", user=other_id)
    return _(
        "You'll never be paired with <@{user}> in intros. This stays private: "
        "nobody is told, and nobody sees your list.",
        user=other_id,
    )


# -- buttons ------------------------------------------------------------------------------

ANSWERS = {
    Action.INTRO_MET_YES: intro_rules.YES,
    Action.INTRO_MET_NOT_YET: intro_rules.NOT_YET,
    Action.INTRO_MET_SKIP: intro_rules.SKIP,
}


async def handle_met_answer(work: Work) -> None:
    """An answer to "Did you meet?", recorded on the match the button belongs to."""
    action = work.body["actions"][0]
    try:
        match_id = int(action["value"])
    except (KeyError, ValueError):
        await tell_privately(work, _("That button doesn't belong to an intro."))
        return
    try:
        async with work.db.session() as session:
            answered = await intro_answers.answer(
                session,
                team_id=work.team_id,
                match_id=match_id,
                user_id=work.user_id,
                answer=ANSWERS[action["action_id"]],
                now=work.now(),
            )
    except IntrosError as exc:
        await tell_privately(work, str(exc))
        return
    if answered.answer == intro_rules.YES:
        if not answered.first_yes:
            await tell_privately(
                work, _("Already noted: <@{user}> said you met.", user=answered.match.met_by)
            )
            return
        # The buttons give way to who said so, in the group DM: in the group's language.
        with i18n.speaking(await group_language(work, answered.members)):
            note = met_note(work.user_id)
        await answer_in_place(work, note)
        return
    if answered.answer == intro_rules.NOT_YET:
        # Translators: *Yes* is the button's label in the intro's "Did you meet?" message
        await tell_privately(
            work, _("No rush. Press *Yes* here once you've met; it counts as contact for you all.")
        )
        return
    await tell_privately(work, _("Skipped: allybot won't ask you about this intro again."))


async def handle_home_intros(work: Work) -> None:
    """Join, leave, pause or resume from Home; Home is republished after (see `engaging`)."""
    action = work.body["actions"][0]["action_id"]
    now = work.now()
    try:
        async with work.db.session() as session:
            match action:
                case Action.INTRO_HOME_JOIN:
                    await intro_members.join(
                        session, team_id=work.team_id, user_id=work.user_id, now=now
                    )
                case Action.INTRO_HOME_LEAVE:
                    await intro_members.leave(
                        session, team_id=work.team_id, user_id=work.user_id, now=now
                    )
                case Action.INTRO_HOME_PAUSE:
                    await intro_members.pause(
                        session,
                        team_id=work.team_id,
                        user_id=work.user_id,
                        length=preferences.parse_duration("4w"),
                        now=now,
                    )
                case Action.INTRO_HOME_RESUME:
                    await intro_members.resume(
                        session, team_id=work.team_id, user_id=work.user_id, now=now
                    )
                case Action.INTRO_HOME_WELCOME:
                    await intro_members.set_welcomer(
                        session,
                        team_id=work.team_id,
                        user_id=work.user_id,
                        on=work.body["actions"][0].get("value") == "on",
                        now=now,
                    )
    except IntrosError as exc:
        await tell_privately(work, str(exc))


async def open_never_modal(work: Work) -> None:
    """The never list from Home, prefilled."""
    async with work.db.session() as session:
        current = await intro_members.nevers_of(session, team_id=work.team_id, user_id=work.user_id)
    await work.client.views_open(
        trigger_id=work.body["trigger_id"],
        view=build_never_modal(current[: intro_rules.MAX_NEVER]),
    )


def picked_nevers(body: dict[str, Any]) -> list[str]:
    values = body["view"]["state"]["values"]
    return list((values.get("never") or {}).get("never", {}).get("selected_users") or [])


def check_never_modal(body: dict[str, Any]) -> dict[str, Any] | None:
    problem = intro_members.check_never_list(str(body["user"]["id"]), picked_nevers(body))
    return {"response_action": "errors", "errors": {"never": problem}} if problem else None


async def handle_never_saved(work: Work) -> None:
    picked = picked_nevers(work.body)
    found = await directory.lookup(work.db, work.client, team_id=work.team_id, user_ids=picked)
    async with work.db.session() as session:
        await intro_members.set_nevers(
            session,
            team_id=work.team_id,
            user_id=work.user_id,
            others=[found[u] for u in picked if u in found],
            now=work.now(),
        )


def register(app: AsyncApp, inbox: Inbox) -> None:
    answer = inbox.listener("intro_answer", action_key, engaging(handle_met_answer))
    for action in ANSWERS:
        app.action(action)(answer)
    home = inbox.listener("intro_home", action_key, engaging(handle_home_intros))
    for action in (
        Action.INTRO_HOME_JOIN,
        Action.INTRO_HOME_LEAVE,
        Action.INTRO_HOME_PAUSE,
        Action.INTRO_HOME_RESUME,
        Action.INTRO_HOME_WELCOME,
    ):
        app.action(action)(home)
    app.action(Action.INTRO_HOME_NEVER)(
        inbox.listener("intro_never_open", action_key, engaging(open_never_modal))
    )
    app.view(Callback.INTRO_NEVER_MODAL)(
        inbox.listener(
            "intro_never_saved", view_key, engaging(handle_never_saved), check=check_never_modal
        )
    )
