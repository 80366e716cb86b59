"""Quiet kudos through `allybot serve`: `/kudos private`, the modal's checkbox, and the
receiver's "don't post kudos I receive", from every surface."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.db import Database
from bot.models import Kudos, Person
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import settled
from tests.slack_double import SlackDouble
from tests.test_channel_kudos_e2e import message
from tests.test_home_e2e import open_home, view_of
from tests.test_privacy_e2e import export_of


async def rows(db: Database, team_id: str) -> list[Kudos]:
    async with db.session() as session:
        stmt = select(Kudos).where(Kudos.team_id == team_id).order_by(Kudos.id)
        return list((await session.execute(stmt)).scalars())


async def backdate(db: Database, team_id: str) -> None:
    """Move the kudos so far out of the 10-minute window in which repeats merge."""
    async with db.session() as session:
        for row in (await session.execute(select(Kudos).where(Kudos.team_id == team_id))).scalars():
            row.created_at = row.created_at - timedelta(minutes=20)


async def command(
    server: Server, team: Team, slack: SlackDouble, name: str, text: str, user: str
) -> str:
    body, key = team.command(name, text, user_id=user)
    assert (await server.post(body))[0] == 200
    reply = (await slack.wait_for("response_url", _key=key))[0]
    assert reply.args.get("response_type") == "ephemeral"
    return str(reply.args["text"])


def channel_posts(slack: SlackDouble, team: Team) -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage", channel=team.channel_id) if c.ok]


async def test_kudos_private_reaches_the_receiver_only(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    reply = await command(
        server, team, slack, "/kudos", f"private <@{ann}> thanks for the honest feedback", giver
    )
    assert "Delivered privately" in reply and f"<@{ann}>" in reply
    dm = (await slack.wait_for("chat.postMessage", channel=ann))[0]
    assert "honest feedback" in str(dm.args["text"]) and "just for you" in str(dm.args["text"])
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    await slack.assert_no_call("chat.postMessage", within=0, channel=team.channel_id)
    (row,) = await rows(db, team.team_id)
    assert (row.private_by, row.text, row.post_ts) == (
        "giver",
        "thanks for the honest feedback",
        None,
    )
    # Bad input still gets the usual private answer, and nothing is logged.
    reply = await command(server, team, slack, "/kudos", "private", giver)
    assert "Who is it for" in reply
    assert len(await rows(db, team.team_id)) == 1


async def test_receiver_preference_keeps_every_surface_quiet(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann, bob = team.user("giver"), team.user("ann"), team.user("bob")
    said = await command(server, team, slack, "/ally", "kudos private", ann)
    assert "by DM only" in said
    assert "private" in await command(server, team, slack, "/ally", "kudos sometimes", ann)

    # A /kudos to ann and bob: the post names bob only; the giver hears why, once.
    reply = await command(
        server, team, slack, "/kudos", f"<@{ann}> <@{bob}> ran a calm incident review", giver
    )
    assert "prefer to receive kudos privately" in reply and f"<@{ann}>" in reply
    post = (await slack.wait_for("chat.postMessage", channel=team.channel_id))[0]
    assert f"<@{bob}>" in str(post.args["text"]) and ann not in json.dumps(post.args)
    dm = (await slack.wait_for("chat.postMessage", channel=ann))[0]
    assert "Not posted anywhere" in json.dumps(dm.args["blocks"])
    by = {r.receiver_id: r.private_by for r in await rows(db, team.team_id)}
    assert by == {ann: "receiver", bob: None}

    # The second time (outside the 10-minute merge) the giver is told only that it arrived.
    await backdate(db, team.team_id)
    reply = await command(server, team, slack, "/kudos", f"<@{ann}> a tidy handover", giver)
    assert "Delivered privately" in reply and "prefer to receive" not in reply
    await asyncio.sleep(0.3)
    assert len(channel_posts(slack, team)) == 1

    # A channel message saying kudos: its reaction, no post; a new giver hears why once.
    other = team.user("other")
    body, ts, _ = message(team, other, f"kudos <@{ann}> for the calm release")
    assert (await server.post(body))[0] == 200
    await slack.wait_for("reactions.add", timestamp=ts)
    note = (await slack.wait_for("chat.postEphemeral", user=other))[0]
    assert "prefer to receive kudos privately" in str(note.args["text"])
    await backdate(db, team.team_id)
    body, ts, _ = message(team, other, f"kudos <@{ann}> again, for the docs")
    assert (await server.post(body))[0] == 200
    await slack.wait_for("reactions.add", timestamp=ts)
    await slack.wait_for("chat.postMessage", channel=ann, count=4)
    await asyncio.sleep(0.5)
    assert len(slack.calls_to("chat.postEphemeral", user=other)) == 1
    assert len(channel_posts(slack, team)) == 1

    # Back to public: kudos to ann are posted again.
    await backdate(db, team.team_id)
    assert "again" in await command(server, team, slack, "/ally", "kudos public", ann)
    body, _ = team.command("/kudos", f"<@{ann}> great pairing session", user_id=giver)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=team.channel_id, count=2)


async def test_give_kudos_modal_has_a_private_checkbox(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    ts = payloads.fresh_ts()
    shortcut = payloads.message_shortcut(
        user_id=ann,
        team_id=team.team_id,
        callback_id="give_kudos_for_message",
        channel_id=team.channel_id,
        message={"type": "message", "user": bob, "ts": ts, "text": "The rollback plan"},
    )
    assert (await server.post(shortcut))[0] == 200
    opened = (
        await slack.wait_for("views.open", where=lambda c: bob in json.dumps(c.args.get("view")))
    )[0]
    view = view_of(opened)
    assert any(b.get("block_id") == "private" for b in view["blocks"])
    submit = payloads.view_submission(
        user_id=ann,
        team_id=team.team_id,
        callback_id="give_kudos_for_message",
        private_metadata=view["private_metadata"],
        state_values={
            "receiver": {"receiver": {"type": "users_select", "selected_user": bob}},
            "reason": {"reason": {"type": "plain_text_input", "value": "a rollback plan"}},
            "tags": {"tags": {"type": "multi_static_select", "selected_options": []}},
            "private": {
                "private": {"type": "checkboxes", "selected_options": [{"value": "private"}]}
            },
        },
    )
    assert (await server.post(submit))[0] == 200
    note = (await slack.wait_for("chat.postEphemeral", user=ann))[0]
    assert note.args["channel"] == team.channel_id and "Delivered privately" in note.args["text"]
    await slack.wait_for("chat.postMessage", channel=bob)
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    await slack.assert_no_call("chat.postMessage", within=0, channel=team.channel_id)
    (row,) = await rows(db, team.team_id)
    assert (row.receiver_id, row.private_by, row.source) == (bob, "giver", "shortcut")


async def test_home_and_settings_modal_carry_the_preference(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann")
    home = await open_home(server, team, slack, ann)
    prefs = next(b for b in home["blocks"] if b.get("block_id") == "home_preferences")
    button = next(e for e in prefs["elements"] if e.get("action_id") == "home_kudos_privacy")
    assert button["value"] == "private"
    press = payloads.block_actions(
        user_id=ann,
        team_id=team.team_id,
        action_id="home_kudos_privacy",
        value="private",
        block_id="home_preferences",
        view={"id": "V1", "type": "home"},
    )
    assert (await server.post(press))[0] == 200
    await slack.wait_for(
        "views.publish",
        user_id=ann,
        where=lambda c: "kudos you receive are not posted" in json.dumps(view_of(c)),
    )
    trigger_id = payloads.fresh_trigger_id()
    body, _ = team.command("/ally", "settings", user_id=ann, trigger_id=trigger_id)
    assert (await server.post(body))[0] == 200
    opened = (await slack.wait_for("views.open", trigger_id=trigger_id))[0]
    block = next(b for b in view_of(opened)["blocks"] if b.get("block_id") == "kudos_private")
    assert block["element"]["initial_options"][0]["value"] == "kudos_private"
    state = {
        "tips": {"tips": {"type": "static_select", "selected_option": {"value": "weekly"}}},
        "window_start": {"window_start": {"type": "timepicker", "selected_time": "09:00"}},
        "window_end": {"window_end": {"type": "timepicker", "selected_time": "17:00"}},
        "quiet_start": {"quiet_start": {"type": "timepicker", "selected_time": None}},
        "quiet_end": {"quiet_end": {"type": "timepicker", "selected_time": None}},
        "pause_days": {"pause_days": {"type": "number_input", "value": None}},
        "opt_out": {"opt_out": {"type": "checkboxes", "selected_options": []}},
        "kudos_private": {"kudos_private": {"type": "checkboxes", "selected_options": []}},
    }
    submit = payloads.view_submission(
        user_id=ann, team_id=team.team_id, callback_id="settings_modal", state_values=state
    )
    assert (await server.post(submit))[0] == 200
    for _ in range(100):
        async with db.session() as session:
            person = await session.get(Person, (team.team_id, ann))
        if person is not None and not person.kudos_private:
            break
        await asyncio.sleep(0.05)
    assert person is not None and not person.kudos_private


REASONS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300
) | st.sampled_from(["<!channel> look", "<https://evil.example|docs>", "ok\u0000\u202e", "x" * 990])


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(reason=REASONS)
async def test_private_kudos_text_never_reaches_a_channel(
    server: Server, team: Team, slack: SlackDouble, db: Database, reason: str
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    body, key = team.command("/kudos", f"private <@{ann}> {reason}", user_id=giver)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("response_url", _key=key)
    for call in slack.calls_to("chat.postMessage", channel=team.channel_id):
        assert giver not in json.dumps(call.args), "a private kudos was posted"
    async with db.session() as session:
        stmt = select(Kudos).where(Kudos.team_id == team.team_id, Kudos.giver_id == giver)
        for row in (await session.execute(stmt)).scalars():
            assert row.private_by == "giver"


async def test_export_shows_the_preference_and_private_kudos(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    await command(server, team, slack, "/ally", "kudos private", ann)
    await command(server, team, slack, "/kudos", f"<@{ann}> the clearest postmortem", giver)
    await slack.wait_for("chat.postMessage", channel=ann)
    _, data = await export_of(server, team, slack, ann)
    assert data["person"]["kudos_private"] is True
    (received,) = data["kudos_received"]
    assert (received["giver_id"], received["private_by"]) == (giver, "receiver")
