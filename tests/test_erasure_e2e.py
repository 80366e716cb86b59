"""`/ally forget-me` leaves nothing behind: after an erase, every column of every table of the
database (found by introspection, so a new table is covered without touching this test)
holds neither the person's id nor any word they wrote. Activity goes through the real
server; a property test generates it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, select, update

from bot.db import Database
from bot.models import Commitment, Inbound, Kudos, Person
from bot.services import privacy
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import seed_people
from tests.slack_double import SlackDouble
from tests.test_commitments_e2e import press
from tests.test_dm_budget_e2e import promise, run, set_budget, settle
from tests.test_me_too_e2e import give, react
from tests.test_privacy_e2e import ally

TZ = "Europe/London"


def word() -> str:
    """A word nobody else writes, so finding it anywhere means it was kept."""
    return "qk" + uuid.uuid4().hex[:12]


async def dump(db: Database) -> list[tuple[str, str, str]]:
    """(table, column, value) for every non-empty value of every table in the database."""
    async with db.engine.connect() as conn:
        meta = MetaData()
        await conn.run_sync(lambda sync: meta.reflect(bind=sync))
        out: list[tuple[str, str, str]] = []
        for table in meta.sorted_tables:
            for row in (await conn.execute(select(table))).mappings():
                out.extend(
                    (table.name, column, str(value))
                    for column, value in row.items()
                    if value is not None
                )
    return out


def found(rows: list[tuple[str, str, str]], needles: list[str]) -> list[tuple[str, str, str]]:
    return [r for r in rows if any(n in r[2] for n in needles)]


async def channel_message(server: Server, team: Team, user: str, text: str) -> None:
    event = payloads.message_event(channel=team.channel_id, user=user, text=text, team=team.team_id)
    assert (await server.post(payloads.event_callback(event, team_id=team.team_id)))[0] == 200


async def forget(server: Server, team: Team, slack: SlackDouble, db: Database, user: str) -> None:
    question = await ally(server, team, slack, user, "forget-me")
    key = await press(server, slack, team, user, question, "privacy_erase")
    done = (await slack.wait_for("response_url", _key=key, timeout=10.0))[0]
    assert "erased" in done.args["text"]
    await settle(db, team.team_id)


async def leftover_deliveries(db: Database, team_id: str, user: str, words: list[str]) -> None:
    """Deliveries as older versions left them: a failed one with its payload, and one that
    was never finished."""
    long_ago = datetime.now(UTC) - timedelta(days=2)
    async with db.session() as session:
        for status, n in (("failed", 1), ("pending", 2)):
            session.add(
                Inbound(
                    team_id=team_id,
                    key=f"command:/kudos:old-{uuid.uuid4().hex}",
                    kind="kudos_command",
                    payload={"user_id": user, "text": f"kudos for {words[n]}"},
                    status=status,
                    attempts=5 if status == "failed" else 1,
                    lease_until=long_ago,
                    received_at=long_ago,
                    finished_at=long_ago if status == "failed" else None,
                    error="KudosRejected",
                )
            )


async def test_after_an_erase_no_table_holds_their_id_or_their_words(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob, cy = (team.user(n, tz=TZ) for n in ("ann", "bob", "cy"))
    theirs = [word() for _ in range(8)]  # what ann writes
    others = [word() for _ in range(4)]  # what bob and cy write
    await set_budget(db, team.team_id, daily_dm_budget=1)

    await run(server, team, "/kudos", f"<@{bob}|bob> {theirs[0]} crisp demo #teamwork", ann)
    await run(server, team, "/kudos", f"<@{ann}|ann> for the {others[0]} migration", bob)
    await channel_message(server, team, cy, f"kudos <@{ann}> for {others[1]}")
    await channel_message(server, team, ann, f"kudos <@{cy}> {theirs[1]}")
    await settle(db, team.team_id)
    await promise(server, team, slack, db, ann, bob, f"{theirs[2]} report")
    await promise(server, team, slack, db, ann, bob, f"{theirs[3]} report")  # held: budget 1
    await promise(server, team, slack, db, cy, ann, f"{others[2]} for <@{ann}|ann> too")
    await promise(server, team, slack, db, bob, ann, f"{others[3]} draft")  # held for ann
    for text in (
        f"add <@{bob}> every week",
        f"met <@{bob}> {theirs[4]} over coffee",
        f"resolve <@{cy}> {theirs[5]}",
        f"mute <@{cy}>",
    ):
        await ally(server, team, slack, ann, text)
    await ally(server, team, slack, cy, f"mute <@{ann}>")
    await ally(server, team, slack, bob, f"met <@{ann}> about <@{ann}> plans")
    await set_budget(db, team.team_id, digest_day="friday")  # as a change by ann, below
    async with db.session() as session:
        from bot.services import workspace_settings

        await workspace_settings.apply(
            session,
            team_id=team.team_id,
            settings=workspace_settings.validate({"digest_day": "tuesday"}),
            changed_by=ann,
            now=datetime.now(UTC),
        )
    await leftover_deliveries(db, team.team_id, ann, theirs[5:])
    before = found(await dump(db), [ann, *theirs])
    assert {t for t, _, _ in before} >= {
        "people",
        "kudos",
        "commitments",
        "commitment_parties",
        "allies",
        "check_ins",
        "resolves",
        "mutes",
        "person_dms",
        "nudges",
        "setting_changes",
        "inbound",
    }, "the seeding reached every kind of row"

    await forget(server, team, slack, db, ann)

    left = found(await dump(db), [ann, *theirs])
    assert left == [], left
    # What others wrote stays, with the mention made anonymous.
    async with db.session() as session:
        texts = list(
            (await session.execute(select(Kudos.text).where(Kudos.team_id == team.team_id)))
            .scalars()
            .all()
        )
    (channel,) = [t for t in texts if others[1] in t]
    assert channel.startswith("kudos @anon-") and channel.endswith(f"for {others[1]}")
    assert any(others[0] in t for t in texts), texts


ACTIVITY = st.lists(
    st.tuples(
        st.sampled_from(["kudos", "channel", "commit", "ally", "met", "mute", "intros"]),
        st.integers(0, 2),
        st.integers(1, 2),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(activity=ACTIVITY, erased=st.integers(0, 2))
async def test_generated_activity_then_erase_leaves_nothing(
    server: Server, slack: SlackDouble, db: Database, activity: list[Any], erased: int
) -> None:
    team = Team(slack=slack)
    people = [team.user(n, tz=TZ) for n in ("ann", "bob", "cy")]
    written: dict[str, list[str]] = {p: [] for p in people}
    for kind, s, offset in activity:
        me, other = people[s], people[(s + offset) % 3]
        w = word()
        written[me].append(w)
        match kind:
            case "kudos":
                await run(server, team, "/kudos", f"<@{other}|x> {w} help", me)
            case "channel":
                await channel_message(server, team, me, f"kudos <@{other}> {w}")
            case "commit":
                await promise(server, team, slack, db, me, other, f"{w} <@{other}> plan")
            case "ally":
                await ally(server, team, slack, me, f"add <@{other}> every week")
            case "met":
                await ally(server, team, slack, me, f"met <@{other}> {w}")
            case "mute":
                await ally(server, team, slack, me, f"mute <@{other}>")
            case "intros":
                await ally(server, team, slack, me, "intros join")
        await settle(db, team.team_id)
    gone = people[erased]
    await forget(server, team, slack, db, gone)
    left = found(await dump(db), [gone, *written[gone]])
    assert left == [], left


async def test_a_plus_one_skips_a_receiver_who_erased_their_data(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """The others still get the +1; the erased one is not looked up, named or mentioned."""
    giver, ann, cy, dee = (team.user(n) for n in ("giver", "ann", "cy", "dee"))
    ts = await give(server, team, slack, db, giver, f"<@{ann}> <@{cy}> a calm incident review")
    await settle(db, team.team_id)
    await forget(server, team, slack, db, ann)
    before = len(slack.calls)
    await react(server, team, dee, ts)
    edit = await slack.wait_for(
        "chat.update", channel=team.channel_id, ts=ts, where=lambda c: "joined in" in str(c.args)
    )
    await settle(db, team.team_id)
    later = slack.calls[before:]
    assert not any("anon-" in json.dumps(c.args, default=str) for c in later)
    assert not [c for c in later if c.method == "chat.postEphemeral"]
    async with db.session() as session:
        plus = (
            await session.execute(
                select(Kudos.giver_id, Kudos.receiver_id).where(
                    Kudos.team_id == team.team_id, Kudos.source == "plusone"
                )
            )
        ).all()
    assert [tuple(p) for p in plus] == [(dee, cy)]
    assert "someone" in json.dumps(edit[-1].args["blocks"])


async def test_a_post_edited_after_its_giver_erased_names_nobody(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """The recount after the giver erased shows "someone", and no empty quote."""
    giver, ann, dee = (team.user(n) for n in ("giver", "ann", "dee"))
    ts = await give(server, team, slack, db, giver, f"<@{ann}> a calm incident review")
    await react(server, team, dee, ts)
    await slack.wait_for("chat.update", channel=team.channel_id, ts=ts)
    await settle(db, team.team_id)
    await forget(server, team, slack, db, giver)
    before = len(slack.calls_to("chat.update", channel=team.channel_id, ts=ts))
    await react(server, team, dee, ts, added=False)
    edits = await slack.wait_for("chat.update", channel=team.channel_id, ts=ts, count=before + 1)
    edit = edits[-1].args
    shown = json.dumps(edit["blocks"])
    assert "anon-" not in shown and "anon-" not in edit["text"]
    assert "from someone" in shown and edit["text"] == f"Kudos from someone to <@{ann}>"
    assert "\\n>" not in shown


async def runs_stopped(server: Server) -> float:
    """How many deliveries' runs this server stopped because their delivery was gone."""
    status, metrics = await server.get("/metrics")
    assert status == 200
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("allybot_deliveries_total{") and 'outcome="lost"' in line
    )


async def erase_while_slack_is_asked(
    server: Server,
    team: Team,
    slack: SlackDouble,
    db: Database,
    body: str,
    *,
    asked_for: str,
    receiver: str,
) -> None:
    """Post `body` while users.info answers slowly; `receiver` erases their data during the
    call for `asked_for`; return once the run stopped (its delivery gone with them)."""
    before = len(slack.calls_to("users.info", user=asked_for))
    slack.delay("users.info", 1.5)
    stopped = await runs_stopped(server)
    try:
        assert (await server.post(body))[0] == 200
        await slack.wait_for("users.info", user=asked_for, count=before + 1)  # Slack is asked
        async with db.session() as session:
            await privacy.erase(session, team_id=team.team_id, user_id=receiver)
        slack.delay("users.info", 0)  # Slack answers now, after the erase
        deadline = time.monotonic() + 10
        while await runs_stopped(server) == stopped:
            assert time.monotonic() < deadline, "the run went on after its delivery was erased"
            await asyncio.sleep(0.05)
    finally:
        slack.clear_faults()


async def _erased_while_slack_is_asked(
    server: Server,
    team: Team,
    slack: SlackDouble,
    db: Database,
    body: str,
    *,
    asked_for: str,
    receiver: str,
) -> None:
    """`body` (naming `receiver`) arrives while users.info answers slowly; `receiver` erases
    their data during the call for `asked_for`. The erase deletes the delivery with them, so
    its run stops there: nothing stored, nobody told, `asked_for` not saved either."""
    await erase_while_slack_is_asked(
        server, team, slack, db, body, asked_for=asked_for, receiver=receiver
    )
    rows = await dump(db)
    assert found(rows, [receiver, asked_for]) == [], "the run wrote after the erase"
    for method in ("chat.postMessage", "chat.postEphemeral", "response_url"):
        assert [c for c in slack.calls_to(method) if receiver in str(c.args)] == []
    await slack.assert_no_call("chat.postMessage", channel=receiver)


async def test_a_kudos_waiting_on_slack_for_its_giver_skips_a_receiver_erased_meanwhile(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """A reaction's receiver is read, then users.info is asked for the new giver; the
    receiver erases their data during that call: no kudos to them, no DM."""
    ann, bob = team.user("ann"), team.user("bob")  # ann is new: her profile comes from Slack
    await seed_people(db, None, team_id=team.team_id, people=[{"user_id": bob}])
    added = payloads.reaction_added_event(
        user=ann,
        reaction="raised_hands",
        channel=team.channel_id,
        item_ts=payloads.fresh_ts(),
        item_user=bob,
    )
    body = payloads.event_callback(added, team_id=team.team_id)
    await _erased_while_slack_is_asked(server, team, slack, db, body, asked_for=ann, receiver=bob)


async def test_a_promise_waiting_on_slack_for_one_party_skips_another_erased_meanwhile(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """The parties known already are read, then users.info is asked for a new one: a party
    who erases their data during that call ends the promise with them."""
    ann, bob, cy = team.user("ann"), team.user("bob"), team.user("cy")  # cy is new
    await seed_people(db, None, team_id=team.team_id, people=[{"user_id": ann}, {"user_id": bob}])
    body, _key = team.command(
        "/commit", f"review the plan with <@{bob}> and <@{cy}> by 2030-01-15", user_id=ann
    )
    await _erased_while_slack_is_asked(server, team, slack, db, body, asked_for=cy, receiver=bob)
    async with db.session() as session:
        made = (
            await session.execute(select(Commitment).where(Commitment.team_id == team.team_id))
        ).all()
    assert made == [], "a promise to someone erased while it was being made"


async def test_a_kudos_message_waiting_on_slack_for_its_giver_skips_a_receiver_erased(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """A channel message's kudos asks Slack for the new giver itself: its receiver, read
    ahead with the delivery, is read again after that call."""
    ann, bob = team.user("ann"), team.user("bob")
    await seed_people(db, None, team_id=team.team_id, people=[{"user_id": bob}])
    event = payloads.message_event(
        channel=team.channel_id, user=ann, text=f"kudos <@{bob}> for the calm review",
        team=team.team_id,
    )  # fmt: skip
    body = payloads.event_callback(event, team_id=team.team_id)
    await _erased_while_slack_is_asked(server, team, slack, db, body, asked_for=ann, receiver=bob)


async def _erased_while_a_plus_one_asks_slack(
    server: Server, team: Team, slack: SlackDouble, db: Database, *, who: str
) -> None:
    """cy +1s allybot's post of giver's kudos to bob (the reaction's payload names the post,
    not them); `erased`'s cached profile is stale, so the +1 asks users.info for them, and
    they (`who`) erase their data during that call: their row is refreshed only while it is stored,
    so nothing of theirs is stored again."""
    giver, bob, cy = team.user("giver"), team.user("bob"), team.user("cy")
    erased = {"giver": giver, "bob": bob}[who]
    ts = await give(server, team, slack, db, giver, f"<@{bob}> a calm, clear incident review")
    async with db.session() as session:
        await session.execute(
            update(Person)
            .where(Person.team_id == team.team_id, Person.user_id == erased)
            .values(profile_refreshed_at=datetime.now(UTC) - timedelta(days=2))
        )
    before = len(slack.calls_to("users.info", user=erased))
    slack.delay("users.info", 1.5)
    try:
        await react(server, team, cy, ts)
        await slack.wait_for("users.info", user=erased, count=before + 1)
        async with db.session() as session:
            await privacy.erase(session, team_id=team.team_id, user_id=erased)
        slack.delay("users.info", 0)  # Slack answers now, after the erase
        await settle(db, team.team_id)
    finally:
        slack.clear_faults()
    assert found(await dump(db), [erased]) == [], "stored again after their erase"


async def test_a_plus_one_asking_slack_for_a_receiver_erased_meanwhile_stores_nothing_of_them(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    await _erased_while_a_plus_one_asks_slack(server, team, slack, db, who="bob")


async def test_a_plus_one_asking_slack_for_a_giver_erased_meanwhile_stores_nothing_of_them(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    await _erased_while_a_plus_one_asks_slack(server, team, slack, db, who="giver")
