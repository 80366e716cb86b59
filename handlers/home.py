"""The Home tab, built from current state and republished after anything a person does."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot import directory, i18n
from bot.blocks.allies import DueAlly
from bot.blocks.heads_up import build_home_round_blocks
from bot.blocks.home import build_home_view
from bot.blocks.intros import build_home_intros_blocks
from bot.db import Database
from bot.inbox import Inbox, Work
from bot.models import Person
from bot.services import allies, commitments, dm_budget, insights, people, preferences
from bot.services.intros import members as intro_members
from bot.services.intros import skips
from bot.slack import slack_error
from handlers.keys import event_key
from handlers.language import event_user, in_their_language


async def publish_home(
    db: Database,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    now: datetime,
    only_if_seen: bool = False,
) -> None:
    """Build and publish one person's Home from current state, in their language (whoever
    caused it); with `only_if_seen`, only for someone who has opened it (nobody else would
    see the work).

    Each publish carries the hash Slack gave the one before it: when another delivery has
    published their Home since this one read its state (its Home may be the older one),
    Slack refuses it, and it is built again from what is stored now. The last try goes
    without the hash, from state read just before it."""
    for attempt in range(HOME_TRIES):
        found = await directory.lookup(db, client, team_id=team_id, user_ids=[user_id])
        person = found.get(user_id)
        if person is None or (only_if_seen and person.home_seen_at is None):
            return
        view = await _home_view(db, person, team_id=team_id, now=now)
        last = person.home_hash if attempt < HOME_TRIES - 1 else None
        try:
            published = await client.views_publish(user_id=user_id, view=view, hash=last)
        except SlackApiError as exc:
            if slack_error(exc) == "hash_conflict":
                continue
            raise
        async with db.session() as session:
            await people.set_home_hash(
                session,
                team_id=team_id,
                user_id=user_id,
                home_hash=(published.get("view") or {}).get("hash"),
            )
        return


HOME_TRIES = 3


async def _home_view(db: Database, person: Person, *, team_id: str, now: datetime) -> View:
    """One person's Home as current state shows it."""
    user_id = person.user_id
    today = now.astimezone(ZoneInfo(person.tz)).date()
    async with db.session() as session:
        views = await allies.list_allies(session, team_id=team_id, user_id=user_id)
        due = sorted(
            (
                DueAlly(
                    row_id=v.ally.id,
                    ally_id=v.ally.ally_id,
                    days=(today - v.ally.last_contact_day).days,
                    cadence_days=v.ally.cadence_days,
                )
                for v in views
                if v.ally.due_day <= today and not v.gone
            ),
            key=lambda d: -d.days,
        )
        open_items = await commitments.open_list(session, team_id=team_id, owner_id=user_id)
        with_parties = [
            (c, [p.user_id for p in await commitments.parties_of(session, commitment_id=c.id)])
            for c in open_items[:5]
        ]
        figures = await insights.figures(session, team_id=team_id, user_id=user_id, now=now)
        window = await preferences.window_of(session, person)
        intro_status = await intro_members.status(
            session, team_id=team_id, user_id=user_id, now=now
        )
        upcoming = await skips.upcoming(session, team_id=team_id, user_id=user_id, now=now)
        received = await insights.recent_kudos_received(
            session, team_id=team_id, user_id=user_id, now=now
        )
        muted = await dm_budget.muted_by(session, team_id=team_id, user_id=user_id)
        workspace = await people.ensure_workspace(session, team_id=team_id)
    with i18n.speaking(people.language_of(person, workspace)):
        return build_home_view(
            person=person,
            due_allies=due,
            commitments=with_parties,
            figures=figures,
            received=received,
            now=now,
            window=window,
            intros=[
                *build_home_intros_blocks(intro_status, person.tz),
                *(build_home_round_blocks(upcoming) if upcoming else ()),
            ]
            if intro_status.channel_id
            else (),
            muted=muted,
            slack_language=people.slack_language(person, workspace),
        )


async def republish_home(work: Work) -> None:
    seen = work.people.get(work.user_id)
    if seen is not None and seen.home_seen_at is None:
        return  # read earlier in this delivery: they have never opened Home
    await publish_home(
        work.db,
        work.client,
        team_id=work.team_id,
        user_id=work.user_id,
        now=work.now(),
        only_if_seen=True,
    )


async def handle_home_opened(work: Work) -> None:
    event = work.body["event"]
    if event.get("tab", "home") != "home":
        return
    # Seen before it is published: a button on this Home can be pressed as soon as it shows,
    # and that press's delivery republishes Home only for someone who has seen it. (Their
    # profile first: someone new is stored by the look-up.)
    if not await work.lookup([event["user"]]):
        return
    async with work.db.session() as session:
        await people.mark_home_seen(
            session, team_id=work.team_id, user_id=event["user"], now=work.now()
        )
    await publish_home(
        work.db, work.client, team_id=work.team_id, user_id=event["user"], now=work.now()
    )


def register(app: AsyncApp, inbox: Inbox) -> None:
    app.event("app_home_opened")(
        inbox.listener(
            "home_opened", event_key, in_their_language(handle_home_opened, who=event_user)
        )
    )
