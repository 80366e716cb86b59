"""How a member meets in intros: `/ally intros in-person [place]`, `/ally intros remote`,
and the *How I meet…* modal on Home."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks.intro_meeting import build_meeting_modal, meeting_text
from bot.i18n import _
from bot.ids import Action, Callback
from bot.inbox import Inbox, Work
from bot.services.intros import meeting as intro_meeting
from bot.services.intros import members as intro_members
from bot.services.intros.rules import IntrosError
from handlers.common import engaging
from handlers.keys import action_key, view_key


async def run_meeting_command(work: Work, mode: str, arg: str) -> str:
    """`/ally intros in-person [place]` or `/ally intros remote`; raises `IntrosError`."""
    place = intro_meeting.parse_place(arg, markup=True) if mode == intro_meeting.IN_PERSON else None
    async with work.db.session() as session:
        await intro_members.set_meeting(
            session,
            team_id=work.team_id,
            user_id=work.user_id,
            mode=mode,
            place=place,
            now=work.now(),
        )
        meets = await intro_meeting.meeting_of(session, team_id=work.team_id, user_id=work.user_id)
    if mode == intro_meeting.REMOTE:
        return _(
            "Noted: {how} Your groups are made by shared working hours.", how=meeting_text(meets)
        )
    return _(
        "Noted: {how} You'll be grouped with people who meet in person at the same place when "
        "there are any; otherwise with others, remotely.",
        how=meeting_text(meets),
    )


async def open_meeting_modal(work: Work) -> None:
    async with work.db.session() as session:
        meets = await intro_meeting.meeting_of(session, team_id=work.team_id, user_id=work.user_id)
    await work.client.views_open(
        trigger_id=work.body["trigger_id"], view=build_meeting_modal(meets)
    )


def _picked(body: dict[str, Any]) -> tuple[str, str]:
    values = body["view"]["state"]["values"]
    mode = ((values.get("mode") or {}).get("mode") or {}).get("selected_option") or {}
    place = ((values.get("place") or {}).get("place") or {}).get("value") or ""
    return str(mode.get("value") or intro_meeting.REMOTE), str(place)


def check_meeting_modal(body: dict[str, Any]) -> dict[str, Any] | None:
    """In the ack: a place allybot can't use, or in person with no place known."""
    mode, place = _picked(body)
    try:
        parsed = intro_meeting.parse_place(place, markup=False)
    except IntrosError as exc:
        return {"response_action": "errors", "errors": {"place": str(exc)}}
    from_profile = body["view"].get("private_metadata") == "profile"
    if mode == intro_meeting.IN_PERSON and parsed is None and not from_profile:
        return {
            "response_action": "errors",
            "errors": {"place": _("Name your place: in-person intros are among people there.")},
        }
    return None


async def handle_meeting_saved(work: Work) -> None:
    mode, place = _picked(work.body)
    async with work.db.session() as session:
        await intro_members.set_meeting(
            session,
            team_id=work.team_id,
            user_id=work.user_id,
            mode=mode,
            place=intro_meeting.parse_place(place, markup=False),
            now=work.now(),
        )


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.action(Action.INTRO_HOME_MEET)(
        inbox.listener("intro_meet_open", action_key, engaging(open_meeting_modal))
    )
    app.view(Callback.INTRO_MEET_MODAL)(
        inbox.listener(
            "intro_meet_saved", view_key, engaging(handle_meeting_saved), check=check_meeting_modal
        )
    )
