""" "Me too": the kudos emoji on allybot's own kudos post, through `allybot serve`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.db import Database
from bot.models import Inbound, Kudos, KudosPostUpdate
from bot.services import me_too, privacy
from scheduler.planner import run_pass
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import new_id, running_bot, seed_people
from tests.slack_double import SlackDouble


async def rows(db: Database, team_id: str, **match: Any) -> list[Kudos]:
    async with db.session() as session:
        stmt = select(Kudos).where(Kudos.team_id == team_id).order_by(Kudos.id)
        found = list((await session.execute(stmt)).scalars())
    return [r for r in found if all(getattr(r, k) == v for k, v in match.items())]


async def give(
    server: Server, team: Team, slack: SlackDouble, db: Database, giver: str, text: str
) -> str:
    """A public /kudos; the ts of allybot's post."""
    body, _ = team.command("/kudos", text, user_id=giver)
    before = len(slack.calls_to("chat.postMessage", channel=team.channel_id))
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=team.channel_id, count=before + 1)
    for _ in range(100):  # the post's ts is stored just after Slack answers
        posted = [r.post_ts for r in await rows(db, team.team_id) if r.post_ts]
        if posted:
            return str(posted[-1])
        await asyncio.sleep(0.05)
    raise AssertionError("the kudos post's ts was never stored")


async def react(server: Server, team: Team, user: str, ts: str, *, added: bool = True) -> None:
    make = payloads.reaction_added_event if added else payloads.reaction_removed_event
    event = make(
        user=user,
        reaction="raised_hands",
        channel=team.channel_id,
        item_ts=ts,
        item_user=payloads.BOT_USER_ID,
    )
    assert (await server.post(payloads.event_callback(event, team_id=team.team_id)))[0] == 200


def updates(slack: SlackDouble, team: Team, ts: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.update", channel=team.channel_id, ts=ts) if c.ok]


async def test_joining_in_adds_a_kudos_and_one_edit_per_burst(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann = team.user("giver"), team.user("ann")
    cy, dee, eve = team.user("cy"), team.user("dee"), team.user("eve")
    ts = await give(server, team, slack, db, giver, f"<@{ann}> a calm, clear incident review")
    await asyncio.gather(*(react(server, team, who, ts) for who in (cy, dee, eve)))
    edit = (
        await slack.wait_for(
            "chat.update",
            channel=team.channel_id,
            ts=ts,
            where=lambda c: "3 people joined in" in json.dumps(c.args["blocks"]),
        )
    )[-1]
    assert "calm, clear incident review" in json.dumps(edit.args["blocks"])
    dms = await slack.wait_for("chat.postMessage", channel=ann, count=4)
    plus = [d for d in dms if "+1 to" in str(d.args["text"])]
    assert len(plus) == 3 and all("'s kudos: a calm, clear" in str(d.args["text"]) for d in plus)
    recorded = await rows(db, team.team_id, source="plusone")
    assert {r.giver_id for r in recorded} == {cy, dee, eve}
    await asyncio.sleep(0.5)
    # Reactions recorded within the debounce of each other are one edit; on a loaded machine
    # the three may straggle past it, and then each straggler may add one.
    spread = max(r.created_at for r in recorded) - min(r.created_at for r in recorded)
    if spread < me_too.DEBOUNCE / 2:
        assert len(updates(slack, team, ts)) == 1, "one chat.update for the burst"
    assert len(updates(slack, team, ts)) <= 3
    assert len(slack.calls_to("chat.postMessage", channel=team.channel_id)) == 1, "never a new post"

    # Taking the reaction back takes the kudos back, and the count follows.
    await react(server, team, eve, ts, added=False)
    await slack.wait_for(
        "chat.update",
        channel=team.channel_id,
        ts=ts,
        where=lambda c: "2 people joined in" in json.dumps(c.args["blocks"]),
    )
    assert {r.giver_id for r in await rows(db, team.team_id, source="plusone")} == {cy, dee}
    # The edit's state is saved just after Slack answered the chat.update seen above.
    for _ in range(100):
        async with db.session() as session:
            states = list((await session.execute(select(KudosPostUpdate))).scalars())
        mine = [(s.status, s.shown) for s in states if s.ts == ts]
        if mine != [("updating", 3)]:
            break
        await asyncio.sleep(0.05)
    assert mine == [("done", 2)]


async def test_the_giver_and_receivers_cannot_join_their_own_kudos(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann, bob = team.user("giver"), team.user("ann"), team.user("bob")
    ts = await give(server, team, slack, db, giver, f"<@{ann}> <@{bob}> a tidy migration")
    for who in (giver, ann, bob):
        await react(server, team, who, ts)
    await slack.assert_no_call("chat.update", within=me_too.DEBOUNCE.total_seconds() + 0.8, ts=ts)
    assert await rows(db, team.team_id, source="plusone") == []
    assert slack.calls_to("chat.postEphemeral", channel=team.channel_id) == []


async def test_the_daily_limit_applies_to_joining_in(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann, cy = team.user("giver"), team.user("ann"), team.user("cy")
    ts = await give(server, team, slack, db, giver, f"<@{ann}> the best onboarding doc")
    for i in range(5):  # cy uses up the day's five kudos
        other = team.user(f"p{i}")
        body, _ = team.command("/kudos", f"<@{other}> thanks for the review", user_id=cy)
        assert (await server.post(body))[0] == 200
        await slack.wait_for("chat.postMessage", channel=other)
    await react(server, team, cy, ts)
    note = (await slack.wait_for("chat.postEphemeral", user=cy))[0]
    assert "5 kudos a day" in str(note.args["text"])
    assert await rows(db, team.team_id, source="plusone") == []
    await slack.assert_no_call("chat.update", within=0.5, ts=ts)


async def test_a_pass_finishes_an_edit_whose_handler_died(
    db: Database, slack: SlackDouble, database_url: str
) -> None:
    team, channel, ts = new_id("T"), new_id("C"), payloads.fresh_ts()
    ann, bob, cy = await seed_people(db, slack, team_id=team, people=[{}] * 3)
    now = datetime.now(UTC)
    async with db.session() as session:
        session.add(
            Kudos(
                team_id=team,
                giver_id=ann,
                receiver_id=bob,
                text="steady hands",
                tags=[],
                source="command",
                source_key=new_id("k"),
                post_channel_id=channel,
                post_ts=ts,
                created_at=now,
            )
        )
        session.add(
            Kudos(
                team_id=team,
                giver_id=cy,
                receiver_id=bob,
                text="+1 to ann's kudos: steady hands",
                tags=[],
                source="plusone",
                source_key=f"plusone:{channel}:{ts}:{cy}",
                post_channel_id=channel,
                post_ts=ts,
                created_at=now,
            )
        )
        session.add(
            KudosPostUpdate(
                team_id=team, channel_id=channel, ts=ts, due_at=now - timedelta(minutes=5)
            )
        )
    async with running_bot(database_url, slack) as bot:
        result = await run_pass(bot, now=now, team_id=team)
        again = await run_pass(bot, now=now + timedelta(minutes=1), team_id=team)
    assert (result.kudos_posts, again.kudos_posts) == (1, 0)
    (edit,) = [c for c in slack.calls_to("chat.update", channel=channel, ts=ts) if c.ok]
    assert "1 person joined in" in json.dumps(edit.args["blocks"])


async def test_erasing_the_original_giver_leaves_no_copy_of_their_words(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    giver, ann, cy = team.user("giver"), team.user("ann"), team.user("cy")
    ts = await give(server, team, slack, db, giver, f"<@{ann}> a generous code review")
    await react(server, team, cy, ts)
    await slack.wait_for("chat.update", channel=team.channel_id, ts=ts)
    async with db.session() as session:
        await privacy.erase(session, team_id=team.team_id, user_id=giver)
    (plus,) = await rows(db, team.team_id, source="plusone")
    assert plus.text == me_too.ERASED_REASON and plus.giver_id == cy
    assert all("generous" not in r.text for r in await rows(db, team.team_id))


async def test_a_plus_one_under_way_when_the_original_giver_erases_keeps_none_of_their_words(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """The +1's delivery names the reactor and the post, not the original's giver: their
    erase cannot stop it. Read before the erase, their name and words must not be stored
    after it (README, "Your data": the text of kudos they gave is blanked)."""
    giver, ann, cy = team.user("giver"), team.user("ann"), team.user("cy")
    ts = await give(server, team, slack, db, giver, f"<@{ann}> a generous code review")
    # cy is new to allybot: the +1 reads her profile from Slack after it built its reason
    # (the original's giver by name, and the original's words).
    slack.delay("users.info", 2)
    await react(server, team, cy, ts)
    await slack.wait_for("users.info", user=cy)
    async with db.session() as session:
        await privacy.erase(session, team_id=team.team_id, user_id=giver)
    slack.delay("users.info", 0)
    for _ in range(200):
        plus = await rows(db, team.team_id, source="plusone")
        if plus:
            break
        await asyncio.sleep(0.05)
    assert [p.giver_id for p in plus] == [cy]
    assert all("generous" not in r.text for r in await rows(db, team.team_id)), plus[0].text
    assert "giver" not in plus[0].text.lower(), plus[0].text


async def test_a_plus_one_retried_after_a_receiver_erased_still_tells_the_others(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    """A +1 stored, then its run failed before its DMs went out; one receiver erased their
    data meanwhile (the +1's delivery does not name them, so it stays). The retry finds the
    +1 stored (one row now under the anonymous id) and tells the receiver left."""
    giver, ann, dee, cy = (team.user(n) for n in ("giver", "ann", "dee", "cy"))
    ts = await give(server, team, slack, db, giver, f"<@{ann}> <@{dee}> a calm handover")
    await slack.wait_for("chat.postMessage", channel=dee)
    slack.fail("chat.postMessage", status=500, times=1000)
    await react(server, team, cy, ts)
    for _ in range(200):
        if len(await rows(db, team.team_id, source="plusone")) == 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    async with db.session() as session:
        await privacy.erase(session, team_id=team.team_id, user_id=ann)
    slack.clear_faults()
    async with running_bot(database_url, slack) as bot:
        await run_pass(bot, now=datetime.now(UTC) + timedelta(hours=1), team_id=team.team_id)
    async with db.session() as session:
        stmt = select(Inbound).where(Inbound.team_id == team.team_id)
        states = [
            (i.kind, i.status, i.attempts, i.error) for i in (await session.execute(stmt)).scalars()
        ]
    told = [
        c
        for c in slack.calls_to("chat.postMessage", channel=dee)
        if c.ok and "+1 to" in str(c.args.get("text"))
    ]
    assert told, states


async def test_a_plus_one_stored_but_not_yet_tied_to_its_post_loses_the_erased_givers_words(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """A +1 is stored first and tied to its post (`me_too.attach`) a transaction later,
    after its DMs. The erase of the original's giver rewrites the +1s tied to their posts:
    one stored but not yet tied kept the giver's name and words."""
    giver, ann, cy = team.user("giver"), team.user("ann"), team.user("cy")
    ts = await give(server, team, slack, db, giver, f"<@{ann}> a generous code review")
    await slack.wait_for("chat.postMessage", channel=ann)
    slack.delay("chat.postMessage", 2)  # the +1's DM to ann, between its give and attach
    await react(server, team, cy, ts)
    for _ in range(200):
        plus = await rows(db, team.team_id, source="plusone")
        if plus:
            break
        await asyncio.sleep(0.05)
    assert plus and plus[0].post_ts is None, "stored, not yet tied to the post"
    async with db.session() as session:
        await privacy.erase(session, team_id=team.team_id, user_id=giver)
    slack.delay("chat.postMessage", 0)
    for _ in range(200):
        plus = await rows(db, team.team_id, source="plusone")
        if plus[0].post_ts is not None:
            break
        await asyncio.sleep(0.05)
    assert plus[0].post_ts == ts
    assert all("generous" not in r.text for r in await rows(db, team.team_id)), plus[0].text
    assert plus[0].text == me_too.ERASED_REASON
