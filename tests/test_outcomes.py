"""The end of a delivery's work is committed in batches: each delivery is marked done with
its own steps only while this process still holds it, and one bad step costs no other
delivery its outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.models import Inbound, Kudos
from bot.outcomes import Outcomes
from bot.recorder import Recorder
from bot.services import inbound
from bot.services.kudos_rows import Marks
from tests.helpers import a_kudos, new_id


async def _deliveries(db: Database, team: str, n: int) -> list[int]:
    async with db.session() as session:
        ids = await inbound.record_many(
            session,
            rows=[
                {"team_id": team, "key": f"k{i}", "kind": "test", "payload": {"i": i}}
                for i in range(n)
            ],
            now=datetime.now(UTC),
            attempts=inbound.CLAIMED_AT_BIRTH,
        )
    return [ids[(team, f"k{i}")] for i in range(n)]


async def _kudos(db: Database, team: str, n: int) -> list[int]:
    rows = [a_kudos(team, "UGIVER", f"U{i}", key=f"s{i}", channel_id="C1") for i in range(n)]
    async with db.session() as session:
        session.add_all(rows)
        await session.flush()
        return [r.id for r in rows]


async def _state(db: Database, ids: list[int]) -> dict[int, tuple[str, int, Any]]:
    async with db.session() as session:
        found = await session.execute(
            select(Inbound.id, Inbound.status, Inbound.attempts, Inbound.payload).where(
                Inbound.id.in_(ids)
            )
        )
        return {i: (s, a, p) for i, s, a, p in found}


async def _take_over(db: Database, delivery: int) -> None:
    """Another process's recovery claims the delivery: its version moves on by one."""
    async with db.session() as session:
        await session.execute(
            update(Inbound).where(Inbound.id == delivery).values(attempts=Inbound.attempts + 1)
        )


def _told(kudos_id: int) -> Marks:
    marks = Marks()
    marks.notified[kudos_id] = datetime.now(UTC)
    return marks


async def _end_together(db: Database, *runs: tuple[int, int, Marks]) -> list[bool]:
    """(delivery, claim version, marks) ended in one batch, as concurrent runs end."""
    outcomes = Outcomes(db)
    try:
        return await asyncio.gather(*(outcomes.done(d, attempt=v, steps=[m]) for d, v, m in runs))
    finally:
        await outcomes.close()


async def _notified(db: Database, team: str) -> dict[int, datetime | None]:
    async with db.session() as session:
        found = await session.execute(
            select(Kudos.id, Kudos.notified_at).where(Kudos.team_id == team)
        )
        return {i: at for i, at in found}


async def test_a_batch_marks_each_delivery_done_with_its_own_marks_in_one_go(db: Database) -> None:
    team = new_id("T")
    deliveries = await _deliveries(db, team, 4)
    kudos_ids = await _kudos(db, team, 4)
    now = datetime.now(UTC)
    steps = []
    for k in kudos_ids:
        marks = Marks()
        marks.announced[k] = ("C1", f"1700000000.{k:06d}", now)
        marks.notified[k] = now
        steps.append(marks)
    outcomes = Outcomes(db)
    try:
        results = await asyncio.gather(
            *(
                outcomes.done(d, attempt=inbound.CLAIMED_AT_BIRTH, steps=[m])
                for d, m in zip(deliveries, steps, strict=True)
            )
        )
    finally:
        await outcomes.close()
    assert results == [True] * 4
    state = await _state(db, deliveries)
    assert {s for s, _, _ in state.values()} == {"done"}
    assert all(p is None for _, _, p in state.values())  # the payload goes when it ends
    async with db.session() as session:
        found = await session.execute(
            select(Kudos.id, Kudos.post_ts, Kudos.notified_at).where(Kudos.id.in_(kudos_ids))
        )
        rows = {i: (ts, told) for i, ts, told in found}
    assert {i: ts for i, (ts, _) in rows.items()} == {k: f"1700000000.{k:06d}" for k in kudos_ids}
    assert all(told is not None for _, told in rows.values())


async def test_a_delivery_taken_over_meanwhile_is_not_marked_and_its_steps_do_not_run(
    db: Database,
) -> None:
    """A process that stalled past its lease must not end what the process that took the
    delivery over now owns, nor record marks for posts it may not have made."""
    team = new_id("T")
    mine, taken = await _deliveries(db, team, 2)
    kept, lost = await _kudos(db, team, 2)
    await _take_over(db, taken)  # version 2
    results = await _end_together(db, (mine, 1, _told(kept)), (taken, 1, _told(lost)))
    assert results == [True, False]
    state = await _state(db, [mine, taken])
    assert state[mine][0] == "done"
    assert state[taken][:2] == ("pending", 2) and state[taken][2] == {"i": 1}
    told = await _notified(db, team)
    assert told[kept] is not None and told[lost] is None


async def test_one_failing_step_costs_only_its_own_delivery_the_outcome(db: Database) -> None:
    team = new_id("T")
    deliveries = await _deliveries(db, team, 3)

    async def broken(session: AsyncSession) -> None:
        raise RuntimeError("step failed")

    outcomes = Outcomes(db)
    try:
        results = await asyncio.gather(
            outcomes.done(deliveries[0], attempt=1, steps=[]),
            outcomes.done(deliveries[1], attempt=1, steps=[broken]),
            outcomes.done(deliveries[2], attempt=1, steps=[]),
            return_exceptions=True,
        )
    finally:
        await outcomes.close()
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], RuntimeError)
    state = await _state(db, deliveries)
    assert [state[d][0] for d in deliveries] == ["done", "pending", "done"]


async def test_a_serving_process_stores_what_it_records_already_claimed_and_workers_do_not(
    db: Database,
) -> None:
    """A process that works on its own deliveries needs no claim after the ack; one that
    leaves them to worker processes stores them unclaimed for the workers to take."""
    team = new_id("T")
    recorder = Recorder(db)
    try:
        recorder.claimed = True
        here = await recorder.record(team_id=team, key="a", kind="test", payload={})
        recorder.claimed = False
        for_workers = await recorder.record(team_id=team, key="b", kind="test", payload={})
        again = await recorder.record(team_id=team, key="a", kind="test", payload={})
    finally:
        await recorder.close()
    assert here is not None and for_workers is not None and again is None
    state = await _state(db, [here, for_workers])
    assert state[here][1] == inbound.CLAIMED_AT_BIRTH and state[for_workers][1] == 0


async def test_a_stale_run_and_the_run_that_took_over_in_one_batch_only_the_owner_ends_it(
    db: Database,
) -> None:
    """The same delivery at two claim versions in one batch (a run that stalled past its lease,
    and this process's own recovery of it): only the version the database holds is marked,
    and only its steps run; the stale run hears that it lost."""
    team = new_id("T")
    (delivery,) = await _deliveries(db, team, 1)
    stale_kudos, owner_kudos = await _kudos(db, team, 2)
    await _take_over(db, delivery)  # version 2
    results = await _end_together(
        db, (delivery, 1, _told(stale_kudos)), (delivery, 2, _told(owner_kudos))
    )
    assert results == [False, True]
    assert (await _state(db, [delivery]))[delivery][:2] == ("done", 2)
    told = await _notified(db, team)
    assert told[owner_kudos] is not None and told[stale_kudos] is None


async def test_a_mark_writes_only_what_it_marks(db: Database) -> None:
    """One delivery told a receiver of a kudos whose post an earlier one made, another made
    a post and told nobody: neither clears what the other wrote."""
    team = new_id("T")
    first, second = await _deliveries(db, team, 2)
    posted_before, told_later = await _kudos(db, team, 2)
    async with db.session() as session:
        await session.execute(
            update(Kudos).where(Kudos.id == posted_before).values(post_ts="1700000000.000001")
        )
    now = datetime.now(UTC)
    posting = Marks()
    posting.announced[told_later] = ("C1", "1700000000.000002", now)
    assert await _end_together(db, (first, 1, _told(posted_before)), (second, 1, posting)) == [
        True,
        True,
    ]
    async with db.session() as session:
        found = await session.execute(
            select(Kudos.id, Kudos.post_channel_id, Kudos.post_ts, Kudos.notified_at).where(
                Kudos.team_id == team
            )
        )
        rows = {i: (c, ts, told is not None) for i, c, ts, told in found}
    assert rows[posted_before] == (None, "1700000000.000001", True)
    assert rows[told_later] == ("C1", "1700000000.000002", False)


async def test_on_postgresql_a_batch_of_marks_is_one_statement_without_a_transaction(
    db: Database, monkeypatch: Any
) -> None:
    """No BEGIN, no COMMIT: the deliveries marked done and their marks written by one
    statement, atomic on its own; a batch with no steps too."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite writes a batch in a transaction of its own")
    team = new_id("T")
    deliveries = await _deliveries(db, team, 3)
    (kudos_id,) = await _kudos(db, team, 1)
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    def no_session() -> Any:
        raise AssertionError("a transaction was opened")

    monkeypatch.setattr(db, "session", no_session)
    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await _end_together(db, (deliveries[0], 1, _told(kudos_id))) == [True]
        outcomes = Outcomes(db)
        try:
            assert await asyncio.gather(
                *(outcomes.done(d, attempt=1, steps=[]) for d in deliveries[1:])
            ) == [True, True]
        finally:
            await outcomes.close()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert len(sent) <= 3 and all("UPDATE inbound" in s for s in sent), sent
    assert "UPDATE kudos" in sent[0]
    monkeypatch.undo()
    assert {s for s, _, _ in (await _state(db, deliveries)).values()} == {"done"}
    assert (await _notified(db, team))[kudos_id] is not None


async def test_on_postgresql_a_batch_whose_connection_ends_mid_statement_costs_no_other_work(
    database_url: str, backend: str
) -> None:
    """The server ends the connection while the batch's one statement runs (a restart, an
    administrator): that batch fails, and the next statement on the pool (the ack's
    recording of the next event) gets a live connection, not the dead one."""
    if backend != "postgresql":
        pytest.skip("SQLite writes a batch in a transaction of its own")
    db = Database(database_url, pool_size=1, max_overflow=0)
    other = Database(database_url)
    try:
        team = new_id("T")
        (delivery,) = await _deliveries(db, team, 1)
        (kudos_id,) = await _kudos(db, team, 1)
        async with db.one_statement() as conn:
            pid = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        outcomes = Outcomes(db)
        try:
            async with other.session() as holder:  # the batch's UPDATE waits for this lock
                await holder.execute(
                    select(Inbound.id).where(Inbound.id == delivery).with_for_update()
                )
                task = asyncio.create_task(
                    outcomes.done(delivery, attempt=1, steps=[_told(kudos_id)])
                )
                waiting = text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted")
                for _ in range(1000):
                    if await holder.scalar(waiting, {"pid": pid}):
                        break
                    await asyncio.sleep(0.01)
                await holder.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DBAPIError):
                await task
        finally:
            await outcomes.close()
        async with db.one_statement() as conn:  # at once: within the pool's idle ping time
            assert await conn.scalar(select(7)) == 7
        async with db.session() as session:
            assert await session.scalar(select(8)) == 8
    finally:
        await db.dispose()
        await other.dispose()


async def test_two_deliveries_of_one_kudos_in_one_batch_keep_both_marks(db: Database) -> None:
    """One kudos row reached by two deliveries (a kudos reaction and the message shortcut on
    the same message share its source) that end in one batch: one posted it, the other told
    its receiver; both marks are kept, as when each ends in a batch of its own."""
    team = new_id("T")
    posting_delivery, telling_delivery = await _deliveries(db, team, 2)
    (kudos_id,) = await _kudos(db, team, 1)
    posting = Marks()
    posting.announced[kudos_id] = ("C1", "1700000000.000003", datetime.now(UTC))
    assert await _end_together(
        db, (posting_delivery, 1, posting), (telling_delivery, 1, _told(kudos_id))
    ) == [True, True]
    async with db.session() as session:
        found = (
            await session.execute(
                select(Kudos.post_channel_id, Kudos.post_ts, Kudos.notified_at).where(
                    Kudos.id == kudos_id
                )
            )
        ).one()
    assert found[:2] == ("C1", "1700000000.000003"), "the post's mark"
    assert found[2] is not None, "the receiver's"
