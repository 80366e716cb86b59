"""A message to allybot in its Messages tab is answered: "kudos @ann for …" does what /kudos
does, anything else gets the commands that fit what was asked; once under Slack's retries."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import Database
from bot.models import Kudos, Workspace
from bot.services import people
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import settled
from tests.slack_double import SlackDouble


def dm(team: Team, user: str, text: str, **kw: object) -> str:
    """What Slack sends for a message someone writes in their DM with allybot."""
    channel = "D" + user[1:]
    event = payloads.message_event(
        channel=channel, user=user, text=text, team=team.team_id, channel_type="im", **kw
    )  # type: ignore[arg-type]
    return payloads.event_callback(event, team_id=team.team_id)


async def kudos_rows(db: Database, team_id: str) -> list[Kudos]:
    async with db.session() as session:
        stmt = select(Kudos).where(Kudos.team_id == team_id).order_by(Kudos.id)
        return list((await session.execute(stmt)).scalars())


async def test_a_question_gets_the_commands_that_fit_once(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann")
    body = dm(team, ann, "how do I stop these reminders for a while?")
    for retry in (None, 1):
        assert (await server.post(body, retry_num=retry))[0] == 200
    (reply,) = await slack.wait_for("chat.postMessage", channel=ann)
    text = str(reply.args["text"])
    assert "/ally pause" in text and "/ally quiet" in text
    assert "/commit" not in text and "/ally intros" not in text, "only what fits"
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    assert len(slack.calls_to("chat.postMessage", channel=ann)) == 1, "answered once"


async def test_hello_gets_the_whole_overview(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    ann = team.user("ann")
    assert (await server.post(dm(team, ann, "hello 👋")))[0] == 200
    (reply,) = await slack.wait_for("chat.postMessage", channel=ann)
    text = str(reply.args["text"])
    for command in ("/kudos", "/commit", "/ally add", "/ally intros", "/ally help"):
        assert command in text
    assert "kudos @ann for" in text, "says that kudos work right here"


async def test_kudos_in_a_dm_does_what_kudos_does(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    async with db.session() as session:
        await people.ensure_workspace(session, team_id=team.team_id)
        workspace = await session.get(Workspace, team.team_id)
        assert workspace is not None
        workspace.kudos_channel_id = team.channel_id
    body = dm(team, ann, f"kudos <@{bob}> for the calm incident call #teamwork")
    for retry in (None, 1, 2):
        assert (await server.post(body, retry_num=retry))[0] == 200
    (post,) = await slack.wait_for("chat.postMessage", channel=team.channel_id)
    assert "calm incident call" in str(post.args["text"])
    (told,) = await slack.wait_for("chat.postMessage", channel=bob)
    assert "calm incident call" in str(told.args["text"])
    (reply,) = await slack.wait_for("chat.postMessage", channel=ann)
    assert f"<@{bob}>" in reply.args["text"] and f"<#{team.channel_id}>" in reply.args["text"]
    (row,) = await kudos_rows(db, team.team_id)
    assert (row.giver_id, row.receiver_id, row.source, row.tags) == (
        ann,
        bob,
        "dm",
        ["teamwork"],
    )
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    for channel in (team.channel_id, bob, ann):
        assert len(slack.calls_to("chat.postMessage", channel=channel)) == 1, channel


async def test_kudos_in_a_dm_without_a_kudos_channel_reaches_the_receiver(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    assert (await server.post(dm(team, ann, f"/kudos <@{bob}> thanks for the review")))[0] == 200
    await slack.wait_for("chat.postMessage", channel=bob)
    (reply,) = await slack.wait_for("chat.postMessage", channel=ann)
    assert "no kudos channel" in reply.args["text"] and "/ally admin" in reply.args["text"]
    assert [r.receiver_id for r in await kudos_rows(db, team.team_id)] == [bob]


async def test_a_refused_kudos_says_why_and_stores_nothing(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann")
    assert (await server.post(dm(team, ann, f"kudos <@{ann}> for being me")))[0] == 200
    (reply,) = await slack.wait_for("chat.postMessage", channel=ann)
    assert "yourself" in reply.args["text"]
    assert await kudos_rows(db, team.team_id) == []


async def test_allybots_own_posts_and_edits_get_no_answer(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann")
    mine = dm(team, ann, "Your daily message", bot_id="B0ALLYBOT")
    edit = dm(team, ann, "kudos edited", subtype="message_changed")
    for body in (mine, edit):
        assert (await server.post(body))[0] == 200
    await settled(db, team.team_id)  # every delivery worked on: nothing more is coming
    await slack.assert_no_call("chat.postMessage", within=0, channel=ann)
