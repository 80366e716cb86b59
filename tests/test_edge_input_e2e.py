"""Input normalised once, at the edge: control characters (NUL above all, which PostgreSQL
cannot store) in any command or message are taken out before anything is recorded, the same
on both databases; errors quote at most a short excerpt of what was typed."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from sqlalchemy import select

from bot.db import Database
from bot.models import CheckIn, Commitment, Inbound, Kudos
from tests import payloads
from tests.conftest import Server, Team
from tests.slack_double import SlackDouble

CONTROL = st.sampled_from(["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x9f", "\r"])


def _clean(value: str) -> bool:
    return not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in value)


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


async def _all_done(db: Database, team_id: str, count: int) -> list[Inbound]:
    """The workspace's deliveries once all `count` of them are finished."""
    for _ in range(200):
        async with db.session() as session:
            stmt = select(Inbound).where(Inbound.team_id == team_id)
            rows = list((await session.execute(stmt)).scalars())
        if len(rows) >= count and all(r.status != "pending" for r in rows):
            return rows
        await asyncio.sleep(0.05)
    return rows


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(controls=st.lists(CONTROL, min_size=1, max_size=4))
async def test_control_characters_are_taken_out_once_at_the_edge(
    server: Server, slack: SlackDouble, db: Database, controls: list[str]
) -> None:
    team = Team(slack=slack)
    giver, ann = team.user("giver"), team.user("ann")
    c = "".join(controls)
    body, key = team.command("/kudos", f"<@{ann}> great{c} demo", user_id=giver)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=ann)
    body, key = team.command("/commit", f"send{c} the deck to <@{ann}>", user_id=giver)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("response_url", _key=key)
    body, key = team.command("/ally", f"met <@{ann}> lunch{c} chat", user_id=giver)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("response_url", _key=key)
    event = payloads.message_event(
        channel=team.channel_id,
        user=ann,
        text=f"kudos <@{giver}> for{c} the fix",
        team=team.team_id,
    )
    body = payloads.event_callback(event, team_id=team.team_id, event_id=payloads.fresh_event_id())
    assert (await server.post(body))[0] == 200
    await slack.wait_for("reactions.add", timestamp=event["ts"])

    rows = await _all_done(db, team.team_id, 4)
    assert len(rows) == 4 and all(r.status == "done" for r in rows)
    assert all(_clean(value) for r in rows for value in _strings(r.payload))
    async with db.session() as session:
        kudos = list(
            (await session.execute(select(Kudos).where(Kudos.team_id == team.team_id))).scalars()
        )
        commitment = (
            await session.execute(select(Commitment).where(Commitment.team_id == team.team_id))
        ).scalar_one()
        check_in = (
            await session.execute(select(CheckIn).where(CheckIn.team_id == team.team_id))
        ).scalar_one()
    assert sorted(k.text for k in kudos) == ["great demo", f"kudos <@{giver}> for the fix"]
    assert commitment.text == "send the deck"
    assert " ".join((check_in.note or "").split()) == "lunch chat"


HUGE = "9" * 3500


@pytest.mark.parametrize(
    "text",
    [
        f"quiet {HUGE}",
        f"quiet 18:00-{HUGE}",
        f"pause {HUGE}",
        f"intros pause {HUGE}",
        "add <@{ann}> every " + HUGE,
        "add <@{ann}> every " + "<!channel> " * 400,
        "x" * 3500,
        f"intros {HUGE}",
    ],
)
async def test_errors_quote_a_short_excerpt_of_long_input(
    server: Server, team: Team, slack: SlackDouble, text: str
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    body, key = team.command("/ally", text.replace("{ann}", ann), user_id=giver)
    assert (await server.post(body))[0] == 200
    (reply,) = await slack.wait_for("response_url", _key=key)
    said = str(reply.args["text"])
    assert len(said) < 3000 and "<!channel>" not in said
    assert "9" * 41 not in said and "x" * 41 not in said  # an excerpt, never the input
    for block in reply.args.get("blocks") or []:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()


async def test_a_long_commit_list_fits_one_reply(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    """Twelve promises of 900 characters each: the list stays within Slack's limits, one
    section per promise."""
    giver = team.user("giver")
    for n in range(12):
        body, key = team.command("/commit", f"promise {n} " + "word " * 180, user_id=giver)
        assert (await server.post(body))[0] == 200
        await slack.wait_for("response_url", _key=key)
    body, key = team.command("/commit", "list", user_id=giver)
    assert (await server.post(body))[0] == 200
    (reply,) = await slack.wait_for("response_url", _key=key)
    for block in reply.args.get("blocks") or []:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    sections = [b["text"]["text"] for b in reply.args["blocks"] if b["type"] == "section"]
    assert [t.split(".")[0] for t in sections if "promise" in t] == [str(n) for n in range(1, 13)]
    assert all(len(t) <= 3000 for t in sections), "one section per promise, each cut"
