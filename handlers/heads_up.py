"""Skip this round / I'm in, on the heads-up before an intros round (daily message) and on
Home: `bot/services/intros/skips.py` records the answer for that round day."""

from __future__ import annotations

from datetime import date

from slack_bolt.async_app import AsyncApp

from bot.blocks.heads_up import choice_note
from bot.i18n import _
from bot.ids import Action
from bot.inbox import Inbox, Work
from bot.services.intros import skips
from bot.services.intros.rules import IntrosError
from handlers.common import answer_in_place, engaging
from handlers.keys import action_key
from handlers.kudos import tell_privately


async def handle_round_choice(work: Work) -> None:
    """The answer is kept per person and round day, so a second press or Slack's retry
    leaves it as it is; the heads-up shows it in place, Home is republished."""
    action = work.body["actions"][0]
    try:
        round_day = date.fromisoformat(str(action.get("value") or ""))
    except ValueError:
        await tell_privately(work, _("That button doesn't belong to an intros round."))

        return
    try:
        async with work.db.session() as session:
            choice = await skips.choose(
                session,
                team_id=work.team_id,
                user_id=work.user_id,
                round_day=round_day,
                skip=action["action_id"] == Action.INTRO_ROUND_SKIP,
                now=work.now(),
            )
    except IntrosError as exc:
        await tell_privately(work, str(exc))
        return
    await answer_in_place(work, choice_note(round_day, choice))


def register(app: AsyncApp, inbox: Inbox) -> None:
    listener = inbox.listener("intro_round_choice", action_key, engaging(handle_round_choice))
    for action in (Action.INTRO_ROUND_SKIP, Action.INTRO_ROUND_IN):
        app.action(action)(listener)
