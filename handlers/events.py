"""Events API listeners."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot import i18n
from bot.blocks.help import ally_help_text
from bot.inbox import Inbox, Work
from bot.services import people, workspaces
from bot.services.people import Profile
from handlers.keys import event_key


async def handle_app_mention(work: Work) -> None:
    """An @-mention of allybot gets the overview, in the thread, never as channel noise."""
    event = work.body["event"]
    async with work.db.session() as session:
        workspace = await work.workspace_in(session)
    with i18n.speaking(workspace.language):  # in a channel: the workspace's language
        text = ally_help_text()
    await work.client.chat_postMessage(
        channel=event["channel"], thread_ts=event.get("thread_ts") or event["ts"], text=text
    )


async def handle_user_change(work: Work) -> None:
    """Keep time zones, names and deleted flags current."""
    user = work.body["event"]["user"]
    async with work.db.session() as session:
        await people.save_profiles(
            session,
            team_id=work.team_id,
            profiles=[Profile.from_slack(user, installation=work.team_id)],
            now=work.now(),
        )


async def handle_uninstall(work: Work) -> None:
    """The workspace removed allybot: forget its tokens and stop everything for it."""
    event = work.body.get("event") or {}
    if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
        return  # only people's own tokens went; allybot's bot token still works
    await work.clients.uninstall(work.team_id, work.body.get("enterprise_id"))
    async with work.db.session() as session:
        await workspaces.mark_uninstalled(session, team_id=work.team_id, now=work.now())


async def acknowledge(ack: AsyncAck) -> None:
    """Acked and nothing more (a button whose work is done on the client), so Slack does not
    retry it."""
    await ack()


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.event("app_mention")(inbox.listener("app_mention", event_key, handle_app_mention))
    app.event("user_change")(inbox.listener("user_change", event_key, handle_user_change))
    uninstall = inbox.listener("app_uninstalled", event_key, handle_uninstall)
    app.event("app_uninstalled")(uninstall)
    app.event("tokens_revoked")(uninstall)
