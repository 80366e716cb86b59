"""A burst of deliveries acked faster than the work after them: what waits far back is held
by its id alone (its lease still renewed), read back when its turn comes, and done once;
one taken over meanwhile is left to its new owner."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from bot import inbox as inbox_module
from bot.db import Database
from bot.inbox import Fresh, Work
from bot.models import Inbound
from bot.services import inbound, people
from tests.helpers import new_id, running_bot, seed_people
from tests.slack_double import SlackDouble


async def _record(db: Database, team_id: str, count: int, **payload: Any) -> list[Fresh]:
    """Deliveries recorded as a serving process records them: claimed by itself at birth."""
    granted = time.monotonic()
    rows = [
        {"team_id": team_id, "key": f"event:{n}", "kind": "burst", "payload": {"n": n, **payload}}
        for n in range(count)
    ]
    async with db.session() as session:
        ids = await inbound.record_many(
            session, rows=rows, now=datetime.now(UTC), attempts=inbound.CLAIMED_AT_BIRTH
        )
    return [Fresh(ids[(team_id, r["key"])], "burst", team_id, r["payload"], granted) for r in rows]


async def test_a_burst_beyond_what_is_held_in_memory_is_read_back_and_done_once(
    database_url: str, db: Database, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "MAX_AHEAD", 3)
    done: Counter[int] = Counter()
    read_back: list[list[int]] = []
    payloads_of = inbound.payloads_of

    async def counting_payloads_of(session: Any, **kw: Any) -> Any:
        read_back.append([inbound_id for inbound_id, _ in kw["held"]])
        return await payloads_of(session, **kw)

    monkeypatch.setattr(inbound, "payloads_of", counting_payloads_of)

    async def handler(work: Work) -> None:
        done[int(work.body["n"])] += 1
        await asyncio.sleep(0.01)

    team = new_id("T")
    async with running_bot(database_url, slack) as bot:
        bot.inbox.handlers["burst"] = handler
        deliveries = await _record(bot.db, team, 10)
        for fresh in deliveries:
            bot.inbox.submit(fresh)
        await bot.inbox.drain()
    assert done == Counter(range(10)), "each delivery once, with its own payload"
    index = {f.id: n for n, f in enumerate(deliveries)}
    read = [index[i] for ids in read_back for i in ids]
    assert sorted(read) == list(range(3, 10)), "those beyond the third waited by id, once each"
    size = bot.inbox.concurrency
    assert len(read_back) == len({n // size for n in read}), "one read per group started together"
    async with db.session() as session:
        found = await session.execute(
            select(Inbound.status, Inbound.attempts, Inbound.payload).where(Inbound.team_id == team)
        )
        assert {tuple(row) for row in found} == {("done", inbound.CLAIMED_AT_BIRTH, None)}


async def test_what_waited_by_id_is_read_ahead_with_its_group_once_read_back(
    database_url: str, db: Database, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its workspace and the person who acted come with the read-back, in the same
    transaction, as for those held in memory: its handler reads neither again."""
    monkeypatch.setattr(inbox_module, "MAX_AHEAD", 3)
    team = new_id("T")
    actors = await seed_people(db, slack, team_id=team, people=[{}] * 10)
    seen: dict[int, tuple[bool, bool]] = {}

    async def handler(work: Work) -> None:
        seen[int(work.body["n"])] = (work.workspace is not None, work.user_id in work.people)

    async with running_bot(database_url, slack) as bot:
        bot.inbox.handlers["burst"] = handler
        deliveries = await _record(bot.db, team, 10)
        async with bot.db.session() as session:  # as recorded: each payload names its actor
            for n, fresh in enumerate(deliveries):
                fresh.payload["user_id"] = actors[n]  # type: ignore[index]
                await session.execute(
                    update(Inbound).where(Inbound.id == fresh.id).values(payload=fresh.payload)
                )
        for fresh in deliveries:
            bot.inbox.submit(fresh)
        await bot.inbox.drain()
    assert seen == {n: (True, True) for n in range(10)}


async def test_a_delivery_taken_over_while_it_waited_by_id_is_left_to_its_new_owner(
    database_url: str, db: Database, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "MAX_AHEAD", 1)
    done: list[int] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(work: Work) -> None:
        done.append(int(work.body["n"]))
        started.set()
        await release.wait()

    team = new_id("T")
    async with running_bot(database_url, slack) as bot:
        bot.inbox.handlers["burst"] = handler
        first, second = await _record(bot.db, team, 2)
        bot.inbox._limit = asyncio.Semaphore(1)  # one at a time: the second waits its turn
        bot.inbox.submit(first)
        bot.inbox.submit(second)
        await asyncio.wait_for(started.wait(), 10)
        async with bot.db.session() as session:  # another process's recovery claimed it
            await session.execute(update(Inbound).where(Inbound.id == second.id).values(attempts=2))
        release.set()
        await bot.inbox.drain()
        assert second.id not in bot.inbox._held, "its lease is no longer renewed here"
    assert done == [0], "the second is its new owner's to do"
    async with db.session() as session:
        row = await session.get(Inbound, second.id)
        assert row is not None and (row.status, row.attempts) == ("pending", 2)
        await session.delete(row)  # nobody's: no other test's recovery pass may take it


async def test_thousands_of_leases_are_renewed_in_statements_of_a_bounded_size(
    db: Database,
) -> None:
    """A burst can leave thousands waiting in one process; PostgreSQL takes at most 32,767
    parameters in one statement."""
    team = new_id("T")
    deliveries = await _record(db, team, 2 * inbound.RENEW_CHUNK + 500)
    held = {f.id: inbound.CLAIMED_AT_BIRTH for f in deliveries}
    async with db.session() as session:
        renewed = await inbound.renew(session, held=held, now=datetime.now(UTC))
        # Nobody's: no other test's recovery pass may take them once their leases run out.
        await session.execute(delete(Inbound).where(Inbound.team_id == team))
    assert sorted(renewed) == sorted(held)


async def test_work_after_an_ack_waits_for_the_requests_being_answered_but_never_starves(
    database_url: str, db: Database, slack: SlackDouble
) -> None:
    """Acks first: a delivery's work starts once no request is being answered, and after
    ACKS_FIRST_S at the latest however busy the process stays."""
    started: list[int] = []
    began = asyncio.Event()

    async def handler(work: Work) -> None:
        started.append(int(work.body["n"]))
        began.set()

    team = new_id("T")
    async with running_bot(database_url, slack) as bot:
        bot.inbox.handlers["burst"] = handler
        first, second = await _record(bot.db, team, 2)
        with bot.inbox.answering():
            bot.inbox.submit(first)
            await asyncio.sleep(inbox_module.ACKS_FIRST_S / 5)
            assert started == [], "not while a request is being answered"
        await asyncio.wait_for(began.wait(), 5)
        assert started == [0]

        began.clear()
        with bot.inbox.answering():  # a request that takes far longer than the cap
            bot.inbox.submit(second)
            await asyncio.wait_for(began.wait(), inbox_module.ACKS_FIRST_S * 20)
            assert started == [0, 1], "the work went ahead after the cap"
        await bot.inbox.drain()


async def test_the_people_of_a_delivery_are_read_when_its_work_starts(
    database_url: str, db: Database, slack: SlackDouble
) -> None:
    """In a burst the work runs far behind the acks: what earlier work saved (here a new
    person's profile) is read with the deliveries that start after it, not missed because
    they were recorded before it."""
    team, user = new_id("T"), new_id("U")
    saved = asyncio.Event()
    found: dict[int, bool] = {}

    async def handler(work: Work) -> None:
        n = int(work.body["n"])
        found[n] = user in work.people
        if n == 0:
            profile = people.Profile(
                user_id=user, name="ann", tz="UTC", is_bot=False, deleted=False,
                is_admin=False, is_owner=False, locale="en-US",
            )  # fmt: skip
            async with work.db.session() as session:
                await people.ensure_workspace(session, team_id=team)
                await people.save_profiles(
                    session, team_id=team, profiles=[profile], now=datetime.now(UTC)
                )
            saved.set()
        await saved.wait()  # none of the first ones ends before the profile is saved

    async with running_bot(database_url, slack) as bot:
        bot.inbox.handlers["burst"] = handler
        size = bot.inbox.concurrency
        for fresh in await _record(bot.db, team, 2 * size, user_id=user):
            bot.inbox.submit(fresh)  # recorded together: one batch
        await bot.inbox.drain()
    assert found == {n: n >= size for n in range(2 * size)}, "read as each group starts"


async def test_a_shutdown_waits_for_what_is_acked_while_it_waits(
    database_url: str, db: Database, slack: SlackDouble
) -> None:
    """The listener may still answer while the work drains: a delivery recorded then is done
    before the process stops, not left for another process once its lease runs out."""
    team = new_id("T")
    done: list[int] = []
    late: list[Fresh] = []

    async def handler(work: Work) -> None:
        n = int(work.body["n"])
        if n == 0:
            await asyncio.sleep(0.05)  # the drain has begun
            bot.inbox.submit(late[0])  # acked meanwhile
        await asyncio.sleep(0.05)
        done.append(n)

    async with running_bot(database_url, slack) as bot:
        bot.inbox.handlers["burst"] = handler
        first, second = await _record(bot.db, team, 2)
        late.append(second)
        bot.inbox.submit(first)
        await bot.inbox.drain()
        assert sorted(done) == [0, 1], "both done before the drain returned"
    async with db.session() as session:
        found = await session.execute(select(Inbound.status).where(Inbound.team_id == team))
        assert [status for (status,) in found] == ["done", "done"]
