"""Intros that fit real teams, end to end: a scheduler pass at a simulated instant matches a
round from the Slack double's channel, and the group DM and notices are checked as sent."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.db import Database
from bot.fit_models import IntroProfile
from bot.models import Workspace
from bot.services import privacy, workspace_settings
from bot.services.intros import meeting as intro_meeting
from bot.services.intros import members as intro_members
from bot.services.intros import rules as intro_rules
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import new_id, running_bot, seed_people, set_intros
from tests.slack_double import SlackDouble
from tests.test_allies_e2e import wait_until
from tests.test_commitments_e2e import blocks_of, dms
from tests.test_home_e2e import open_home, view_of
from tests.test_intros_e2e import BOT_USER, group_posts, groups_of, intros_cmd, pass_at
from tests.test_privacy_e2e import export_of

MONDAY = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


async def _round(
    db: Database,
    database_url: str,
    slack: SlackDouble,
    zones: list[str],
    *,
    allow_without_overlap: bool = False,
    group_size: int = 2,
    settings: dict[str, Any] | None = None,
    prepare: Callable[[str, list[str]], Awaitable[None]] | None = None,
) -> tuple[str, list[str]]:
    team, channel = new_id("T"), new_id("C")
    people = await seed_people(db, slack, team_id=team, people=[{"tz": z} for z in zones])
    slack.set_members(channel, [*people, BOT_USER])
    if prepare is not None:
        await prepare(team, people)
    async with db.session() as session:
        await set_intros(session, team_id=team, channel_id=channel, cadence_weeks=1)
        await workspace_settings.apply(
            session,
            team_id=team,
            settings=workspace_settings.validate(
                {
                    "intros_without_overlap": "on" if allow_without_overlap else "off",
                    "intros_group_size": group_size,
                    **(settings or {}),
                }
            ),
            changed_by="test",
            now=MONDAY,
        )
        for person in people:
            await intro_members.join(
                session, team_id=team, user_id=person, now=MONDAY - timedelta(days=1)
            )
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=MONDAY, team_id=team)
    return team, people


async def test_no_intro_across_hours_that_never_meet(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    team, (ann, bob, tom) = await _round(
        db, database_url, slack, ["Europe/London", "Europe/London", "Asia/Tokyo"]
    )
    (round_one,) = (await groups_of(db, team)).values()
    assert [members for _, members in round_one] == [{ann, bob}]
    intro = group_posts(slack, {ann, bob}, "Meet each other")
    assert len(intro) == 1
    text = json.dumps(blocks_of(intro[0]))
    assert "Times you all work" in text
    # Three slots on three working days, each a Slack date token with a fallback, and each
    # member's own local time beside it.
    stamps = [int(s) for s in re.findall(r"<!date\^(\d+)\^", text)]
    assert len(stamps) == 3
    days = {datetime.fromtimestamp(s, UTC).date() for s in stamps}
    assert len(days) == 3 and all(d.weekday() < 5 for d in days)
    for stamp in stamps:
        moment = datetime.fromtimestamp(stamp, UTC)
        assert moment >= MONDAY + timedelta(hours=12)
        assert 9 <= moment.hour < 17  # London is on UTC in winter: inside 09:00-17:00
    assert f"<@{ann}> " in text and "UTC>" in text
    # Tokyo's working morning: the notice in tom's daily message says why.
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=MONDAY + timedelta(hours=15), team_id=team)
    told = dms(slack, tom, "works hours that overlap yours")
    assert len(told) == 1
    assert not dms(slack, tom, "nobody left in the pool")


async def test_groups_without_overlap_when_the_workspace_allows_it(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    team, people = await _round(
        db,
        database_url,
        slack,
        ["Europe/London", "Europe/London", "Asia/Tokyo"],
        allow_without_overlap=True,
    )
    (round_one,) = (await groups_of(db, team)).values()
    assert [members for _, members in round_one] == [set(people)]
    (intro,) = group_posts(slack, set(people), "Meet each other")
    text = json.dumps(blocks_of(intro))
    assert "don't overlap" in text and "<!date^" not in text


async def test_groups_of_three_across_zones_meet_in_shared_hours(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    zones = ["Europe/London", "America/New_York", "Asia/Tokyo", "Asia/Tokyo", "Asia/Tokyo"]
    zones += ["Europe/Berlin"]
    team, people = await _round(db, database_url, slack, zones, group_size=3)
    (round_one,) = (await groups_of(db, team)).values()
    by_zone = dict(zip(people, zones, strict=True))
    groups = sorted(sorted(by_zone[p] for p in members) for _, members in round_one)
    assert groups == [
        ["America/New_York", "Europe/Berlin", "Europe/London"],
        ["Asia/Tokyo", "Asia/Tokyo", "Asia/Tokyo"],
    ]
    for _, members in round_one:
        (intro,) = group_posts(slack, members, "Meet each other")
        assert "<!date^" in json.dumps(blocks_of(intro))


def _together(round_groups: list[tuple[int, set[str]]], a: str, b: str) -> bool:
    return any({a, b} <= members for _, members in round_groups)


async def test_teammates_by_profile_field_are_kept_apart(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    """The admins name the field by its label; allybot finds its id (team.profile.get),
    reads each person's value (users.profile.get), keeps it, and pairs across teams."""
    slack.set_profile_fields({"Xf0TEAM001": "Team", "Xf0OFFICE1": "Office"})

    async def teams(team: str, people: list[str]) -> None:
        for person, name in zip(people, ["Payments", "payments ", "Search", "Search"], strict=True):
            slack.set_profile_values(person, {"Xf0TEAM001": name, "Xf0OFFICE1": "Leeds"})

    for _ in range(3):  # three workspaces, three seeds: never a pair of teammates
        team, (ann, bob, cy, dee) = await _round(
            db,
            database_url,
            slack,
            ["Europe/London"] * 4,
            settings={"intros_team_field": "team"},
            prepare=teams,
        )
        (round_one,) = (await groups_of(db, team)).values()
        assert len(round_one) == 2
        assert not _together(round_one, ann, bob) and not _together(round_one, cy, dee)
    assert {c.args["user"] for c in slack.calls_to("users.profile.get")} >= {ann, bob, cy, dee}
    async with db.session() as session:
        data = await privacy.export(session, team_id=team, user_id=ann, now=MONDAY)
        assert data["intro_profile"] == [
            {"team_value": "Payments", "location_value": None, "read_at": MONDAY.isoformat()}
        ]
        await privacy.erase(session, team_id=team, user_id=ann)
    async with db.session() as session:
        assert await session.get(IntroProfile, (team, ann)) is None


async def test_people_who_share_many_channels_are_kept_apart(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    """Only channel membership is read (users.conversations, conversations.members): never
    a message."""
    shared = [new_id("C"), new_id("C")]
    everyone, elsewhere = new_id("C"), new_id("C")

    async def channels(team: str, people: list[str]) -> None:
        ann, bob, cy, _dee = people
        for channel in shared:
            slack.set_members(channel, [ann, bob, BOT_USER])
        slack.set_members(everyone, [*people, BOT_USER])
        slack.set_members(elsewhere, [ann, cy])  # allybot isn't in it: not looked at

    team, (ann, bob, _cy, _dee) = await _round(
        db,
        database_url,
        slack,
        ["Europe/London"] * 4,
        settings={"intros_shared_channels": 2},
        prepare=channels,
    )
    (round_one,) = (await groups_of(db, team)).values()
    assert not _together(round_one, ann, bob)
    assert slack.calls_to("users.conversations")
    # The double serves every test of this process: only this test's channels count.
    mine = {*shared, everyone, elsewhere}
    assert not [c for c in slack.calls_to("conversations.history") if c.args.get("channel") in mine]


async def test_shared_channels_are_not_read_unless_asked(
    db: Database, database_url: str, slack: SlackDouble
) -> None:
    slack.clear_calls()
    await _round(db, database_url, slack, ["Europe/London"] * 2)
    assert not slack.calls_to("users.conversations")
    assert not slack.calls_to("team.profile.get") and not slack.calls_to("users.profile.get")


async def test_in_person_groups_meet_at_one_place(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    """Two people meet in person at the London office (one by command, one by Home's
    modal); the other two remote: the in-person pair is grouped and told where."""
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    ann, bob, cy, dee = (team.user(n, tz="Europe/London") for n in ["ann", "bob", "cy", "dee"])
    slack.set_members(team.channel_id, [ann, bob, cy, dee, BOT_USER])
    for person in (ann, bob, cy, dee):
        await intros_cmd(server, team, slack, person, "join")
    reply = await intros_cmd(server, team, slack, ann, "in person london  OFFICE")
    assert "You meet in person at london OFFICE" in reply
    refused = await intros_cmd(server, team, slack, cy, "in-person <https://x.example|office>")
    assert "can't be a place" in refused

    opened = len(slack.calls_to("views.open"))
    press = payloads.block_actions(
        user_id=bob,
        team_id=team.team_id,
        action_id="intro_home_meet",
        value="edit",
        block_id="home_intros",
        view={"id": "V1", "type": "home"},
    )
    assert (await server.post(press))[0] == 200
    modal = view_of((await slack.wait_for("views.open", count=opened + 1))[-1])
    assert modal["callback_id"] == "intro_meet_modal"

    def submit(mode: str, place: str) -> str:
        state = {
            "mode": {"mode": {"type": "radio_buttons", "selected_option": {"value": mode}}},
            "place": {"place": {"type": "plain_text_input", "value": place}},
        }
        return payloads.view_submission(
            user_id=bob, team_id=team.team_id, callback_id="intro_meet_modal", state_values=state
        )

    status, text = await server.post(submit("in_person", ""))
    assert status == 200 and "Name your place" in json.loads(text)["errors"]["place"]
    status, text = await server.post(submit("in_person", "<!channel>"))
    assert status == 200 and "can't be a place" in json.loads(text)["errors"]["place"]
    status, text = await server.post(submit("in_person", "London Office"))
    assert status == 200 and text == ""

    async def bob_in_person() -> bool:
        async with db.session() as session:
            meets = await intro_meeting.meeting_of(session, team_id=team.team_id, user_id=bob)
            return meets.mode == intro_meeting.IN_PERSON and meets.place == "London Office"

    await wait_until(bob_in_person)
    home = await open_home(server, team, slack, bob)
    assert "You meet in person at London Office" in json.dumps(home)

    async with db.session() as session:
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None
        day = intro_rules.next_round_day(workspace, datetime.now(UTC) + timedelta(days=1))
    when = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9, minutes=30)
    await pass_at(database_url, slack, team, when)
    (round_one,) = (await groups_of(db, team.team_id)).values()
    assert _together(round_one, ann, bob)
    (intro,) = group_posts(slack, {ann, bob}, "Meet each other")
    assert "meet in person at *london office*" in json.dumps(blocks_of(intro)).lower()
    (other,) = group_posts(slack, {cy, dee}, "Meet each other")
    assert "in person" not in json.dumps(blocks_of(other))

    data = await export_of(server, team, slack, ann)
    assert data[1]["intros"][0]["meet_mode"] == "in_person"
    assert data[1]["intros"][0]["location"] == "london OFFICE"


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"intros_shared_channels": 1}, "intros_shared_channels", "2 or more"),
        ({"intros_shared_channels": "many"}, "intros_shared_channels", "whole number"),
        ({"intros_team_field": "<!channel>"}, "intros_team_field", "can't name a profile"),
        ({"intros_without_overlap": "sometimes"}, "intros_without_overlap", "`on`"),
    ],
)
def test_fit_settings_refuse_what_they_cannot_use(
    values: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        workspace_settings.validate(values)
    assert words in workspace_settings.field_errors(raised.value)[field]
