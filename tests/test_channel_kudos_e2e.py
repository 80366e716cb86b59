"""Kudos from channel messages and reactions, exactly once under Slack's retries."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.models import Inbound, Kudos
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import settled
from tests.slack_double import SlackDouble


async def rows(db: Database, team_id: str) -> list[Kudos]:
    async with db.session() as session:
        stmt = select(Kudos).where(Kudos.team_id == team_id).order_by(Kudos.id)
        return list((await session.execute(stmt)).scalars())


async def inbound_keys(db: Database, team_id: str) -> list[str]:
    async with db.session() as session:
        stmt = select(Inbound.key).where(Inbound.team_id == team_id)
        return list((await session.execute(stmt)).scalars())


def message(team: Team, user: str, text: str, **kw: object) -> tuple[str, str, str]:
    event = payloads.message_event(
        channel=team.channel_id, user=user, text=text, team=team.team_id, **kw
    )  # type: ignore[arg-type]
    event_id = "Ev" + payloads.fresh_ts().replace(".", "")
    return (
        payloads.event_callback(event, team_id=team.team_id, event_id=event_id),
        event["ts"],
        event_id,
    )


async def test_a_kudos_message_counts_once_under_retries(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    body, ts, _ = message(team, ann, f"Kudos <@{bob}> for the calm incident call #teamwork")
    for retry in (None, 1, 2):
        assert (await server.post(body, retry_num=retry))[0] == 200
    reaction = (await slack.wait_for("reactions.add", timestamp=ts))[0]
    assert reaction.args["name"] == "raised_hands" and reaction.args["channel"] == team.channel_id
    dm = (await slack.wait_for("chat.postMessage", channel=bob))[0]
    assert "calm incident call" in str(dm.args["text"])
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    await slack.assert_no_call("chat.postMessage", within=0, channel=team.channel_id)
    (row,) = await rows(db, team.team_id)
    assert (row.giver_id, row.receiver_id, row.source, row.tags) == (
        ann,
        bob,
        "message",
        ["teamwork"],
    )
    assert len(slack.calls_to("chat.postMessage", channel=bob)) == 1


async def test_message_and_reaction_on_the_same_message_count_once_per_pair(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    body, ts, _ = message(team, ann, f"kudos <@{bob}> :raised_hands: shipping on a Friday, safely")
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=bob)
    edited = payloads.message_event(
        channel=team.channel_id,
        user=ann,
        text=f"kudos <@{bob}> edited",
        team=team.team_id,
        subtype="message_changed",
    )
    assert (await server.post(payloads.event_callback(edited, team_id=team.team_id)))[0] == 200
    # The same message delivered again under a new event id (a second subscription path).
    again = json.loads(body)
    again["event_id"] = "EvAGAIN" + ts.replace(".", "")
    assert (await server.post(json.dumps(again)))[0] == 200
    await settled(db, team.team_id)  # a wrongly accepted repeat would have been handled
    assert len(slack.calls_to("chat.postMessage", channel=bob)) == 1
    assert len(await rows(db, team.team_id)) == 1


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("great demo today", {}),
        ("kudos to the whole team", {}),
        ("thanks <@{bob}> for lunch", {}),
        ("kudos <@{bob}>", {"bot_id": "B123"}),
        ("kudos <@{bob}>", {"subtype": "message_changed"}),
        ("kudos <@{bob}>", {"subtype": "channel_join"}),
        # "kudos" inside a token Slack made is its address or name, not the word.
        ("<@{bob}> can you review <https://github.com/acme/kudos-service/pull/12>?", {}),
        ("<@{bob}> the notes are in <#C0KUDOS01|kudos>", {}),
        ("<@{bob}> ask <@U0HELPER1|kudos-helper> about it", {}),
    ],
)
async def test_other_messages_are_ignored_and_never_stored(
    server: Server, team: Team, slack: SlackDouble, db: Database, text: str, extra: dict[str, str]
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    body, _, _ = message(team, ann, text.format(bob=bob), **extra)
    assert (await server.post(body))[0] == 200
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    await slack.assert_no_call("chat.postMessage", within=0, channel=bob)
    assert await rows(db, team.team_id) == []
    assert await inbound_keys(db, team.team_id) == [], "nothing of the message was stored"


async def test_reaction_gives_kudos_and_removing_it_withdraws(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    ts = payloads.fresh_ts()
    added = payloads.reaction_added_event(
        user=ann,
        reaction="raised_hands::skin-tone-3",
        channel=team.channel_id,
        item_ts=ts,
        item_user=bob,
    )
    assert (await server.post(payloads.event_callback(added, team_id=team.team_id)))[0] == 200
    await slack.wait_for("chat.postMessage", channel=bob)
    (row,) = await rows(db, team.team_id)
    assert (row.giver_id, row.receiver_id, row.source) == (ann, bob, "reaction")
    other = payloads.reaction_added_event(
        user=ann, reaction="tada", channel=team.channel_id, item_ts=ts, item_user=bob
    )
    assert (await server.post(payloads.event_callback(other, team_id=team.team_id)))[0] == 200
    removed = payloads.reaction_removed_event(
        user=ann, reaction="raised_hands", channel=team.channel_id, item_ts=ts, item_user=bob
    )
    assert (await server.post(payloads.event_callback(removed, team_id=team.team_id)))[0] == 200
    for _ in range(100):
        if not await rows(db, team.team_id):
            break
        await asyncio.sleep(0.05)
    assert await rows(db, team.team_id) == []


async def test_repeated_kudos_within_ten_minutes_merge(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    first, _ = team.command("/kudos", f"<@{bob}> sorted the release notes", user_id=ann)
    assert (await server.post(first))[0] == 200
    await slack.wait_for("chat.postMessage", channel=bob)
    second, key = team.command("/kudos", f"<@{bob}> and again, thank you", user_id=ann)
    assert (await server.post(second))[0] == 200
    reply = (await slack.wait_for("response_url", _key=key))[0]
    assert "a few minutes ago" in reply.args["text"]
    assert len(await rows(db, team.team_id)) == 1


async def test_a_limit_in_a_channel_is_told_privately(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann")
    body, _, _ = message(team, ann, f"kudos <@{ann}> me myself")
    assert (await server.post(body))[0] == 200
    note = (await slack.wait_for("chat.postEphemeral", user=ann))[0]
    assert note.args["channel"] == team.channel_id and "yourself" in note.args["text"]
    assert await rows(db, team.team_id) == []


async def test_give_kudos_for_this_message(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    ts = payloads.fresh_ts()
    shortcut = payloads.message_shortcut(
        user_id=ann,
        team_id=team.team_id,
        callback_id="give_kudos_for_message",
        channel_id=team.channel_id,
        message={"type": "message", "user": bob, "ts": ts, "text": "Here is the migration plan"},
    )
    assert (await server.post(shortcut))[0] == 200
    opened = (
        await slack.wait_for("views.open", where=lambda c: bob in json.dumps(c.args.get("view")))
    )[0]
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    receiver = next(b for b in view["blocks"] if b.get("block_id") == "receiver")
    assert receiver["element"]["initial_user"] == bob

    def submit(who: str, reason: str) -> str:
        return payloads.view_submission(
            user_id=ann,
            team_id=team.team_id,
            callback_id="give_kudos_for_message",
            private_metadata=view["private_metadata"],
            state_values={
                "receiver": {"receiver": {"type": "users_select", "selected_user": who}},
                "reason": {"reason": {"type": "plain_text_input", "value": reason}},
                "tags": {
                    "tags": {
                        "type": "multi_static_select",
                        "selected_options": [{"value": "helpful"}],
                    }
                },
            },
        )

    status, text = await server.post(submit(ann, "me"))
    assert status == 200 and "receiver" in json.loads(text)["errors"]
    status, text = await server.post(submit(bob, "  "))
    assert status == 200 and "reason" in json.loads(text)["errors"]
    assert (await server.post(submit(bob, "a plan everyone could follow")))[0] == 200
    post = (await slack.wait_for("chat.postMessage", channel=team.channel_id))[0]
    assert "a plan everyone could follow" in str(post.args["text"])
    await slack.wait_for("chat.postMessage", channel=bob)
    assert (await server.post(submit(bob, "and again for the same message")))[0] == 200
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    (row,) = await rows(db, team.team_id)
    assert (row.giver_id, row.receiver_id, row.source, row.tags) == (
        ann,
        bob,
        "shortcut",
        ["helpful"],
    )
