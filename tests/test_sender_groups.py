"""The sender's grouped writes: concurrent sends share transactions, one bad send fails
alone, a workspace takes at most its share of the sends in flight, many workspaces go out in
one pass with each message once, and the tips of a group are chosen together as they would
be one by one."""

from __future__ import annotations

import asyncio
from collections import Counter, deque

from sqlalchemy import select

from bot.db import Database
from bot.group_commit import GroupCommit
from bot.models import Nudge, OutboxMessage, TipShown
from bot.services import tips
from scheduler.planner import run_pass
from scheduler.sender import Slots
from tests.helpers import at, messages_of, new_id, nudges_of, running_bot, seed_people
from tests.slack_double import SlackDouble

TZ = "Europe/London"


class Recorder:
    """A group writer that records each group it was given, and refuses the item `bad`."""

    def __init__(self, bad: int | None = None) -> None:
        self.groups: list[list[int]] = []
        self.bad = bad
        self.running = self.most_at_once = 0

    async def run(self, group: list[int]) -> list[int]:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(0.01)
            if self.bad in group:
                raise ValueError(f"refused {self.bad}")
            self.groups.append(group)
            return [item * 10 for item in group]
        finally:
            self.running -= 1


async def test_items_submitted_together_are_written_in_few_groups() -> None:
    writer = Recorder()
    grouped: GroupCommit[int, int] = GroupCommit(writer.run, name="items", each_alone=True)
    results = await asyncio.gather(*(grouped.submit(i) for i in range(20)))
    assert results == [i * 10 for i in range(20)]
    assert len(writer.groups) == 1  # all 20 were queued before the writer first ran
    assert sorted(i for group in writer.groups for i in group) == list(range(20))


async def test_items_arriving_while_a_group_is_written_go_in_the_next_one_at_a_time() -> None:
    writer = Recorder()
    grouped: GroupCommit[int, int] = GroupCommit(writer.run, name="items", each_alone=True)

    async def later(i: int) -> int:
        await asyncio.sleep(0.002 * i)  # one by one, while groups are being written
        return await grouped.submit(i)

    assert await asyncio.gather(*(later(i) for i in range(30))) == [i * 10 for i in range(30)]
    assert writer.most_at_once == 1 and 1 < len(writer.groups) < 30


async def test_one_bad_item_fails_alone_and_the_rest_of_its_group_is_written() -> None:
    writer = Recorder(bad=7)
    grouped: GroupCommit[int, int] = GroupCommit(writer.run, name="items", each_alone=True)
    results = await asyncio.gather(*(grouped.submit(i) for i in range(12)), return_exceptions=True)
    assert isinstance(results[7], ValueError)
    assert [r for i, r in enumerate(results) if i != 7] == [i * 10 for i in range(12) if i != 7]


def row_of(team_id: str, n: int) -> OutboxMessage:
    return OutboxMessage(id=n, team_id=team_id, kind="daily")


async def test_a_workspace_with_its_share_of_slots_waits_while_others_go_ahead() -> None:
    slots = Slots(3, per_team=2)
    waiting = deque([row_of("TA", 1), row_of("TA", 2), row_of("TA", 3), row_of("TB", 4)])
    taken = [await slots.take(waiting) for _ in range(3)]
    assert [r.id for r in taken] == [1, 2, 4]  # the third of TA waits for one of TA's slots
    later = asyncio.create_task(slots.take(waiting))
    await slots.give("TB")  # a slot frees, but TA still has its two
    await asyncio.sleep(0.01)
    assert not later.done()
    await slots.give("TA")
    assert (await asyncio.wait_for(later, 1)).id == 3 and not waiting


async def test_many_workspaces_in_one_pass_each_person_once_through_429s(
    fresh_db: tuple[str, Database], slack: SlackDouble
) -> None:
    url, db = fresh_db
    teams = [new_id("T") for _ in range(3)]
    people = {
        team: await seed_people(
            db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "daily"}] * 7
        )
        for team in teams
    }
    everyone = {uid for ids in people.values() for uid in ids}
    # Retry-After: 0, the same 429s and retries without their second's wait each.
    slack.fail("chat.postMessage", status=429, retry_after=0, times=5)
    try:
        async with running_bot(url, slack) as bot:
            result = await run_pass(bot, now=at("2026-11-26 09:00", TZ))
            again = await run_pass(bot, now=at("2026-11-26 09:30", TZ))
    finally:
        slack.clear_faults()
    assert (result.sent.sent, again.sent.sent) == (len(everyone), 0)
    accepted = Counter(
        c.args["channel"]
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") in everyone
    )
    assert set(accepted) == everyone and set(accepted.values()) == {1}
    for team in teams:
        rows = await messages_of(db, team)
        assert [r.status for r in rows] == ["sent"] * 7
        assert len({r.ts for r in rows}) == 7 and all(r.sending_at for r in rows)
        assert {n.status for n in await nudges_of(db, team)} == {"sent"}


async def test_two_tips_for_one_person_in_one_group_differ_as_one_by_one(db: Database) -> None:
    team, user = new_id("T"), new_id("U")
    day = at("2026-11-26 09:00", TZ)
    async with db.session() as session:
        nudges = [
            Nudge(
                team_id=team,
                user_id=user,
                kind="tip",
                subject="tip",
                period=f"2026-11-{d}",
                local_day=day.date(),
                status="planned",
            )
            for d in (25, 26)
        ]
        session.add_all(nudges)
        await session.flush()
        picked = await tips.pick_for_nudges(session, nudges)
        again = await tips.pick_for_nudges(session, nudges)
    first, second = (picked[n.id][0] for n in nudges)
    assert first.id != second.id and first.category != second.category
    assert {n: t.id for n, (t, _) in again.items()} == {n: t.id for n, (t, _) in picked.items()}
    async with db.session() as session:
        shown = (await session.execute(select(TipShown).where(TipShown.team_id == team))).all()
    assert len(shown) == 2
