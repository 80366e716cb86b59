"""Someone joined the workspace (`team_join`), or joined the intros channel new to its
rounds (`member_joined_channel`): their welcome is planned once."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.inbox import Inbox, Work
from bot.services import newcomers, people
from bot.services.people import Profile
from handlers.keys import event_key


async def handle_team_join(work: Work) -> None:
    """Store the newcomer's profile (Slack sends it whole) and plan their welcome."""
    user = work.body["event"]["user"]
    profile = Profile.from_slack(user)
    async with work.db.session() as session:
        await people.save_profiles(
            session, team_id=work.team_id, profiles=[profile], now=work.now()
        )
        workspace = await people.ensure_workspace(session, team_id=work.team_id)
        found = await people.get_people(session, team_id=work.team_id, user_ids=[profile.user_id])
        person = found.get(profile.user_id)
        if person is not None:
            await newcomers.record_join(session, workspace=workspace, person=person, now=work.now())


async def handle_member_joined_channel(work: Work) -> None:
    """Someone new to the intros channel (not a bot, not from another organisation, not
    already in allybot's rounds) is welcomed as a newcomer. Any other channel: nothing."""
    event = work.body["event"]
    user_id, channel_id = str(event.get("user") or ""), str(event.get("channel") or "")
    async with work.db.session() as session:
        workspace = await work.workspace_in(session)
        if not user_id or channel_id != workspace.intros_channel_id:
            return
        if await newcomers.known_to_rounds(session, team_id=work.team_id, user_id=user_id):
            return
    person = (await work.lookup([user_id])).get(user_id)  # users.info: bot, external, zone
    if person is None:
        return
    async with work.db.session() as session:
        workspace = await people.ensure_workspace(session, team_id=work.team_id)
        await newcomers.record_channel_join(
            session, workspace=workspace, person=person, channel_id=channel_id, now=work.now()
        )


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.event("team_join")(inbox.listener("team_join", event_key, handle_team_join))
    app.event("member_joined_channel")(
        inbox.listener("member_joined_channel", event_key, handle_member_joined_channel)
    )
