"""The right installation for every event: Slack Connect channels shared with another
organisation, and Enterprise Grid org-wide installs, end to end through `allybot serve`.

Envelopes follow Slack's: in a shared channel `team_id` can be the other organisation's
workspace while `authorizations` names the one that installed allybot
(`is_ext_shared_channel: true`, the event's `user_team`); an org-wide install's
`authorizations` name the enterprise and no team (`is_enterprise_install: true`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

from sqlalchemy import select

from bot.db import Database
from bot.models import SLACK_BOTS, Kudos, Person, Workspace
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, new_id, seed_people, settled
from tests.installs import begin_install, finish_install, new_token
from tests.slack_double import SlackDouble
from tests.test_oauth_e2e import bots_of, oauth_bot, oauth_server  # noqa: F401
from tests.test_privacy_e2e import export_of

TZ = "Europe/London"


async def kudos_of(db: Database, key: str) -> list[Kudos]:
    async with db.session() as session:
        stmt = select(Kudos).where(Kudos.team_id == key).order_by(Kudos.id)
        return list((await session.execute(stmt)).scalars())


async def eventually(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    assert await check()


def shared_message(team: Team, other: str, user: str, text: str) -> str:
    """A message in a channel shared with organisation `other`, by one of its members:
    Slack sends it with the other workspace in the envelope, ours in `authorizations`."""
    event = payloads.message_event(channel=team.channel_id, user=user, text=text, team=other)
    event["user_team"] = other
    event["source_team"] = other
    return payloads.event_callback(
        event, team_id=other, installed_team_id=team.team_id, shared=True
    )


async def test_a_kudos_in_a_shared_channel_is_kept_by_the_installing_workspace(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    other = new_id("T")
    ann = team.user("ann")
    partner = new_id("U")
    slack.add_user(partner, team_id=other, name="pat", real_name="Pat Partner", tz="Asia/Tokyo")
    text = f"kudos <@{ann}> for unblocking our integration"
    assert (await server.post(shared_message(team, other, partner, text)))[0] == 200

    await slack.wait_for("chat.postMessage", channel=ann)  # the receiver is told, in our org
    await eventually(lambda: _has_kudos(db, team.team_id))
    (row,) = await kudos_of(db, team.team_id)
    assert (row.giver_id, row.receiver_id) == (partner, ann)
    assert await kudos_of(db, other) == [], "nothing under the other organisation"
    async with db.session() as session:
        them = await session.get(Person, (team.team_id, partner))
        assert them is not None and them.external
        # Only what kudos need: no name, no time zone, never nudged.
        assert (them.name, them.tz, them.is_admin) == (None, "UTC", False)
        assert await session.get(Workspace, other) is None
    _, export = await export_of(server, team, slack, ann)
    assert "unblocking our integration" in json.dumps(export)


async def _has_kudos(db: Database, key: str) -> bool:
    return bool(await kudos_of(db, key))


async def test_the_installing_workspaces_kudos_emoji_counts_in_a_shared_channel(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    other = new_id("T")
    giver = team.user("giver")
    partner = new_id("U")
    slack.add_user(partner, team_id=other, name="pat")
    async with db.session() as session:  # a custom emoji of ours, before any event is seen
        session.add(Workspace(team_id=team.team_id, kudos_emoji="acme-star", custom_tags=[]))
    ts = payloads.fresh_ts()
    event = payloads.reaction_added_event(
        user=giver, reaction="acme-star", channel=team.channel_id, item_ts=ts, item_user=partner
    )
    envelope = payloads.event_callback(
        event, team_id=other, installed_team_id=team.team_id, shared=True
    )
    assert (await server.post(envelope))[0] == 200
    await eventually(lambda: _has_kudos(db, team.team_id))
    (row,) = await kudos_of(db, team.team_id)
    assert (row.giver_id, row.receiver_id, row.source) == (giver, partner, "reaction")
    await settled(db, team.team_id, other)  # every delivery worked on: nothing more is coming
    assert slack.calls_to("chat.postMessage", channel=partner) == [], "no DM across orgs"


async def test_an_org_wide_install_serves_every_workspace_of_the_org(
    oauth_server: Server,  # noqa: F811
    slack: SlackDouble,
    db: Database,
    database_url: str,
) -> None:
    grid = new_id("E")
    first, second = Team(slack=slack), Team(slack=slack)
    for team in (first, second):
        slack.set_team(team.team_id, name=f"Grid {team.team_id}", enterprise_id=grid)
    token, code = new_token(grid), uuid.uuid4().hex
    slack.set_oauth_install(code, "", "Acme Grid", token, "UBORG", grid, org_wide=True)
    started = await begin_install(oauth_server.http, oauth_server.url)
    status, page = await finish_install(
        oauth_server.http, oauth_server.url, code=code, state=started.state
    )
    assert status == 200, page
    async with db.session() as session:
        stored = (
            (await session.execute(select(SLACK_BOTS).where(SLACK_BOTS.c.enterprise_id == grid)))
            .mappings()
            .all()
        )
        assert [(r["team_id"], r["is_enterprise_install"]) for r in stored] == [(None, True)]
        org = await session.get(Workspace, grid)
        assert org is not None and org.enterprise_id == grid and org.uninstalled_at is None

    giver, ann = first.user("giver", tz=TZ), second.user("ann", tz=TZ)
    # A slash command in one workspace of the org, for someone in another.
    body = payloads.slash_command(
        command="/kudos",
        text=f"<@{ann}> ran the cross-team launch",
        user_id=giver,
        team_id=first.team_id,
        channel_id=first.channel_id,
        response_url=slack.response_url(uuid.uuid4().hex),
        enterprise_id=grid,
        org_wide=True,
    )
    assert (await oauth_server.post(body))[0] == 200
    post = (await slack.wait_for("chat.postMessage", channel=first.channel_id))[0]
    dm = (await slack.wait_for("chat.postMessage", channel=ann))[0]
    assert post.token == token and dm.token == token
    # An event from the org's other workspace: Slack names the enterprise, no team.
    text = f"kudos <@{giver}> for the launch checklist"
    event = payloads.message_event(
        channel=second.channel_id, user=ann, text=text, team=second.team_id
    )
    envelope = payloads.event_callback(
        event, team_id=second.team_id, enterprise_id=grid, org_wide=True
    )
    assert (await oauth_server.post(envelope))[0] == 200
    told = (await slack.wait_for("chat.postMessage", channel=giver))[0]
    assert told.token == token
    await eventually(lambda: _count(db, grid, 2))
    assert {(k.giver_id, k.receiver_id) for k in await kudos_of(db, grid)} == {
        (giver, ann),
        (ann, giver),
    }
    assert await kudos_of(db, first.team_id) == [] and await kudos_of(db, second.team_id) == []
    async with db.session() as session:
        person = await session.get(Person, (grid, ann))
        assert person is not None and not person.external  # the org's own people

    # Nudges go out with the org's token.
    people = await seed_people(
        db, slack, team_id=grid, people=[{"tz": TZ, "tips_cadence": "daily"}]
    )
    monday = at("2026-11-30 10:00", TZ)
    async with oauth_bot(database_url, slack) as bot:
        await run_pass(bot, now=monday, team_id=grid)
    tip = (await slack.wait_for("chat.postMessage", channel=people[0]))[0]
    assert tip.ok and tip.token == token

    # Uninstalled org-wide: its token goes, nothing more is sent.
    gone = payloads.event_callback(
        payloads.app_uninstalled_event(), team_id=first.team_id, enterprise_id=grid, org_wide=True
    )
    assert (await oauth_server.post(gone))[0] == 200

    async def forgotten() -> bool:
        async with db.session() as session:
            rows = await session.execute(
                select(SLACK_BOTS).where(SLACK_BOTS.c.enterprise_id == grid)
            )
            org = await session.get(Workspace, grid)
            return not rows.first() and org is not None and org.uninstalled_at is not None

    await eventually(forgotten)
    async with db.session() as session:
        org = await session.get(Workspace, grid)
        assert org is not None and org.uninstalled_at is not None
    mark = len(slack.calls)
    async with oauth_bot(database_url, slack) as bot:
        await run_pass(bot, now=monday + timedelta(days=1), team_id=grid)
    assert [c for c in slack.calls[mark:] if c.method == "chat.postMessage"] == []
    assert await bots_of(db, first.team_id) == []


async def _count(db: Database, key: str, n: int) -> bool:
    return len(await kudos_of(db, key)) == n
