"""Newcomers end to end: `team_join` into `allybot serve`, volunteer welcomers from
`/ally intros welcome on`, the welcome, the heads-ups and the first intro from scheduler
passes at simulated instants, as Slack and the double see them."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.db import Database
from bot.models import IntroMatchMember, IntroMember, Newcomer, Workspace
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, running_bot, set_intros, settled
from tests.slack_double import SlackDouble, group_dm_id
from tests.test_commitments_e2e import blocks_of, dms
from tests.test_erasure_e2e import forget
from tests.test_intros_e2e import BOT_USER, intros_cmd
from tests.test_privacy_e2e import export_of

TOKYO, LONDON = "Asia/Tokyo", "Europe/London"


async def newcomer(db: Database, team_id: str, user_id: str) -> Newcomer | None:
    async with db.session() as session:
        return await session.get(Newcomer, (team_id, user_id))


async def join(server: Server, team: Team, slack: SlackDouble, user: str) -> None:
    event = payloads.team_join_event(slack.user(user))
    body = payloads.event_callback(event, team_id=team.team_id)
    for retry in (None, 1):  # Slack's retry of the same delivery is the same join
        assert (await server.post(body, retry_num=retry))[0] == 200


async def wait_newcomer(db: Database, team_id: str, user_id: str) -> Newcomer:
    for _ in range(200):
        row = await newcomer(db, team_id, user_id)
        if row is not None:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError("the newcomer was never recorded")


async def test_a_newcomer_is_welcomed_and_introduced_to_volunteers(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    cy, dee, eve, fay = (team.user(n, tz=LONDON) for n in ("cy", "dee", "eve", "fay"))
    for who in (cy, dee, eve, fay):
        assert "Thank you" in await intros_cmd(server, team, slack, who, "welcome on")
    assert "won't be asked" in await intros_cmd(server, team, slack, fay, "welcome off")
    assert "welcome on" in await intros_cmd(server, team, slack, fay, "welcome maybe")

    new = team.user("new", tz=TOKYO)
    await join(server, team, slack, new)
    row = await wait_newcomer(db, team.team_id, new)
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    assert row.match_id is not None
    async with db.session() as session:
        members = set(
            (
                await session.execute(
                    select(IntroMatchMember.user_id).where(
                        IntroMatchMember.match_id == row.match_id
                    )
                )
            ).scalars()
        )
    assert members == {new, cy, dee, eve}, "three volunteers, never one who stepped back"
    # The first working morning in Tokyo, at the window's start (09:00).
    local = row.welcome_at.astimezone(ZoneInfo(TOKYO))
    assert row.welcome_at > row.joined_at and (local.hour, local.minute) == (9, 0)
    assert local.weekday() < 5

    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=row.welcome_at - timedelta(minutes=30), team_id=team.team_id)
        assert dms(slack, new, "I'm allybot") == []
        await run_pass(bot, now=row.welcome_at + timedelta(minutes=5), team_id=team.team_id)
        await run_pass(bot, now=row.welcome_at + timedelta(hours=2), team_id=team.team_id)
    (welcome,) = dms(slack, new, "I'm allybot")
    text = json.dumps(blocks_of(welcome))
    assert text.count("\\n") == 2, "three lines"
    group = group_dm_id([new, cy, dee, eve, BOT_USER])
    (intro,) = [
        c
        for c in slack.calls_to("chat.postMessage", channel=group)
        if c.ok and "Welcome" in json.dumps(blocks_of(c))
    ]
    assert f"<@{new}>" in json.dumps(blocks_of(intro))

    # Each welcomer hears privately, once, on their own working morning in London.
    london_morning = row.joined_at + timedelta(days=1)
    async with running_bot(database_url, slack) as bot:
        for days in range(0, 4):
            when = at(f"{(london_morning + timedelta(days=days)).date()} 09:30", LONDON)
            await run_pass(bot, now=when, team_id=team.team_id)
    for who in (cy, dee, eve):
        assert len(dms(slack, who, "is new here")) == 1
    assert dms(slack, fay, "is new here") == []

    # A week later, the usual "Did you meet?" in the same group DM.
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=row.welcome_at + timedelta(days=7, minutes=5), team_id=team.team_id)
    posts = [c for c in slack.calls_to("chat.postMessage", channel=group) if c.ok]
    assert len(posts) == 2 and "intro_met_yes" in json.dumps(blocks_of(posts[1]))

    _, data = await export_of(server, team, slack, new)
    assert data["newcomer"][0]["match_id"] == row.match_id
    _, data = await export_of(server, team, slack, cy)
    assert data["intros"][0]["welcomer"] is True


async def test_admins_can_turn_welcomes_off(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
        await session.execute(
            update(Workspace)
            .where(Workspace.team_id == team.team_id)
            .values(welcome_newcomers=False)
        )
    new = team.user("new", tz=TOKYO)
    await join(server, team, slack, new)
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    assert await newcomer(db, team.team_id, new) is None


async def test_welcome_without_volunteers_is_the_dm_alone(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    new = team.user("new", tz=LONDON)
    await join(server, team, slack, new)
    row = await wait_newcomer(db, team.team_id, new)
    assert row.match_id is None


async def test_a_newcomer_who_erased_their_data_is_not_welcomed(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    """Erasing before the welcome: nothing is posted, and no volunteer is welcomed in their
    place. A welcomer who erased is simply left out of a welcome that still goes out."""
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    cy, dee, eve = (team.user(n, tz=LONDON) for n in ("cy", "dee", "eve"))
    for who in (cy, dee, eve):
        await intros_cmd(server, team, slack, who, "welcome on")
    new, other = team.user("new", tz=TOKYO), team.user("other", tz=TOKYO)
    await join(server, team, slack, new)
    first = await wait_newcomer(db, team.team_id, new)
    await join(server, team, slack, other)
    second = await wait_newcomer(db, team.team_id, other)
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    await forget(server, team, slack, db, cy)
    await forget(server, team, slack, db, new)
    before = len(slack.calls)
    async with running_bot(database_url, slack) as bot:
        for row in (first, second):
            await run_pass(bot, now=row.welcome_at + timedelta(minutes=5), team_id=team.team_id)
        for d in range(4):
            when = first.welcome_at + timedelta(days=d, hours=8)
            await run_pass(bot, now=when, team_id=team.team_id)
    welcomes = [
        c
        for c in slack.calls[before:]
        if c.method == "chat.postMessage" and c.ok and "! Meet" in str(c.args.get("text"))
    ]
    assert [str(c.args["text"]).split("!")[0] for c in welcomes] == [f"Welcome <@{other}>"]
    shown = json.dumps([c.args for c in slack.calls[before:]], default=str)
    assert new not in shown and cy not in shown


async def settings_modal(server: Server, team: Team, slack: SlackDouble, user: str) -> dict:
    before = len(slack.calls_to("views.open"))
    body, __ = team.command("/ally", "settings", user_id=user)
    assert (await server.post(body))[0] == 200
    opened = await slack.wait_for("views.open", count=before + 1)
    view = opened[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


async def is_welcomer(db: Database, team_id: str, user_id: str) -> bool:
    async with db.session() as session:
        found = await session.get(IntroMember, (team_id, user_id))
        return bool(found is not None and found.welcomer)


async def test_the_settings_modal_volunteers_to_welcome_newcomers(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """Where intros are set up, the settings modal has the welcomer checkbox, showing and
    saving what `/ally intros welcome on|off` does; elsewhere it isn't there."""
    ann = team.user("ann", tz=LONDON)
    blocks = (await settings_modal(server, team, slack, ann))["blocks"]
    assert "welcomer" not in {b.get("block_id") for b in blocks}, "no intros channel yet"

    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    await intros_cmd(server, team, slack, ann, "welcome on")
    view = await settings_modal(server, team, slack, ann)
    (box,) = [b for b in view["blocks"] if b.get("block_id") == "welcomer"]
    assert box["element"]["initial_options"][0]["value"] == "welcomer"

    def submit(welcomer: bool) -> str:
        state = {
            "tips": {"tips": {"type": "static_select", "selected_option": {"value": "weekly"}}},
            "window_start": {"window_start": {"type": "timepicker", "selected_time": "09:00"}},
            "window_end": {"window_end": {"type": "timepicker", "selected_time": "17:00"}},
            "welcomer": {
                "welcomer": {
                    "type": "checkboxes",
                    "selected_options": [{"value": "welcomer"}] if welcomer else [],
                }
            },
        }
        return payloads.view_submission(
            user_id=ann, team_id=team.team_id, callback_id="settings_modal", state_values=state
        )

    for welcomer in (False, True, False):
        status, text = await server.post(submit(welcomer))
        assert status == 200 and text == ""

        async def saved(expected: bool = welcomer) -> bool:
            return await is_welcomer(db, team.team_id, ann) == expected

        for __ in range(100):
            if await saved():
                break
            await asyncio.sleep(0.05)
        assert await saved(), welcomer
