"""`/kudos` end to end: signed requests into a real `allybot serve`, Slack played by the double."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.models import Inbound, Kudos, Person
from tests.conftest import Server, Team
from tests.helpers import settled
from tests.slack_double import SlackDouble


async def kudos_rows(db: Database, team_id: str) -> list[Kudos]:
    async with db.session() as session:
        stmt = select(Kudos).where(Kudos.team_id == team_id).order_by(Kudos.id)
        return list((await session.execute(stmt)).scalars())


def block_text(call_args: dict[str, Any]) -> str:
    blocks = call_args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return json.dumps(blocks or []) + str(call_args.get("text", ""))


def ok_posts(slack: SlackDouble, channel: str) -> list[Any]:
    return [
        c
        for c in slack.calls_to("chat.postMessage", channel=channel)
        if c.status == 200 and c.error is None
    ]


async def test_kudos_is_posted_logged_and_dmed(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    body, _ = team.command("/kudos", f"<@{ann}|ann> great demo #teamwork", user_id=giver)
    started = time.monotonic()
    status, text = await server.post(body)
    assert status == 200 and text == ""
    post = (await slack.wait_for("chat.postMessage", channel=team.channel_id))[0]
    dm = (await slack.wait_for("chat.postMessage", channel=ann))[0]
    assert time.monotonic() - started < 5
    assert "great demo" in block_text(post.args) and f"<@{giver}>" in block_text(post.args)
    assert "#teamwork" in block_text(post.args)
    assert post.args.get("text"), "a text fallback goes with the blocks"
    assert "great demo" in block_text(dm.args) and "Say thanks" in block_text(dm.args)
    rows = await kudos_rows(db, team.team_id)
    assert [(r.giver_id, r.receiver_id, r.text, r.tags) for r in rows] == [
        (giver, ann, "great demo", ["teamwork"])
    ]
    for _ in range(100):  # the post and the DM are recorded with the delivery's outcome
        if (await kudos_rows(db, team.team_id))[0].notified_at is not None:
            break
        await asyncio.sleep(0.05)
    row = (await kudos_rows(db, team.team_id))[0]
    assert row.notified_at is not None and row.post_ts is not None


async def test_kudos_to_several_people_is_one_post_and_a_dm_each(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann, bob = team.user("giver"), team.user("ann"), team.user("bob")
    body, _ = team.command(
        "/kudos", f"<@{ann}> <@{bob}|bob> ran a calm incident review", user_id=giver
    )
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=ann)
    await slack.wait_for("chat.postMessage", channel=bob)
    assert len(ok_posts(slack, team.channel_id)) == 1
    assert {r.receiver_id for r in await kudos_rows(db, team.team_id)} == {ann, bob}


BAD_INPUTS = [
    ("empty", "{none}", "Who is it for"),
    ("self", "<@{giver}> for being me", "yourself"),
    ("bot", "<@{bot}> thanks", "is a bot"),
    ("deleted", "<@{gone}> thanks for everything", "no longer in this workspace"),
    ("unknown user", "<@UNOBODY123> thanks", "couldn't find"),
    ("plain name", "@nobody thanks", "couldn't find"),
    ("no reason", "<@{ann}> #teamwork", "Say why"),
    (
        "too many",
        " ".join("<@{ann}>" if i == 0 else f"<@U{i:09d}>" for i in range(11)) + " thanks",
        "at most 10",
    ),
    ("too long", "<@{ann}> " + "a" * 4000, "characters"),
    ("unknown tag", "<@{ann}> thanks #teamwrok", "#teamwrok"),
]


@pytest.mark.parametrize(
    ("case", "template", "fragment"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
async def test_bad_input_gets_a_private_reply_and_changes_nothing(
    server: Server,
    team: Team,
    slack: SlackDouble,
    db: Database,
    case: str,
    template: str,
    fragment: str,
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    bot = team.user("deploybot", is_bot=True)
    gone = team.user("gone", deleted=True)
    text = template.format(giver=giver, ann=ann, bot=bot, gone=gone, none="")
    body, key = team.command("/kudos", text, user_id=giver)
    assert (await server.post(body))[0] == 200
    reply = (await slack.wait_for("response_url", _key=key))[0]
    assert fragment in reply.args["text"]
    assert reply.args.get("response_type") == "ephemeral"
    assert ok_posts(slack, team.channel_id) == []
    assert slack.calls_to("chat.postMessage", channel=ann) == []
    assert await kudos_rows(db, team.team_id) == []


@pytest.mark.parametrize(
    "headers",
    ["unsigned", "wrong secret", "six minutes old"],
)
async def test_unverified_requests_are_refused(
    server: Server, team: Team, slack: SlackDouble, headers: str
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    body, key = team.command("/kudos", f"<@{ann}> thanks for the help", user_id=giver)
    if headers == "unsigned":
        async with server.http.post(
            f"{server.url}/slack/events",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as resp:
            status = resp.status
    elif headers == "wrong secret":
        status, _ = await server.post(body, secret="not-the-secret")
    else:
        status, _ = await server.post(body, timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    await slack.assert_no_call("users.info", within=0.5, user=giver)
    assert slack.calls_to("chat.postMessage", channel=ann) == []
    assert slack.calls_to("response_url", _key=key) == []


async def test_rate_limited_post_still_arrives_once(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    body, _ = team.command("/kudos", f"<@{ann}> unblocked the release", user_id=giver)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=ann, timeout=10)
    calls = slack.calls_to("chat.postMessage", channel=team.channel_id)
    assert [c.status for c in calls] == [429, 200]
    assert len(await kudos_rows(db, team.team_id)) == 1


async def test_slack_retry_of_the_same_command_logs_one_kudos(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    body, _ = team.command("/kudos", f"<@{ann}> wrote the runbook", user_id=giver)
    assert (await server.post(body))[0] == 200
    assert (await server.post(body, retry_num=1))[0] == 200
    assert (await server.post(body, retry_num=2))[0] == 200
    await slack.wait_for("chat.postMessage", channel=ann)
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    await slack.assert_no_call("chat.postMessage", within=0, channel=ann, where=lambda c: False)
    assert len(ok_posts(slack, team.channel_id)) == 1
    assert len(slack.calls_to("chat.postMessage", channel=ann)) == 1
    assert len(await kudos_rows(db, team.team_id)) == 1


async def test_not_in_channel_falls_back_to_response_url(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    slack.set_not_in_channel(team.channel_id)
    body, key = team.command("/kudos", f"<@{ann}> thanks for covering on-call", user_id=giver)
    assert (await server.post(body))[0] == 200
    reply = (await slack.wait_for("response_url", _key=key))[0]
    assert reply.args["response_type"] == "in_channel"
    assert "covering on-call" in block_text(reply.args)
    await slack.wait_for("chat.postMessage", channel=ann)
    assert len(await kudos_rows(db, team.team_id)) == 1


async def test_kudos_in_a_dm_is_posted_back_into_the_dm(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    body, key = team.command(
        "/kudos",
        f"<@{ann}> thanks for the mentoring #mentoring",
        user_id=giver,
        channel_id="D0DIRECT1",
    )
    assert (await server.post(body))[0] == 200
    reply = (await slack.wait_for("response_url", _key=key))[0]
    assert reply.args["response_type"] == "in_channel"
    await slack.wait_for("chat.postMessage", channel=ann)
    assert slack.calls_to("chat.postMessage", channel="D0DIRECT1") == []


async def test_daily_limit_is_explained_and_changes_nothing(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver = team.user("giver")
    receivers = [team.user(f"r{i}") for i in range(6)]
    for receiver in receivers[:5]:
        body, _ = team.command("/kudos", f"<@{receiver}> thanks for the review", user_id=giver)
        assert (await server.post(body))[0] == 200
        await slack.wait_for("chat.postMessage", channel=receiver)
    body, key = team.command("/kudos", f"<@{receivers[5]}> thanks for the review", user_id=giver)
    assert (await server.post(body))[0] == 200
    reply = (await slack.wait_for("response_url", _key=key))[0]
    assert "5 kudos a day" in reply.args["text"] and "midnight your time" in reply.args["text"]
    assert slack.calls_to("chat.postMessage", channel=receivers[5]) == []
    assert len(await kudos_rows(db, team.team_id)) == 5


async def test_kudos_help(server: Server, team: Team, slack: SlackDouble) -> None:
    body, key = team.command("/kudos", "help", user_id=team.user("giver"))
    assert (await server.post(body))[0] == 200
    reply = (await slack.wait_for("response_url", _key=key))[0]
    assert "/kudos @ann" in reply.args["text"] and "#teamwork" in reply.args["text"]


async def test_healthz_and_metrics(server: Server, team: Team, slack: SlackDouble) -> None:
    status, text = await server.get("/healthz")
    assert status == 200
    health = json.loads(text)
    assert health["status"] == "ok" and health["schema"] == "head"
    # A kudos between two people allybot has not met: their profiles come from users.info.
    giver, ann = team.user("giver"), team.user("ann")
    body, _ = team.command("/kudos", f"<@{ann}> kept the release calm", user_id=giver)
    await server.post(body)
    await slack.wait_for("chat.postMessage", channel=ann)
    status, text = await server.get("/metrics")
    assert status == 200
    assert 'allybot_requests_total{kind="command",outcome="ok"}' in text
    assert "allybot_request_seconds_bucket" in text
    assert 'allybot_slack_api_calls_total{method="users.info"}' in text


async def test_a_delivery_left_by_a_dead_process_is_finished_by_the_next_pass(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    """Recorded and acked, then the process died: the next pass (`allybot tick`), or the
    live server watching for dead processes' work, finishes it, once."""
    import asyncio
    import sys
    from datetime import UTC, datetime, timedelta
    from urllib.parse import parse_qsl

    from bot.services import inbound
    from tests.conftest import ROOT, server_env

    giver, ann = team.user("giver"), team.user("ann")
    body, _ = team.command("/kudos", f"<@{ann}> stayed late to help", user_id=giver)
    payload = dict(parse_qsl(body))
    past = datetime.now(UTC) - timedelta(minutes=5)
    async with db.session() as session:
        await inbound.record(
            session,
            team_id=team.team_id,
            key=f"command:/kudos:{payload['trigger_id']}",
            kind="kudos_command",
            payload=payload,
            now=past,
        )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "allybot.cli",
        "tick",
        cwd=ROOT,
        env=server_env(database_url, slack.url),
    )
    assert await asyncio.wait_for(process.wait(), 60) == 0
    await slack.wait_for("chat.postMessage", channel=ann)
    assert len(await kudos_rows(db, team.team_id)) == 1
    statuses: dict[str, int] = {}
    for _ in range(100):  # the running server may have taken it over first, and be finishing
        async with db.session() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(Inbound.status, func.count())
                        .where(Inbound.team_id == team.team_id)
                        .group_by(Inbound.status)
                    )
                ).all()  # type: ignore[arg-type]
            )
        if statuses == {"done": 1}:
            break
        await asyncio.sleep(0.05)
    assert statuses == {"done": 1}
    assert len([c for c in slack.calls_to("chat.postMessage", channel=ann) if c.ok]) == 1


async def test_a_reason_ending_in_an_entity_keeps_it_whole(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """Slack sends `>` as `&gt;`: the `;` that ends it is not trailing punctuation."""
    giver, ann = team.user("giver"), team.user("ann")
    body, _ = team.command("/kudos", f"<@{ann}|ann> for fixing the &lt;br&gt;", user_id=giver)
    assert (await server.post(body))[0] == 200
    post = (await slack.wait_for("chat.postMessage", channel=team.channel_id))[0]
    assert "for fixing the &lt;br&gt;" in block_text(post.args)
    assert [r.text for r in await kudos_rows(db, team.team_id)] == ["for fixing the &lt;br&gt;"]


async def test_a_kudos_saying_payload_is_posted(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """Bolt's own parse took any form with "payload" in it for an interaction and answered
    404: the command was lost, and Slack told the giver it failed."""
    giver, ann = team.user("giver"), team.user("ann")
    text = f"<@{ann}|ann> shipped the payload parser"
    body, _ = team.command("/kudos", text, user_id=giver, channel_name="payload-team")
    status, answer = await server.post(body)
    assert status == 200 and answer == ""
    post = (await slack.wait_for("chat.postMessage", channel=team.channel_id))[0]
    assert "shipped the payload parser" in block_text(post.args)
    await settled(db, team.team_id)
    assert [r.text for r in await kudos_rows(db, team.team_id)] == ["shipped the payload parser"]


async def test_a_kudos_between_people_whose_slack_names_hold_control_characters_is_given(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """A name as users.info gives it is kept as a reader sees it: PostgreSQL refuses a NUL,
    and a name longer than the column, so saving such a profile failed every retry of the
    delivery and the kudos was never given."""
    giver = team.user("gi\x00ver\x1b[31m")
    ann = team.user("ann\u202e\nthe\tsecond " + "a" * 300)
    body, _ = team.command("/kudos", f"<@{ann}|ann> calm release", user_id=giver)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=ann)
    await settled(db, team.team_id)
    assert [r.text for r in await kudos_rows(db, team.team_id)] == ["calm release"]
    async with db.session() as session:
        names = await session.execute(select(Person.name).where(Person.team_id == team.team_id))
        assert sorted(n for (n,) in names) == ["ann the second " + "a" * 185, "giver[31m"]


LINKS_WITH_AT_OR_HASH = [
    ("a profile link", "loved the write-up <https://medium.com/@ann/demo-notes>", ""),
    ("a package link", "for <https://www.npmjs.com/package/@slack/bolt|the bolt package>", ""),
    ("a link to a section", "the guide <https://example.com/docs/#setup> is clear", "teamwork"),
]


@pytest.mark.parametrize(
    ("case", "reason", "tag"), LINKS_WITH_AT_OR_HASH, ids=[c[0] for c in LINKS_WITH_AT_OR_HASH]
)
async def test_an_at_or_a_hash_inside_a_link_is_part_of_the_link(
    server: Server, team: Team, slack: SlackDouble, db: Database, case: str, reason: str, tag: str
) -> None:
    """`@name` and `#tag` are words of their own: inside a link Slack made (a profile at
    `/@ann`, a package `@scope/name`, a page's `#section`) they are the link's address."""
    giver, ann = team.user("giver"), team.user("ann")
    text = f"<@{ann}|ann> {reason}" + (f" #{tag}" if tag else "")
    body, key = team.command("/kudos", text, user_id=giver)
    assert (await server.post(body))[0] == 200
    (post,) = await slack.wait_for("chat.postMessage", channel=team.channel_id)
    assert slack.calls_to("response_url", _key=key) == []
    address = reason.partition("<")[2].partition(">")[0].partition("|")[0]
    assert f"<{address}>" in block_text(post.args), "the link reaches the post as typed"
    (row,) = await kudos_rows(db, team.team_id)
    assert row.tags == ([tag] if tag else [])
