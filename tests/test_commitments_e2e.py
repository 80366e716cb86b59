"""Commitments end to end: `/commit` into `allybot serve`, reminders from scheduler passes,
buttons pressed as Slack sends them, the Slack double answering."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.models import Commitment, Kudos
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, running_bot, settled
from tests.slack_double import Call, SlackDouble

TZ = "Europe/London"


def blocks_of(call: Call) -> list[dict[str, Any]]:
    blocks = call.args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def button(call: Call, action_id: str) -> dict[str, Any]:
    for block in blocks_of(call):
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id", "")}
    raise AssertionError(f"no {action_id} button in {blocks_of(call)}")


def working_day_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


async def commit(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> Call:
    body, key = team.command("/commit", text, user_id=user)
    assert (await server.post(body))[0] == 200
    return (await slack.wait_for("response_url", _key=key))[0]


async def press(
    server: Server,
    slack: SlackDouble,
    team: Team,
    user: str,
    on: Call,
    action_id: str,
    *,
    key: str | None = None,
) -> str:
    """Press a button of a message allybot sent (a DM) or an ephemeral reply."""
    found = button(on, action_id)
    reply_key = key or f"press-{payloads.fresh_ts()}"
    message = {
        "type": "message",
        "ts": payloads.fresh_ts(),
        "text": on.args.get("text", ""),
        "blocks": blocks_of(on),
    }
    body = payloads.block_actions(
        user_id=user,
        team_id=team.team_id,
        action_id=action_id,
        value=found["value"],
        block_id=found["block_id"],
        channel_id="D" + user[1:],
        message_ts=message["ts"],
        message=message,
        response_url=slack.response_url(reply_key),
    )
    assert (await server.post(body))[0] == 200
    return reply_key


async def tick(
    database_url: str, slack: SlackDouble, team: Team, day: date, clock: str = "09:05"
) -> None:
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=at(f"{day} {clock}", TZ), team_id=team.team_id)


def dms(slack: SlackDouble, user: str, containing: str = "") -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage", channel=user)
        if c.ok and containing in json.dumps(blocks_of(c)) + str(c.args.get("text"))
    ]


async def commitments_of(db: Database, team_id: str) -> list[Commitment]:
    async with db.session() as session:
        stmt = select(Commitment).where(Commitment.team_id == team_id).order_by(Commitment.id)
        return list((await session.execute(stmt)).scalars())


async def test_commit_confirm_remind_and_done(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob", tz="Asia/Tokyo")
    due = working_day_on_or_after(today() + timedelta(days=2))
    reply = await commit(server, team, slack, ann, f"send the deck to <@{bob}|bob> by {due}")
    assert reply.args["response_type"] == "ephemeral"
    assert (
        "send the deck" in reply.args["text"] and f"{due:%b} {due.day}, 17:00" in reply.args["text"]
    )
    (saved,) = await commitments_of(db, team.team_id)
    assert saved.shared_at is None and dms(slack, bob) == []

    await press(server, slack, team, ann, reply, "commit_confirm")
    told = (await slack.wait_for("chat.postMessage", channel=bob))[0]
    tokyo = datetime.combine(due, datetime.min.time().replace(hour=17), ZoneInfo(TZ)).astimezone(
        ZoneInfo("Asia/Tokyo")
    )
    # English dates as Babel writes them ("Mon, Dec 7, 17:00"), in the party's own zone.
    assert f"{tokyo:%a, %b} {tokyo.day}, {tokyo:%H:%M} your time" in json.dumps(blocks_of(told))
    button(told, "commit_got_it"), button(told, "commit_disputed")

    await tick(database_url, slack, team, due)
    assert len(dms(slack, ann, "Due today")) == 1
    await tick(database_url, slack, team, working_day_on_or_after(due + timedelta(days=1)))
    (overdue,) = dms(slack, ann, "Overdue")

    await press(server, slack, team, ann, overdue, "commit_done")
    await press(server, slack, team, ann, overdue, "commit_done")  # a double click
    delivered = (
        await slack.wait_for(
            "chat.postMessage", channel=bob, where=lambda c: "delivered" in str(c.args.get("text"))
        )
    )[0]
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    await slack.assert_no_call(
        "chat.postMessage",
        within=0,
        channel=bob,
        where=lambda c: c is not delivered and "delivered" in str(c.args.get("text")),
    )
    (saved,) = await commitments_of(db, team.team_id)
    assert saved.status == "done" and saved.kept_on_time is True  # pressed before the due time

    for offset in range(2, 10):  # no reminder ever again
        await tick(database_url, slack, team, due + timedelta(days=offset))
    assert len(dms(slack, ann, "Overdue")) == 1

    await press(server, slack, team, bob, delivered, "commit_give_kudos")
    kudos_dm = (
        await slack.wait_for(
            "chat.postMessage", channel=ann, where=lambda c: "kudos" in str(c.args.get("text"))
        )
    )[0]
    assert "kept their promise" in str(kudos_dm.args["text"])
    async with db.session() as session:
        rows = (
            (await session.execute(select(Kudos).where(Kudos.team_id == team.team_id)))
            .scalars()
            .all()
        )
    assert [(k.giver_id, k.receiver_id, k.tags) for k in rows] == [(bob, ann, ["reliable"])]


async def test_overdue_twice_then_never_again(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann = team.user("ann", tz=TZ)
    due = working_day_on_or_after(today() + timedelta(days=1))
    await commit(server, team, slack, ann, f"write the summary by {due}")
    days = [due + timedelta(days=i) for i in range(0, 15)]
    nudged: list[date] = []
    for day in days:
        before = len(dms(slack, ann, "write the summary"))
        await tick(database_url, slack, team, day)
        if len(dms(slack, ann, "write the summary")) > before:
            nudged.append(day)
    first_overdue = working_day_on_or_after(due + timedelta(days=1))
    second = first_overdue
    for _ in range(3):
        second = working_day_on_or_after(second + timedelta(days=1))
    assert nudged == [due, first_overdue, second]


async def test_snooze_moves_the_next_reminder(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann = team.user("ann", tz=TZ)
    due = working_day_on_or_after(today() + timedelta(days=1))
    await commit(server, team, slack, ann, f"book the venue by {due}")
    await tick(database_url, slack, team, due)
    (reminder,) = dms(slack, ann, "Due today")
    key = await press(server, slack, team, ann, reminder, "commit_snooze_week")
    update = (
        await slack.wait_for("chat.update", where=lambda c: "Snoozed" in json.dumps(blocks_of(c)))
    )[0]
    assert "commit_snooze_week" not in json.dumps(blocks_of(update))
    until = today() + timedelta(days=7)
    nudged = []
    for offset in range(1, 12):
        day = due + timedelta(days=offset)
        before = len(dms(slack, ann, "book the venue"))
        await tick(database_url, slack, team, day)
        if len(dms(slack, ann, "book the venue")) > before:
            nudged.append(day)
    assert nudged and nudged[0] == working_day_on_or_after(max(until, due + timedelta(days=1)))
    assert key


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Track a promise"),
        ("by Friday", "What did you promise"),
        ("ship it by 2020-01-01", "already passed"),
        ("ship it by the blue moon", "couldn't understand"),
        ("ship it to <@{bot}> by 2030-01-01", "is a bot"),
        ("ship it to <@{gone}> by 2030-01-01", "no longer in this workspace"),
        ("ship it to <@{me}> by 2030-01-01", "already yours"),
        ("ship it to <@UNOBODY99> by 2030-01-01", "couldn't find"),
        ("x" * 1200, "characters"),
        ("done 7", "no number 7"),
        ("drop two", "not a number"),
    ],
)
async def test_bad_commitments_are_explained_and_nothing_is_stored(
    server: Server, team: Team, slack: SlackDouble, db: Database, text: str, fragment: str
) -> None:
    me = team.user("ann")
    bot = team.user("deploybot", is_bot=True)
    gone = team.user("gone", deleted=True)
    reply = await commit(server, team, slack, me, text.format(bot=bot, gone=gone, me=me))
    assert fragment in reply.args["text"]
    assert reply.args["response_type"] == "ephemeral"
    assert await commitments_of(db, team.team_id) == []


async def test_a_promise_ending_in_an_entity_keeps_it_whole(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """Slack sends `>` as `&gt;`: the `;` that ends it is not trailing punctuation."""
    ann = team.user("ann", tz=TZ)
    reply = await commit(server, team, slack, ann, "review the &lt;br&gt; by 2030-02-01")
    assert "*review the &lt;br&gt;*" in json.dumps(blocks_of(reply))
    assert [c.text for c in await commitments_of(db, team.team_id)] == ["review the &lt;br&gt;"]


async def test_list_done_and_drop_telling_the_counterpart(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob")
    await commit(server, team, slack, ann, "send the slides by 2030-02-01")
    await commit(server, team, slack, ann, f"review the budget with <@{bob}> by 2030-01-15")
    listing = await commit(server, team, slack, ann, "list")
    text = listing.args["text"]
    assert text.index("1. *review the budget*") < text.index("2. *send the slides*")
    question = await commit(server, team, slack, ann, "drop 1")
    assert "Drop and tell them" in json.dumps(blocks_of(question))
    await press(server, slack, team, ann, question, "commit_drop_tell")
    await slack.wait_for(
        "chat.postMessage", channel=bob, where=lambda c: "can't keep" in str(c.args.get("text"))
    )
    done = await commit(server, team, slack, ann, "done 1")
    assert "send the slides" in done.args["text"]
    statuses = {c.text: c.status for c in await commitments_of(db, team.team_id)}
    assert statuses == {"send the slides": "done", "review the budget": "dropped"}
    empty = await commit(server, team, slack, ann, "list")
    assert "No open commitments" in empty.args["text"]
    assert "1 of 2 kept on time" in empty.args["text"]


async def test_someone_else_cannot_close_your_commitment(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, mallory = team.user("ann"), team.user("mallory")
    reply = await commit(server, team, slack, ann, "send the notes by 2030-01-01")
    key = await press(server, slack, team, mallory, reply, "commit_cancel")
    refusal = (await slack.wait_for("response_url", _key=key))[0]
    assert "someone else's" in refusal.args["text"]
    assert [c.status for c in await commitments_of(db, team.team_id)] == ["open"]


async def test_not_what_we_agreed_tells_the_owner(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    reply = await commit(server, team, slack, ann, f"send the contract to <@{bob}> by 2030-01-01")
    await press(server, slack, team, ann, reply, "commit_confirm")
    told = (await slack.wait_for("chat.postMessage", channel=bob))[0]
    await press(server, slack, team, bob, told, "commit_disputed")
    heads_up = (
        await slack.wait_for(
            "chat.postMessage",
            channel=ann,
            where=lambda c: "not what you agreed" in str(c.args.get("text")),
        )
    )[0]
    button(heads_up, "commit_edit")


async def edit_modal(
    server: Server, team: Team, slack: SlackDouble, owner: str, party: str, promise: str
) -> dict[str, Any]:
    """`owner` promises `promise` (naming `party`), confirms it, and presses Edit: the modal."""
    reply = await commit(server, team, slack, owner, promise)
    await press(server, slack, team, owner, reply, "commit_confirm")
    await slack.wait_for("chat.postMessage", channel=party)
    await press(server, slack, team, owner, reply, "commit_edit")
    opened = (
        await slack.wait_for("views.open", where=lambda c: party in json.dumps(c.args.get("view")))
    )[-1]
    view = opened.args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


async def test_edit_modal_validates_and_saves(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob")
    view = await edit_modal(
        server, team, slack, ann, bob, f"send the plan to <@{bob}> by 2030-01-01"
    )
    assert {b["block_id"] for b in view["blocks"] if "block_id" in b} >= {
        "what",
        "due",
        "parties",
        "tell",
    }

    def submission(what: str, due: int) -> str:
        return payloads.view_submission(
            user_id=ann,
            team_id=team.team_id,
            callback_id="commit_modal",
            private_metadata=view["private_metadata"],
            state_values={
                "what": {"what": {"type": "plain_text_input", "value": what}},
                "due": {"due": {"type": "datetimepicker", "selected_date_time": due}},
                "parties": {"parties": {"type": "multi_users_select", "selected_users": [bob]}},
                "tell": {"tell": {"type": "checkboxes", "selected_options": [{"value": "tell"}]}},
            },
        )

    status, body = await server.post(submission("send the plan", 1_600_000_000))
    assert status == 200 and json.loads(body)["errors"]["due"].startswith(
        "That time has already passed"
    )
    status, body = await server.post(submission("", 1_900_000_000))
    assert status == 200 and "what" in json.loads(body)["errors"]
    status, body = await server.post(submission("send the revised plan", 1_900_000_000))
    assert status == 200 and body == ""
    await slack.wait_for(
        "chat.postMessage", channel=bob, where=lambda c: "updated" in str(c.args.get("text"))
    )
    (saved,) = await commitments_of(db, team.team_id)
    assert saved.text == "send the revised plan"
    assert saved.due_at is not None and int(saved.due_at.timestamp()) == 1_900_000_000


async def track_modal(
    server: Server, team: Team, slack: SlackDouble, user: str, author: str, text: str
) -> dict[str, Any]:
    """`user` runs "Track as commitment" on `author`'s message `text`: the modal it opens."""
    body = payloads.message_shortcut(
        user_id=user,
        team_id=team.team_id,
        callback_id="track_as_commitment",
        channel_id=team.channel_id,
        message={"type": "message", "user": author, "ts": payloads.fresh_ts(), "text": text},
        response_url=slack.response_url(f"shortcut-{payloads.fresh_ts()}"),
    )
    assert (await server.post(body))[0] == 200
    opened = (
        await slack.wait_for("views.open", where=lambda c: author in json.dumps(c.args.get("view")))
    )[-1]
    view = opened.args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


async def test_track_as_commitment_shortcut_opens_a_prefilled_modal(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    view = await track_modal(server, team, slack, ann, bob, "Can you send me the figures?")
    parties = next(b for b in view["blocks"] if b.get("block_id") == "parties")
    assert parties["element"]["initial_users"] == [bob]


async def test_a_by_inside_a_link_is_the_links_text_not_the_due_date(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """A link's text (Slack sends `<url|text>`) is the person's words whole: its "by" is not
    where the due date starts."""
    ann, bob = team.user("ann", tz=TZ), team.user("bob", tz=TZ)
    link = "<https://example.com/plan|the plan by tomorrow>"
    reply = await commit(server, team, slack, ann, f"review {link} with <@{bob}> by 2030-01-01")
    assert "couldn't understand" not in str(reply.args.get("text"))
    reply = await commit(server, team, slack, ann, f"send {link} to <@{bob}>")
    assert "couldn't understand" not in str(reply.args.get("text")), reply.args.get("text")
    rows = await commitments_of(db, team.team_id)
    assert [r.text for r in rows] == [
        "review the plan by tomorrow (<https://example.com/plan>)",
        "send the plan by tomorrow (<https://example.com/plan>)",
    ]
