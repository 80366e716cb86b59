"""Someone joined the workspace (`team_join`): their welcome is planned once."""

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


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.event("team_join")(inbox.listener("team_join", event_key, handle_team_join))
