"""A run that stalls past its lease (a GC pause, a starved CPU, a hung call) and finds the
delivery taken over by another process neither reaches Slack again nor records its outcome
over the new owner's; a live run keeps its delivery however long it takes; a run whose
delivery was erased with a person it names writes nothing more."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from bot.db import Database
from bot.inbox import Fresh, Work
from bot.models import Inbound, Kudos, Workspace
from bot.services import inbound, privacy
from bot.services.people import ensure_workspace
from tests.helpers import a_kudos, new_id, running_bot
from tests.slack_double import SlackDouble


async def _record(db: Database, team_id: str, n: int, **payload: str) -> Fresh:
    """A delivery recorded as a serving process records it: claimed by itself at birth."""
    granted, key = time.monotonic(), f"event:{new_id('Ev')}"
    body = {"n": n, **payload}
    async with db.session() as session:
        ids = await inbound.record_many(
            session,
            rows=[{"team_id": team_id, "key": key, "kind": "post", "payload": body}],
            now=datetime.now(UTC),
            attempts=inbound.CLAIMED_AT_BIRTH,
        )
    return Fresh(ids[(team_id, key)], "post", team_id, body, granted)


async def _row(db: Database, row_id: int) -> Inbound:
    async with db.session() as session:
        row = (await session.execute(select(Inbound).where(Inbound.id == row_id))).scalar_one()
    return row


def _posted(slack: SlackDouble, user_id: str) -> list[str]:
    return [
        str(c.args.get("text")) for c in slack.calls_to("chat.postMessage", channel=user_id) if c.ok
    ]


class _Stallable:
    """A handler that posts one DM per delivery, and on the run told to stall waits first
    (its renewals stopped too: the whole process stalls, as in a long GC pause) until the
    test lets it go on; `outcome_team` is a workspace its outcome step would create."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.stall_version: int | None = None
        self.stalled = asyncio.Event()
        self.go_on = asyncio.Event()
        self.outcome_team = new_id("T")
        self.raise_after_post = False

    async def __call__(self, work: Work) -> None:
        if work.attempt == self.stall_version:
            self.stalled.set()
            await self.go_on.wait()

        async def outcome(session: object) -> None:
            await ensure_workspace(session, team_id=self.outcome_team)  # type: ignore[arg-type]

        work.on_outcome.append(outcome)
        await work.client.chat_postMessage(
            channel=self.user_id, text=f"delivery {work.body['n']} run {work.attempt}"
        )
        if self.raise_after_post and work.attempt == self.stall_version:
            raise RuntimeError("failed after the post")


async def test_a_run_that_stalled_past_its_lease_does_not_post_again_or_finish_over_the_new_owner(
    fresh_db: tuple[str, Database], slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claims the delivery and stalls past its lease (its renewals stall too); B takes it
    over and finishes it, posting once; A then wakes up: it posts nothing, and its finish
    leaves B's outcome alone."""
    url, _ = fresh_db
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=1))  # 10 s in production
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=60))  # stalled: none
    user = new_id("U")
    slack.add_user(user, team_id="T1")
    handler = _Stallable(user)
    handler.stall_version = 1
    async with running_bot(url, slack) as a, running_bot(url, slack) as b:
        for bot in (a, b):
            bot.inbox.handlers["post"] = handler
        fresh = await _record(a.db, new_id("T"), 1)
        row_id = fresh.id
        a.inbox.submit(fresh)
        await asyncio.wait_for(handler.stalled.wait(), 10)
        await asyncio.sleep(inbound.LEASE.total_seconds() + 0.2)  # A's lease runs out
        assert await b.inbox.recover(dead_only=True) == 1
        taken_over = await _row(a.db, row_id)
        b_run = f"delivery 1 run {taken_over.attempts}"
        assert taken_over.status == "done" and taken_over.attempts > 1
        assert _posted(slack, user) == [b_run], "the recovered run posted once"

        handler.go_on.set()  # A wakes up, its lease long gone
        await a.inbox.drain()
    assert _posted(slack, user) == [b_run], "A did not post a second time"
    after = await _row(a.db, row_id)
    assert (after.status, after.attempts, after.finished_at) == (
        "done",
        taken_over.attempts,
        taken_over.finished_at,
    ), "A's finish left B's outcome as it was"
    async with a.db.session() as session:
        created = await session.get(Workspace, handler.outcome_team)
    assert created is not None, "B's outcome step was committed with B's finish"


async def test_a_run_whose_claim_was_taken_while_its_lease_looked_fresh_records_no_outcome(
    database_url: str, db: Database, slack: SlackDouble
) -> None:
    """Another process claimed the delivery (its version moved) while this run remembered a
    fresh lease: the run may reach Slack (it cannot know without asking), but its finish
    matches nothing, and the outcome steps committed with it are rolled back."""
    user = new_id("U")
    slack.add_user(user, team_id="T1")
    handler = _Stallable(user)
    handler.stall_version = 1
    async with running_bot(database_url, slack) as a:
        a.inbox.handlers["post"] = handler
        fresh = await _record(a.db, new_id("T"), 2)
        row_id = fresh.id
        a.inbox.submit(fresh)
        await asyncio.wait_for(handler.stalled.wait(), 10)
        async with a.db.session() as session:  # another process's claim, version 2
            await session.execute(
                update(Inbound).where(Inbound.id == row_id).values(attempts=Inbound.attempts + 1)
            )
        before = await _row(a.db, row_id)
        handler.go_on.set()
        await a.inbox.drain()
    assert _posted(slack, user) == ["delivery 2 run 1"]
    after = await _row(a.db, row_id)
    assert (after.status, after.attempts, after.payload) == ("pending", 2, before.payload)
    assert after.lease_until == before.lease_until
    async with a.db.session() as session:
        assert await session.get(Workspace, handler.outcome_team) is None, "rolled back"


async def test_a_failure_after_losing_the_lease_leaves_the_new_owners_row_alone(
    database_url: str, db: Database, slack: SlackDouble
) -> None:
    user = new_id("U")
    slack.add_user(user, team_id="T1")
    handler = _Stallable(user)
    handler.stall_version = 1
    handler.raise_after_post = True
    async with running_bot(database_url, slack) as a:
        a.inbox.handlers["post"] = handler
        fresh = await _record(a.db, new_id("T"), 3)
        row_id = fresh.id
        a.inbox.submit(fresh)
        await asyncio.wait_for(handler.stalled.wait(), 10)
        async with a.db.session() as session:
            await session.execute(
                update(Inbound).where(Inbound.id == row_id).values(attempts=Inbound.attempts + 1)
            )
        before = await _row(a.db, row_id)
        handler.go_on.set()
        await a.inbox.drain()
    assert _posted(slack, user) == ["delivery 3 run 1"]
    after = await _row(a.db, row_id)
    assert (after.status, after.error, after.lease_until) == ("pending", None, before.lease_until)
    async with a.db.session() as session:
        assert await session.get(Workspace, handler.outcome_team) is None


async def test_a_live_run_past_half_its_lease_asks_once_and_posts(
    database_url: str, db: Database, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path asks the database nothing; a run whose last grant is older than half
    the lease confirms it (one UPDATE) and, still the owner, posts and finishes once."""
    user = new_id("U")
    slack.add_user(user, team_id="T1")
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=2))
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=60))  # no renewal meanwhile
    asked: list[int] = []
    confirm = inbound.confirm

    async def counting_confirm(session: object, **kw: int | datetime) -> bool:
        asked.append(int(kw["inbound_id"]))  # type: ignore[arg-type]
        return await confirm(session, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(inbound, "confirm", counting_confirm)
    waits = {1: 0.0, 2: inbound.LEASE.total_seconds() * 0.7}

    async def post(work: Work) -> None:
        n = int(work.body["n"])
        await work.client.chat_postMessage(channel=user, text=f"first {n}")
        await asyncio.sleep(waits[n])
        await work.client.chat_postMessage(channel=user, text=f"second {n}")

    async with running_bot(database_url, slack) as a:
        a.inbox.handlers["post"] = post
        quick = await _record(a.db, new_id("T"), 1)
        slow = await _record(a.db, new_id("T"), 2)
        a.inbox.submit(quick)
        a.inbox.submit(slow)
        await a.inbox.drain()
    assert asked == [slow.id], "only the run past half its lease asked, once"
    assert sorted(_posted(slack, user)) == ["first 1", "first 2", "second 1", "second 2"]
    assert [(await _row(a.db, r.id)).status for r in (quick, slow)] == ["done", "done"]


async def _erase_while_a_transaction_is_under_way(
    db: Database, team: str, bob: str
) -> asyncio.Task[None]:
    """bob's erase, started while a run's transaction naming him is under way: it waits."""

    async def erase() -> None:
        async with db.session() as session:
            await privacy.erase(session, team_id=team, user_id=bob)

    erasing = asyncio.create_task(erase())
    await asyncio.sleep(0.3)
    assert not erasing.done(), "the erase waits for the transaction under way"
    return erasing


class _Erasable:
    """A handler whose delivery names `bob`: it writes once, posts once, then waits for the
    test (which erases bob meanwhile) and tries to write and post again."""

    def __init__(self, bob: str, written_team: str) -> None:
        self.bob = bob
        self.written_team = written_team
        self.paused = asyncio.Event()
        self.go_on = asyncio.Event()
        self.second_write_team = new_id("T")

    async def __call__(self, work: Work) -> None:
        async with work.db.session() as session:
            session.add(a_kudos(self.written_team, new_id("U"), self.bob))
        await work.client.chat_postMessage(channel=self.bob, text="first")
        self.paused.set()
        await self.go_on.wait()
        try:
            await work.client.chat_postMessage(channel=self.bob, text="second")
        finally:
            async with work.db.session() as session:
                await ensure_workspace(session, team_id=self.second_write_team)


async def run_meddled(
    database_url: str,
    slack: SlackDouble,
    handler: _Erasable,
    meddle: Callable[[Database, Fresh], Awaitable[None]],
    **payload: str,
) -> Fresh:
    """A delivery worked on by `handler`, and `meddle` (an erase, another process's claim)
    done while the handler waits; returns once the run is over and leases were renewed."""
    async with running_bot(database_url, slack) as a:
        a.inbox.handlers["post"] = handler
        fresh = await _record(a.db, handler.written_team, 1, **payload)
        a.inbox.submit(fresh)
        await asyncio.wait_for(handler.paused.wait(), 10)
        await meddle(a.db, fresh)
        await asyncio.sleep(3 * inbound.RENEW_EVERY.total_seconds())
        handler.go_on.set()
        await a.inbox.drain()
    return fresh


def erasing(team_id: str, user_id: str) -> Callable[[Database, Fresh], Awaitable[None]]:
    async def erase(db: Database, _fresh: Fresh) -> None:
        async with db.session() as session:
            await privacy.erase(session, team_id=team_id, user_id=user_id)

    return erase


async def test_a_run_whose_delivery_was_erased_writes_and_posts_nothing_more(
    database_url: str, db: Database, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob erases his data while a delivery naming him is being worked on: the erase deletes
    the delivery, so the run's next transaction writes nothing, its next Slack call (once a
    lease renewal found the delivery gone) does not go out, and no outcome is kept."""
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=0.2))
    bob, team = new_id("U"), new_id("T")
    slack.add_user(bob, team_id="T1")
    handler = _Erasable(bob, team)
    fresh = await run_meddled(
        database_url, slack, handler, erasing(team, bob), text=f"kudos <@{bob}> for the demo"
    )
    async with db.session() as session:
        assert await session.get(Inbound, fresh.id) is None
        assert await session.get(Workspace, handler.second_write_team) is None
        kept = (await session.execute(select(Kudos).where(Kudos.team_id == team))).scalars()
        assert [k.receiver_id for k in kept] != [bob], "the erase rewrote the first write"
    assert _posted(slack, bob) == ["first"], "nothing posted after the erase"


async def test_an_erase_waits_for_a_transaction_under_way_then_rewrites_what_it_wrote(
    database_url: str, db: Database, slack: SlackDouble
) -> None:
    """A run's transaction that passed its fence before the erase began holds its delivery
    until it commits: the erase waits for it (PostgreSQL; SQLite runs one writer at a time)
    and then finds what it wrote, so nothing naming bob is left."""
    bob, team = new_id("U"), new_id("T")
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def give(work: Work) -> None:
        async with work.db.session() as session:
            session.add(a_kudos(team, new_id("U"), bob))
            await session.flush()
            inside.set()
            await go_on.wait()

    async with running_bot(database_url, slack) as a:
        a.inbox.handlers["post"] = give
        fresh = await _record(a.db, team, 1, text=f"kudos <@{bob}>")
        a.inbox.submit(fresh)
        await asyncio.wait_for(inside.wait(), 10)

        erasing = await _erase_while_a_transaction_is_under_way(a.db, team, bob)
        go_on.set()
        await asyncio.wait_for(erasing, 10)
        await a.inbox.drain()
        async with a.db.session() as session:
            kept = list(
                (await session.execute(select(Kudos).where(Kudos.team_id == team))).scalars()
            )
            assert len(kept) == 1 and kept[0].receiver_id != bob
            # Gone, or marked done (its payload dropped) by the run's outcome just before the
            # erase's DELETE looked at it: either way nothing of it names bob.
            left = await session.get(Inbound, fresh.id)
            assert left is None or (left.payload is None and bob not in left.key)


async def test_a_delivery_recorded_while_an_erase_waits_is_erased_whole_or_kept_whole(
    database_url: str, db: Database, slack: SlackDouble
) -> None:
    """The erase waits for a transaction of one delivery naming bob; another naming bob is
    recorded meanwhile and its run's transaction begins (PostgreSQL; SQLite runs one writer
    at a time). Either the erase took that delivery, and then nothing its run wrote is left,
    or it came after the erase and its run ends as usual."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no transaction begins during an erase")
    bob, team = new_id("U"), new_id("T")
    inside = [asyncio.Event(), asyncio.Event()]
    go_on = [asyncio.Event(), asyncio.Event()]

    async def give(work: Work) -> None:
        n = work.body["n"]
        async with work.db.session() as session:
            session.add(a_kudos(team, new_id("U"), bob))
            await session.flush()
            inside[n].set()
            await go_on[n].wait()

    async with running_bot(database_url, slack) as a:
        a.inbox.handlers["post"] = give
        first = await _record(a.db, team, 0, text=f"kudos <@{bob}>")
        a.inbox.submit(first)
        await asyncio.wait_for(inside[0].wait(), 10)

        erasing = await _erase_while_a_transaction_is_under_way(a.db, team, bob)
        second = await _record(a.db, team, 1, text=f"kudos <@{bob}> too")
        a.inbox.submit(second)
        # Its transaction begins now, or (once the erase holds its lock) after the erase.
        await asyncio.wait([asyncio.ensure_future(inside[1].wait())], timeout=1)
        go_on[0].set()
        await asyncio.wait([erasing], timeout=1)  # it may wait for the second one's too
        go_on[1].set()
        await asyncio.wait_for(erasing, 10)
        await a.inbox.drain()
        async with a.db.session() as session:
            kept = (await session.execute(select(Kudos).where(Kudos.team_id == team))).scalars()
            to_bob = [k for k in kept if k.receiver_id == bob]
            row = await session.get(Inbound, second.id)
        if row is None:  # the erase took it
            assert to_bob == [], "an erased delivery's run wrote after the erase"
        else:
            assert row.status == "done" and len(to_bob) == 1


async def test_transactions_read_committed_whatever_the_databases_default(
    fresh_db: tuple[str, Database],
) -> None:
    """The fence checks its delivery after waiting for an erase's lock and must see what that
    erase committed: a database whose default is REPEATABLE READ does not change that."""
    url, db = fresh_db
    if db.dialect != "postgresql":
        pytest.skip("SQLite has no isolation levels to choose")
    name = db.engine.url.database
    async with db.engine.connect() as conn:
        await conn.exec_driver_sql(
            f"ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'"
        )
        await conn.commit()
    other = Database(url)
    try:
        async with other.session() as session:
            level = (await session.execute(text("SHOW transaction_isolation"))).scalar_one()
        async with other.engine.connect() as conn:
            default = (
                await conn.exec_driver_sql("SHOW default_transaction_isolation")
            ).scalar_one()
    finally:
        await other.dispose()
    assert (default, level) == ("repeatable read", "read committed")
