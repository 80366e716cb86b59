"""Every `message` shape Slack documents, and every event allybot subscribes to, through
`allybot serve`: counted once, ignored and never stored, or answered (README, "Every message
Slack sends"). The shapes are in tests/message_samples.py."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.models import Inbound, Kudos
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import settled
from tests.message_samples import COUNTED, IGNORED, Shape, message_deleted, plain
from tests.slack_double import SlackDouble


async def kudos_of(db: Database, team_id: str) -> list[Kudos]:
    async with db.session() as session:
        stmt = select(Kudos).where(Kudos.team_id == team_id).order_by(Kudos.id)
        return list((await session.execute(stmt)).scalars())


async def stored(db: Database, team_id: str) -> int:
    async with db.session() as session:
        count = await session.scalar(select(func.count()).where(Inbound.team_id == team_id))
        return int(count or 0)


def shape(team: Team, giver: str, ann: str) -> Shape:
    return Shape(
        channel=team.channel_id,
        user=giver,
        text=f"kudos <@{ann}> for the calm launch #teamwork",
        team=team.team_id,
        other=ann,
    )


@pytest.mark.parametrize("name", sorted(COUNTED))
async def test_a_kudos_in_this_shape_counts_once(
    name: str, server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    event = COUNTED[name](shape(team, giver, ann))
    body = payloads.event_callback(event, team_id=team.team_id)
    assert (await server.post(body))[0] == 200
    assert (await server.post(body, retry_num=1))[0] == 200  # Slack's retry: the same event
    await slack.wait_for("reactions.add", channel=team.channel_id, timestamp=event["ts"])
    await slack.wait_for("chat.postMessage", channel=ann)
    rows = await kudos_of(db, team.team_id)
    assert [(r.giver_id, r.receiver_id, r.source, r.tags) for r in rows] == [
        (giver, ann, "message", ["teamwork"])
    ]
    assert "calm launch" in rows[0].text
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    assert len([c for c in slack.calls_to("chat.postMessage", channel=ann) if c.ok]) == 1


@pytest.mark.parametrize("name", sorted(IGNORED))
async def test_a_message_in_this_shape_is_ignored_and_never_stored(
    name: str, server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    event = IGNORED[name](shape(team, giver, ann))
    mark = len(slack.calls)
    status, text = await server.post(payloads.event_callback(event, team_id=team.team_id))
    assert (status, text) == (200, "")
    # Recorded deliveries are written before the ack: none means nothing will happen.
    assert await stored(db, team.team_id) == 0
    assert await kudos_of(db, team.team_id) == []
    touching = [c for c in slack.calls[mark:] if team.channel_id in json.dumps(c.args)]
    assert touching == []


async def test_deleting_a_kudos_message_takes_the_kudos_back(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    s = shape(team, giver, ann)
    event = plain(s)
    assert (await server.post(payloads.event_callback(event, team_id=team.team_id)))[0] == 200
    await slack.wait_for("reactions.add", channel=team.channel_id, timestamp=event["ts"])
    assert len(await kudos_of(db, team.team_id)) == 1
    gone = message_deleted(s, deleted_ts=event["ts"], text=event["text"])
    assert (await server.post(payloads.event_callback(gone, team_id=team.team_id)))[0] == 200
    for _ in range(200):
        if not await kudos_of(db, team.team_id):
            break
        await asyncio.sleep(0.05)
    assert await kudos_of(db, team.team_id) == []


async def test_deleting_any_other_message_is_ignored_and_never_stored(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    s = shape(team, giver, ann)
    gone = message_deleted(s, deleted_ts=payloads.fresh_ts(), text="lunch at noon?")
    assert (await server.post(payloads.event_callback(gone, team_id=team.team_id)))[0] == 200
    assert await stored(db, team.team_id) == 0
