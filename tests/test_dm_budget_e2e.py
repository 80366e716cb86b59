"""The daily DM budget between two people and private mutes, end to end: commands and
buttons into `allybot serve`, DMs counted in the Slack double, held items told by a
scheduler pass in the recipient's next daily message."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.db import Database
from bot.models import Commitment, Inbound, Kudos, Nudge
from bot.services import workspace_settings
from bot.services.dm_budget import HELD_KIND
from bot.trust_models import PersonDM
from tests import payloads
from tests.conftest import Server, Team
from tests.slack_double import Call, SlackDouble
from tests.test_commitments_e2e import blocks_of, press, tick, today, working_day_on_or_after
from tests.test_privacy_e2e import export_of

TZ = "Europe/London"
LIMIT = "today's limit"


async def settle(db: Database, team_id: str, timeout: float = 20.0) -> None:
    """Wait until every delivery of the workspace has been worked on."""
    deadline = time.monotonic() + timeout
    while True:
        async with db.session() as session:
            pending = (
                await session.execute(
                    select(func.count())
                    .select_from(Inbound)
                    .where(Inbound.team_id == team_id, Inbound.status == "pending")
                )
            ).scalar_one()
        if not pending:
            return
        assert time.monotonic() < deadline, f"{pending} deliveries still pending"
        await asyncio.sleep(0.02)  # as tests.helpers.settled: most take a few tens of ms


async def set_budget(db: Database, team_id: str, **fields: Any) -> None:
    """The admins' setting, through the service the modal and the settings file share."""
    async with db.session() as session:
        await workspace_settings.apply(
            session,
            team_id=team_id,
            settings=workspace_settings.validate(fields),
            changed_by="test",
            now=datetime.now(UTC),
        )


async def run(server: Server, team: Team, command: str, text: str, user: str) -> str:
    """A slash command; returns the key of its response_url."""
    body, key = team.command(command, text, user_id=user)
    assert (await server.post(body))[0] == 200
    return key


async def promise(
    server: Server, team: Team, slack: SlackDouble, db: Database, owner: str, to: str, what: str
) -> str:
    """`/commit <what> to @to`, then *Looks right*; returns the press's reply key."""
    key = await run(server, team, "/commit", f"{what} to <@{to}|x>", owner)
    reply = (await slack.wait_for("response_url", _key=key))[0]
    pressed = await press(server, slack, team, owner, reply, "commit_confirm")
    await settle(db, team.team_id)
    return pressed


def dms_from(slack: SlackDouble, sender: str, recipient: str) -> list[Call]:
    """DMs a recipient got that one person's action caused (they open with that person)."""
    return [
        c
        for c in slack.calls_to("chat.postMessage", channel=recipient)
        if c.ok and str(c.args.get("text", "")).startswith(f"<@{sender}>")
    ]


def replies(slack: SlackDouble, key: str) -> list[str]:
    return [str(c.args.get("text", "")) for c in slack.calls_to("response_url", _key=key)]


async def held_of(db: Database, team_id: str, user_id: str) -> list[Nudge]:
    async with db.session() as session:
        stmt = select(Nudge).where(
            Nudge.team_id == team_id, Nudge.user_id == user_id, Nudge.kind == HELD_KIND
        )
        return list((await session.execute(stmt.order_by(Nudge.id))).scalars())


async def test_past_the_budget_the_rest_waits_for_the_daily_message_and_the_sender_is_told(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob", tz=TZ)
    presses = [
        await promise(server, team, slack, db, ann, bob, f"task number {i}") for i in range(7)
    ]
    assert len(dms_from(slack, ann, bob)) == 5  # the default budget
    for key in presses[:5]:
        assert not any(LIMIT in r for r in replies(slack, key))
    for key in presses[5:]:
        (note,) = [r for r in replies(slack, key) if LIMIT in r]
        assert f"<@{bob}>" in note and "next daily message" in note
    async with db.session() as session:
        made = (
            await session.execute(select(func.count()).where(Commitment.team_id == team.team_id))
        ).scalar_one()
    assert made == 7  # every promise is recorded, told or held
    assert len(await held_of(db, team.team_id, bob)) == 2

    # A kudos DM from ann is held too; the kudos itself is posted and stored.
    key = await run(server, team, "/kudos", f"<@{bob}|bob> for the clear review", ann)
    await settle(db, team.team_id)
    assert any(LIMIT in r for r in replies(slack, key))
    assert len(dms_from(slack, ann, bob)) == 5
    posted = slack.calls_to("chat.postMessage", channel=team.channel_id)
    assert any("clear review" in json.dumps(blocks_of(c)) for c in posted)
    assert len(await held_of(db, team.team_id, bob)) == 3

    # Someone else still reaches bob: the budget is per pair.
    cy = team.user("cy", tz=TZ)
    await promise(server, team, slack, db, cy, bob, "lend the projector")
    assert len(dms_from(slack, cy, bob)) == 1

    day = working_day_on_or_after(today() + timedelta(days=1))
    await tick(database_url, slack, team, day)
    (daily,) = [
        c
        for c in slack.calls_to("chat.postMessage", channel=bob)
        if "Since your last message" in json.dumps(blocks_of(c))
    ]
    text = json.dumps(blocks_of(daily))
    assert "task number 5" in text and "task number 6" in text and "clear review" in text
    assert text.count("commit_got_it") == 2  # still answerable from the daily message
    assert {n.status for n in await held_of(db, team.team_id, bob)} == {"sent"}


async def test_a_mute_is_private_and_undone_from_home(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann", tz=TZ), team.user("bob", tz=TZ)
    key = await run(server, team, "/ally", f"mute <@{ann}|ann>", bob)
    (reply,) = (await slack.wait_for("response_url", _key=key))[0:1]
    assert f"Muted <@{ann}>" in reply.args["text"] and "not told" in reply.args["text"]

    pressed = await promise(server, team, slack, db, ann, bob, "share the notes")
    # ann hears what she would hear anyway; bob gets nothing.
    (answer,) = [
        c
        for c in slack.calls_to("chat.update", channel="D" + ann[1:])
        if "Tracking *share the notes*" in json.dumps(blocks_of(c))
    ]
    assert f"let <@{bob}> know" in json.dumps(blocks_of(answer))
    assert replies(slack, pressed) == []
    key = await run(server, team, "/kudos", f"<@{bob}|bob> for the calm handover", ann)
    await settle(db, team.team_id)
    assert replies(slack, key) == []  # no refusal, no hint
    assert dms_from(slack, ann, bob) == []
    assert await held_of(db, team.team_id, bob) == []

    # Muted DMs count like sent ones, so the sender's limit notice cannot reveal a mute.
    for i in range(4):
        await promise(server, team, slack, db, ann, bob, f"muted task {i}")
    over = await promise(server, team, slack, db, ann, bob, "one too many")
    assert any(LIMIT in r for r in replies(slack, over))
    assert dms_from(slack, ann, bob) == [] and await held_of(db, team.team_id, bob) == []
    # bob's export lists his mute; ann's shows her DMs as counted, never as muted.
    _, bobs = await export_of(server, team, slack, bob)
    assert [m["muted_id"] for m in bobs["muted"]] == [ann]
    _, anns = await export_of(server, team, slack, ann)
    assert {d["outcome"] for d in anns["dms_caused"]} == {"counted", "held"}
    assert anns["muted"] == [] and "muted" not in json.dumps(anns["dms_caused"])

    # bob's Home shows the mute, and its picker undoes it.
    event = payloads.app_home_opened_event(user=bob, team_id=team.team_id)
    assert (await server.post(payloads.event_callback(event, team_id=team.team_id)))[0] == 200
    home = (await slack.wait_for("views.publish", user_id=bob))[-1]
    view = (
        json.loads(home.args["view"]) if isinstance(home.args["view"], str) else home.args["view"]
    )
    (picker,) = [b for b in view["blocks"] if b.get("block_id") == "home_mutes"]
    assert picker["accessory"]["initial_users"] == [ann]
    body = payloads.block_actions(
        user_id=bob, team_id=team.team_id, action_id="home_mutes", value="", view=view
    )
    payload = json.loads(parse_qs(body)["payload"][0])
    payload["actions"][0] = {
        "type": "multi_users_select",
        "action_id": "home_mutes",
        "block_id": "home_mutes",
        "selected_users": [],
        "action_ts": f"{time.time():.6f}",
    }
    assert (await server.post(payloads.form_payload(payload)))[0] == 200
    await settle(db, team.team_id)
    await set_budget(db, team.team_id, daily_dm_budget=20)
    await promise(server, team, slack, db, ann, bob, "heard again")
    (heard,) = dms_from(slack, ann, bob)
    assert "heard again" in heard.args["text"]


async def test_a_mute_refuses_yourself_and_lists(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann", tz=TZ)
    key = await run(server, team, "/ally", f"mute <@{ann}|ann>", ann)
    assert "can't mute yourself" in (await slack.wait_for("response_url", _key=key))[0].args["text"]
    key = await run(server, team, "/ally", "mute", ann)
    assert (
        "haven't muted anyone" in (await slack.wait_for("response_url", _key=key))[0].args["text"]
    )


# -- generated: no recipient ever gets more than the budget from one sender a day ---------

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["commit", "kudos", "mute", "unmute"]),
        st.integers(0, 2),  # sender
        st.integers(1, 2),  # recipient, as an offset from the sender
    ),
    min_size=1,
    max_size=9,
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(budget=st.integers(1, 3), actions=ACTIONS)
async def test_generated_sends_never_pass_the_budget(
    server: Server, slack: SlackDouble, db: Database, budget: int, actions: list[Any]
) -> None:
    team = Team(slack=slack)
    people = [team.user(n, tz=tz) for n, tz in (("ann", TZ), ("bob", "Asia/Tokyo"), ("cy", TZ))]
    await set_budget(db, team.team_id, daily_dm_budget=budget, daily_kudos_limit=50)
    told: Counter[tuple[str, str]] = Counter()
    muted: set[tuple[str, str]] = set()
    for n, (kind, s, offset) in enumerate(actions):
        sender, recipient = people[s], people[(s + offset) % 3]
        match kind:
            case "commit":
                await promise(server, team, slack, db, sender, recipient, f"item {n}")
                told[(sender, recipient)] += 1
            case "kudos":
                await run(server, team, "/kudos", f"<@{recipient}|x> for step {n}", sender)
                await settle(db, team.team_id)
            case "mute":
                await run(server, team, "/ally", f"mute <@{sender}|x>", recipient)
                muted.add((sender, recipient))
                await settle(db, team.team_id)
            case "unmute":
                await run(server, team, "/ally", f"unmute <@{sender}|x>", recipient)
                muted.discard((sender, recipient))
                await settle(db, team.team_id)
    async with db.session() as session:
        ledger = list(
            (await session.execute(select(PersonDM).where(PersonDM.team_id == team.team_id)))
            .scalars()
            .all()
        )
        kudos = (
            await session.execute(select(func.count()).where(Kudos.team_id == team.team_id))
        ).scalar_one()
    days: set[date] = {row.local_day for row in ledger}
    assert len(days) <= 2  # the run may straddle a midnight somewhere, never more
    for sender in people:
        for recipient in people:
            got = dms_from(slack, sender, recipient)
            assert len(got) <= budget * len(days or {None}), (sender, recipient, budget)
            rows = [r for r in ledger if (r.sender_id, r.recipient_id) == (sender, recipient)]
            assert len(got) == sum(r.outcome == "sent" for r in rows)
            per_day = Counter(r.local_day for r in rows if r.outcome in ("sent", "muted"))
            assert all(v <= budget for v in per_day.values())
    # Every DM-causing act is in the ledger once: nothing was dropped on the floor.
    assert len(ledger) == sum(told.values()) + kudos


async def test_removing_and_adding_a_party_back_counts_every_telling(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """The edit modal tells a re-added party again: a new DM, so it counts and is held past
    the budget (only a retry of the same delivery replays its earlier decision)."""
    ann, bob, cy = (team.user(n, tz=TZ) for n in ("ann", "bob", "cy"))
    await set_budget(db, team.team_id, daily_dm_budget=1)
    key = await run(server, team, "/commit", f"send the plan to <@{bob}> by 2030-01-01", ann)
    reply = (await slack.wait_for("response_url", _key=key))[0]
    await press(server, slack, team, ann, reply, "commit_confirm")
    await settle(db, team.team_id)
    await press(server, slack, team, ann, reply, "commit_edit")
    opened = (
        await slack.wait_for("views.open", where=lambda c: bob in json.dumps(c.args.get("view")))
    )[-1]
    view = opened.args["view"]
    metadata = (json.loads(view) if isinstance(view, str) else view)["private_metadata"]
    for n in range(3):
        for party in (cy, bob):
            body = payloads.view_submission(
                user_id=ann,
                team_id=team.team_id,
                callback_id="commit_modal",
                private_metadata=metadata,
                state_values={
                    "what": {"what": {"type": "plain_text_input", "value": f"plan v{n}"}},
                    "due": {"due": {"type": "datetimepicker", "selected_date_time": 1_900_000_000}},
                    "parties": {
                        "parties": {"type": "multi_users_select", "selected_users": [party]}
                    },
                    "tell": {"tell": {"type": "checkboxes", "selected_options": []}},
                },
            )
            assert (await server.post(body)) == (200, "")
            await settle(db, team.team_id)
    assert len(dms_from(slack, ann, bob)) == 1
    assert len(dms_from(slack, ann, cy)) == 1
    held = await held_of(db, team.team_id, bob)
    assert len(held) == 3 and len(await held_of(db, team.team_id, cy)) == 2
    async with db.session() as session:
        told = (
            await session.execute(
                select(func.count()).where(
                    PersonDM.team_id == team.team_id, PersonDM.recipient_id == bob
                )
            )
        ).scalar_one()
    assert told == 4  # the first telling and three more, each recorded
