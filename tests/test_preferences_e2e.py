"""`/ally` preferences and tip ratings through `allybot serve`, as Slack sends them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.models import Person, TipShown
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, running_bot, settled
from tests.slack_double import SlackDouble


async def person(db: Database, team_id: str, user_id: str) -> Person | None:
    async with db.session() as session:
        return await session.get(Person, (team_id, user_id))


async def ally(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> str:
    body, key = team.command("/ally", text, user_id=user)
    assert (await server.post(body))[0] == 200
    return str((await slack.wait_for("response_url", _key=key))[0].args["text"])


async def test_tip_cadence_pause_resume_and_quiet_hours(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    user = team.user("ann", tz="Asia/Tokyo")
    assert "each working day" in await ally(server, team, slack, user, "tips daily")
    saved = await person(db, team.team_id, user)
    assert saved is not None and saved.tips_cadence == "daily"
    assert saved.engaged_at is not None and saved.tz == "Asia/Tokyo"
    assert "for 7 days" in await ally(server, team, slack, user, "pause 1w")
    saved = await person(db, team.team_id, user)
    assert saved is not None and saved.paused_until is not None
    assert "back" in await ally(server, team, slack, user, "resume")
    saved = await person(db, team.team_id, user)
    assert saved is not None and saved.paused_until is None
    assert "18:00 and 09:00" in await ally(server, team, slack, user, "quiet 18:00-09:00")
    saved = await person(db, team.team_id, user)
    assert saved is not None and (saved.quiet_start, saved.quiet_end) == (18 * 60, 9 * 60)
    assert "off" in await ally(server, team, slack, user, "tips off")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("tips hourly", "`weekly`, `daily` or `off`"),
        ("pause forever", "`7d` or `2w`"),
        ("pause 400d", "1 day to 365 days"),
        ("quiet 25:00-09:00", "doesn't exist"),
        ("quiet 9-5", "18:00-09:00"),
        ("quiet", "Say when"),
        ("frobnicate", "I don't know `/ally frobnicate`"),
    ],
)
async def test_bad_preferences_are_explained_and_change_nothing(
    server: Server, team: Team, slack: SlackDouble, db: Database, text: str, fragment: str
) -> None:
    user = team.user("bob")
    assert fragment in await ally(server, team, slack, user, text)
    saved = await person(db, team.team_id, user)
    assert saved is None or (
        saved.tips_cadence == "weekly" and saved.paused_until is None and saved.quiet_start is None
    )


async def test_help_lists_the_commands(server: Server, team: Team, slack: SlackDouble) -> None:
    text = await ally(server, team, slack, team.user("cy"), "help")
    for command in ("/kudos", "/commit", "/ally tips", "/ally pause", "/ally quiet"):
        assert command in text


async def test_rating_a_tip_updates_the_message_in_place_once(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    user = team.user("dee", tz="Europe/London")
    await ally(server, team, slack, user, "tips daily")
    async with running_bot(database_url, slack) as bot:
        result = await run_pass(
            bot, now=at("2026-11-26 09:00", "Europe/London"), team_id=team.team_id
        )
    assert result.sent.sent == 1, (result, server.log()[-3000:])
    (dm,) = [c for c in slack.calls_to("chat.postMessage", channel=user) if c.ok]
    blocks = dm.args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    actions = next(b for b in blocks if b.get("block_id", "").startswith("tip:"))
    not_for_me = next(e for e in actions["elements"] if e["action_id"] == "tip_not_for_me")
    message = {
        "type": "message",
        "ts": payloads.fresh_ts(),
        "text": dm.args["text"],
        "blocks": blocks,
    }
    press = payloads.block_actions(
        user_id=user,
        team_id=team.team_id,
        action_id="tip_not_for_me",
        value=not_for_me["value"],
        block_id=actions["block_id"],
        channel_id="D0TIPS",
        message_ts=message["ts"],
        message=message,
        response_url=slack.response_url("rating"),
    )
    assert (await server.post(press))[0] == 200
    assert (await server.post(press))[0] == 200, "a double click"
    update = (
        await slack.wait_for("chat.update", where=lambda c: c.args.get("ts") == message["ts"])
    )[0]
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    await slack.assert_no_call(
        "chat.update",
        within=0,
        where=lambda c: c is not update and c.args.get("ts") == message["ts"],
    )
    updated = update.args["blocks"]
    updated = json.loads(updated) if isinstance(updated, str) else updated
    assert "fewer tips like this" in json.dumps(updated)
    assert not any(b.get("block_id") == actions["block_id"] for b in updated)
    async with db.session() as session:
        shown = (
            await session.execute(select(TipShown).where(TipShown.team_id == team.team_id))
        ).scalar_one()
    assert shown.rating == "not_for_me"


async def test_someone_else_cannot_rate_your_tip(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    owner, other = team.user("eve", tz="Europe/London"), team.user("fay")
    await ally(server, team, slack, owner, "tips daily")
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=at("2026-11-26 09:00", "Europe/London"), team_id=team.team_id)
    async with db.session() as session:
        shown = (
            await session.execute(select(TipShown).where(TipShown.team_id == team.team_id))
        ).scalar_one()
    press = payloads.block_actions(
        user_id=other,
        team_id=team.team_id,
        action_id="tip_helpful",
        value=str(shown.id),
        block_id=f"tip:{shown.id}",
        channel_id="D0TIPS",
        message_ts=payloads.fresh_ts(),
        response_url=slack.response_url("stranger"),
    )
    assert (await server.post(press))[0] == 200
    reply = (await slack.wait_for("response_url", _key="stranger"))[0]
    assert "someone else" in reply.args["text"]
    async with db.session() as session:
        assert (await session.get(TipShown, shown.id)).rating is None  # type: ignore[union-attr]
