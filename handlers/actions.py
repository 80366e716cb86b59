"""Block actions (buttons)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.nudges import replace_block
from bot.i18n import N_, _
from bot.ids import Action
from bot.inbox import Inbox, Work
from bot.services import tips
from handlers.common import engaging
from handlers.events import acknowledge
from handlers.keys import action_key
from handlers.kudos import tell_privately

TIP_NOTES = {
    tips.HELPFUL: N_(":white_check_mark: Thanks, noted: more tips like this one."),
    tips.NOT_FOR_ME: N_(":ok_hand: Noted: fewer tips like this one."),
}


async def handle_tip_rating(work: Work) -> None:
    """ "Helpful" / "Not for me" on a tip: record it and answer in place."""
    action = work.body["actions"][0]
    rating = tips.HELPFUL if action["action_id"] == Action.TIP_HELPFUL else tips.NOT_FOR_ME
    try:
        async with work.db.session() as session:
            await tips.rate(
                session,
                team_id=work.team_id,
                user_id=work.user_id,
                shown_id=int(action["value"]),
                rating=rating,
            )
    except (tips.NotYours, ValueError):
        await tell_privately(work, _("That button belongs to a tip sent to someone else."))
        return
    message = work.body.get("message") or {}
    container = work.body.get("container") or {}
    await work.client.chat_update(
        channel=container["channel_id"],
        ts=container["message_ts"],
        text=message.get("text") or "allybot",
        blocks=replace_block(
            message.get("blocks") or [], action.get("block_id", ""), _(TIP_NOTES[rating])
        ),
    )


def register(app: AsyncApp, inbox: Inbox) -> None:
    # "Say thanks" is a link button: Slack opens the DM itself and still tells us; ack it.
    app.action(Action.SAY_THANKS)(acknowledge)
    rating = inbox.listener("tip_rating", action_key, engaging(handle_tip_rating))
    app.action(Action.TIP_HELPFUL)(rating)
    app.action(Action.TIP_NOT_FOR_ME)(rating)
