"""The SQLite driver that runs each statement in one trip to aiosqlite's thread still keeps
the DBAPI's contract SQLAlchemy relies on: rows, counts, new ids, and errors by their kind;
its transactions cost no trip of their own, and its pool serves the ack's recording first.
`on_the_loop` skips the trip where nothing can wait, and keeps the same contract."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, exc, insert, text

from bot import sqlite_driver
from bot.db import Database
from bot.on_driver import OnDriver
from bot.services import privacy, report
from bot.sqlite_driver import Check, on_the_loop
from tests.conftest import Templates


@pytest.fixture(params=["thread", "loop"])
def where(request: pytest.FixtureRequest) -> Iterator[None]:
    """The test's statements in trips to aiosqlite's thread, or `on_the_loop`."""
    with on_the_loop() if request.param == "loop" else contextlib.nullcontext():
        yield


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'driver.db'}")
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, n INT)")
    try:
        yield db
    finally:
        await db.dispose()


async def test_rows_come_whole_in_any_helping_fetchmany_included(sqlite_db: Database) -> None:
    async with sqlite_db.engine.connect() as conn:
        result = await conn.execute(text("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3"))
        assert result.fetchmany(1) == [(1,)]
        assert result.fetchmany() == [(2,)]  # the cursor's arraysize: one row by default
        assert result.fetchall() == [(3,)]


async def test_new_ids_and_counts_are_those_sqlite_reports(sqlite_db: Database) -> None:
    async with sqlite_db.engine.begin() as conn:
        first = await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
        assert first.lastrowid == 1 and first.rowcount == 1
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0), ('c', 0)"))
        many = await conn.execute(
            text("UPDATE t SET n = :n WHERE k = :k"), [{"n": 1, "k": "a"}, {"n": 2, "k": "c"}]
        )
        assert many.rowcount == 2
        returned = await conn.execute(text("UPDATE t SET n = n + 1 RETURNING k"))
        assert sorted(returned.scalars()) == ["a", "b", "c"]
        assert returned.rowcount == 3


async def test_errors_keep_their_kind_and_the_connection_goes_on(
    sqlite_db: Database, where: None
) -> None:
    async with sqlite_db.engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
        await conn.commit()
        with pytest.raises(exc.IntegrityError):
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 1)"))
        await conn.rollback()
        with pytest.raises(exc.OperationalError, match="no such table"):
            await conn.execute(text("SELECT * FROM missing"))
        await conn.rollback()
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    assert not conn.invalidated


async def connecting_with(db: Database, pragma: str) -> None:
    """Connections made from now on run `pragma` after allybot's own (those open are closed)."""
    await db.engine.dispose()

    @event.listens_for(db.engine.sync_engine, "connect")
    def _then(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(pragma)
        cur.close()


async def impatient(db: Database) -> None:
    """Connections from now on wait 50 ms for a lock, not 30 s."""
    await connecting_with(db, "PRAGMA busy_timeout=50")


@contextlib.contextmanager
def another_process_writing(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process holds the database's write lock until the block ends or it lets go
    (`ROLLBACK` on what this yields)."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


async def test_a_locked_database_is_an_operational_error_and_not_a_lost_connection(
    sqlite_db: Database, tmp_path: Path, where: None
) -> None:
    await impatient(sqlite_db)
    with another_process_writing(tmp_path / "driver.db"):
        async with sqlite_db.engine.connect() as conn:
            with pytest.raises(exc.OperationalError, match="database is locked"):
                await conn.execute(text("INSERT INTO t (k, n) VALUES ('x', 0)"))
            await conn.rollback()
            assert not conn.invalidated
    async with sqlite_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('x', 0)"))
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What each trip to aiosqlite's thread ran, in order."""
    ran: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        ran.append(str(args[1]) if len(args) > 1 else fn.__name__)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return ran


async def counting_from_now(db: Database, trips: list[str]) -> None:
    """The pool's connection made (opening it takes trips of its own), then the count starts."""
    async with db.engine.begin() as conn:
        await conn.execute(text("SELECT 1"))
    trips.clear()


def _count(path: Path) -> int:
    """Rows in t as another process sees them: only what was committed."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        return int(other.execute("SELECT count(*) FROM t").fetchone()[0])


async def test_a_transaction_costs_one_trip_more_than_its_statements(
    sqlite_db: Database, trips: list[str], tmp_path: Path
) -> None:
    await counting_from_now(sqlite_db, trips)
    async with sqlite_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0)"))
    # BEGIN IMMEDIATE went with the first statement; the pool's reset after COMMIT sent nothing.
    assert trips == [
        "INSERT INTO t (k, n) VALUES ('a', 0)",
        "INSERT INTO t (k, n) VALUES ('b', 0)",
        "commit",
    ]
    assert _count(tmp_path / "driver.db") == 2


async def test_the_recording_is_one_trip_and_committed_when_its_block_ends(
    sqlite_db: Database, trips: list[str], tmp_path: Path
) -> None:
    await counting_from_now(sqlite_db, trips)
    async with sqlite_db.one_statement() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
        assert _count(tmp_path / "driver.db") == 1  # durable before the ack may go
    assert len(trips) == 1


async def test_a_recording_that_fails_stores_nothing_and_the_connection_goes_on(
    sqlite_db: Database, tmp_path: Path, where: None
) -> None:
    async with sqlite_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
    with pytest.raises(exc.IntegrityError):
        async with sqlite_db.one_statement() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0), ('a', 1)"))
    assert _count(tmp_path / "driver.db") == 1
    async with sqlite_db.one_statement() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0)"))
    assert _count(tmp_path / "driver.db") == 2


async def test_a_second_statement_after_the_recording_is_a_transaction_of_its_own(
    sqlite_db: Database, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError):
        async with sqlite_db.one_statement() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0)"))
            raise RuntimeError("the block failed after both")
    assert _count(tmp_path / "driver.db") == 1  # the first committed by itself, as on PostgreSQL


async def test_a_begin_that_found_the_database_locked_is_sent_again(
    sqlite_db: Database, tmp_path: Path, where: None
) -> None:
    await impatient(sqlite_db)
    with another_process_writing(tmp_path / "driver.db") as holder:
        async with sqlite_db.engine.connect() as conn:
            with pytest.raises(exc.OperationalError, match="database is locked"):
                await conn.execute(text("INSERT INTO t (k, n) VALUES ('x', 0)"))
            holder.execute("ROLLBACK")
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('y', 0)"))
            await conn.rollback()  # the INSERT ran in a transaction, not on its own
    assert _count(tmp_path / "driver.db") == 0


class _Gone(Exception):
    """The delivery a transaction works for is gone (bot.lease)."""


async def test_a_check_whose_begin_found_the_database_locked_rides_with_the_next_statement(
    sqlite_db: Database, tmp_path: Path, where: None
) -> None:
    # The delivery's check goes with the transaction's first statement; a BEGIN that found
    # the database locked is sent again with the next one, and so is the check: else that
    # statement, now the first, would write for a delivery gone.
    await impatient(sqlite_db)
    with another_process_writing(tmp_path / "driver.db") as holder:
        async with sqlite_db.engine.connect() as conn:
            await conn.begin()
            raw = await conn.get_raw_connection()
            adapter: Any = raw.dbapi_connection
            adapter.check_first(Check("SELECT 1 WHERE 0", (), _Gone))
            with pytest.raises(exc.OperationalError, match="database is locked"):
                await conn.execute(text("INSERT INTO t (k, n) VALUES ('x', 0)"))
            holder.execute("ROLLBACK")
            with pytest.raises(_Gone):
                await conn.execute(text("INSERT INTO t (k, n) VALUES ('y', 0)"))
            await conn.rollback()
    assert _count(tmp_path / "driver.db") == 0


async def test_the_recording_gets_the_connection_before_the_work_waiting_for_it(
    sqlite_db: Database,
) -> None:
    order: list[str] = []
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with sqlite_db.engine.begin() as conn:
            await conn.execute(text("SELECT 1"))
            held.set()
            await release.wait()

    async def work(name: str) -> None:
        async with sqlite_db.engine.begin() as conn:
            order.append(name)
            await conn.execute(text("SELECT 1"))

    async def recording() -> None:
        async with sqlite_db.one_statement() as conn:
            order.append("recording")
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('r', 0)"))

    holding = asyncio.create_task(holder())
    await held.wait()
    waiting = [asyncio.create_task(work(f"work {i}")) for i in range(3)]
    gives_up = asyncio.create_task(work("cancelled"))
    await asyncio.sleep(0.05)  # all of them waiting for the one connection
    recorded = asyncio.create_task(recording())
    await asyncio.sleep(0.05)
    gives_up.cancel()
    release.set()
    await asyncio.gather(holding, recorded, *waiting)
    assert order == ["recording", "work 0", "work 1", "work 2"]
    async with sqlite_db.engine.begin() as conn:  # nothing lost with the one that gave up
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


async def test_a_recording_that_ran_nothing_leaves_the_next_transaction_whole(
    sqlite_db: Database, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError):
        async with sqlite_db.one_statement():
            raise RuntimeError("failed before its statement")
    async with sqlite_db.engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0)"))
        await conn.rollback()
    assert _count(tmp_path / "driver.db") == 0


_T = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("k", String))
_ADD = OnDriver(insert(_T).returning(_T.c.id))


async def test_a_statement_on_the_driver_cancelled_mid_trip_leaves_nothing_to_the_next(
    sqlite_db: Database, tmp_path: Path
) -> None:
    # Cancelled (a shutdown) while its BEGIN IMMEDIATE waits for the other process's lock:
    # the trip still runs in aiosqlite's thread once the lock is free. Through SQLAlchemy's
    # execution the connection is then invalidated; on the driver, the next user of the
    # pool's one connection must not find that transaction open, nor commit its row.
    async def give() -> None:
        async with sqlite_db.session() as session:
            await _ADD.rows(session, {"k": "cancelled"})

    with another_process_writing(tmp_path / "driver.db"):
        task = asyncio.create_task(give())
        await asyncio.sleep(0.3)  # in the thread, its BEGIN waiting for the lock
        task.cancel()
        await asyncio.sleep(0.1)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    async with sqlite_db.session() as session:
        await _ADD.rows(session, {"k": "next"})
    with contextlib.closing(sqlite3.connect(tmp_path / "driver.db")) as other:
        assert [k for (k,) in other.execute("SELECT k FROM t ORDER BY id")] == ["next"]
    # Nor is the write lock left held by a transaction nobody ends.
    await asyncio.sleep(0.3)
    with contextlib.closing(sqlite3.connect(tmp_path / "driver.db", timeout=0.5)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")


async def test_on_the_loop_a_transaction_and_its_commit_take_no_trip(
    sqlite_db: Database, trips: list[str], tmp_path: Path
) -> None:
    await counting_from_now(sqlite_db, trips)
    with on_the_loop():
        async with sqlite_db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
            assert _count(tmp_path / "driver.db") == 0  # not before its COMMIT
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0)"))
        async with sqlite_db.one_statement() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('c', 0)"))
            assert _count(tmp_path / "driver.db") == 3  # the recording's, durable at once
        with pytest.raises(exc.IntegrityError):
            async with sqlite_db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (k, n) VALUES ('d', 0)"))
                await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 1)"))
    assert trips == []
    assert _count(tmp_path / "driver.db") == 3  # the failed transaction's first row rolled back


async def test_on_the_loop_a_locked_database_is_waited_for_in_the_thread(
    sqlite_db: Database, trips: list[str], tmp_path: Path
) -> None:
    # Another process holds the write lock: the BEGIN is not waited for on the event loop's
    # thread (everything else would stop) but in a trip, with the connection's busy timeout.
    await counting_from_now(sqlite_db, trips)
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    with another_process_writing(tmp_path / "driver.db") as holder:
        ticker = asyncio.create_task(ticking())
        asyncio.get_running_loop().call_later(0.3, holder.execute, "ROLLBACK")
        with on_the_loop():
            async with sqlite_db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
                await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0)"))
        ticker.cancel()
    assert ticks >= 10  # the loop went on while the statement waited
    # The first statement waited in the thread; the rest of its transaction, which holds the
    # lock, ran on the loop. The busy timeout is the connection's again after the try.
    assert trips == ["INSERT INTO t (k, n) VALUES ('a', 0)"]
    assert _count(tmp_path / "driver.db") == 2
    async with sqlite_db.engine.connect() as conn:
        timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
        await conn.rollback()
    assert timeout == 30000


async def test_on_the_loop_the_log_is_checkpointed_in_a_trip_every_so_many_commits(
    sqlite_db: Database, trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await counting_from_now(sqlite_db, trips)
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 1)
    with on_the_loop():
        async with sqlite_db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
        assert trips == ["_checkpoint"]
        # The ack's recording, a transaction in its statement's run, never waits for one.
        async with sqlite_db.one_statement() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0)"))
        assert trips == ["_checkpoint"]
        async with sqlite_db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('c', 0)"))
    assert trips == ["_checkpoint", "_checkpoint"]  # SQLite's own, in a COMMIT, is off
    async with sqlite_db.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one() == 0
        await conn.rollback()


async def test_on_the_loop_a_report_an_export_and_an_erase_still_run_in_the_thread(
    templates: Templates, tmp_path: Path, trips: list[str]
) -> None:
    # A delivery's work runs `on_the_loop`, and some of it reads or deletes without bound (a
    # workspace's report over its whole history, an erase that reads every delivery's
    # payload): those statements must go to aiosqlite's thread, else every ack waits.
    async with templates.copy("sqlite", tmp_path) as url:
        db = Database(url)
        try:
            async with db.session() as session:  # its connection made before counting
                await session.execute(text("SELECT 1"))
            now = datetime.now(UTC)
            with on_the_loop():
                for run in (
                    lambda s: report.build(s, team_id="T1", until=now),
                    lambda s: privacy.export(s, team_id="T1", user_id="U1", now=now),
                    lambda s: privacy.erase(s, team_id="T1", user_id="U1"),
                ):
                    trips.clear()
                    async with db.session() as session:
                        await run(session)
                    assert len(trips) > 2, trips
        finally:
            await db.dispose()


async def test_a_checkpoint_that_fails_does_not_fail_the_commit_before_it(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: None
) -> None:
    # The transaction is durable once its COMMIT returns; the checkpoint after it is upkeep
    # (as SQLite's own, whose failure no COMMIT ever reported). Reported as the commit's
    # failure, a recorded delivery would be answered as not recorded.
    def failing(_raw: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 1)
    monkeypatch.setattr(sqlite_driver, "_checkpoint", failing)
    async with sqlite_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
    async with sqlite_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0)"))
    assert _count(tmp_path / "driver.db") == 2
    async with sqlite_db.engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('c', 0)"))
        await conn.commit()
        assert not conn.invalidated
    assert _count(tmp_path / "driver.db") == 3


async def test_after_a_begin_taken_at_once_on_the_loop_the_thread_still_waits_for_the_lock(
    sqlite_db: Database, tmp_path: Path
) -> None:
    # The BEGIN tried without waiting took the lock: the connection's busy timeout must be
    # back all the same, or the next statement sent to the thread (a lease's renewal, the
    # recovery pass) fails at once with "database is locked" instead of waiting its turn.
    with on_the_loop():
        async with sqlite_db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
    with another_process_writing(tmp_path / "driver.db") as holder:
        asyncio.get_running_loop().call_later(0.2, holder.execute, "ROLLBACK")
        async with sqlite_db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('b', 0)"))
    assert _count(tmp_path / "driver.db") == 2


async def test_the_checkpoint_copies_the_log_into_the_database_and_a_commit_does_not(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "driver.db"
    big = "x" * 400_000  # 100 pages: written to the log, then to the database's file

    async def write(k: str) -> int:
        before = path.stat().st_size
        with on_the_loop():
            async with sqlite_db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (k, n) VALUES (:k, 0)"), {"k": k + big})
        return path.stat().st_size - before

    assert await write("a") < len(big)  # in the log only
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 1)
    assert await write("b") > 1.5 * len(big)  # both rows copied into the database


async def test_with_a_rollback_journal_nothing_runs_on_the_loop(
    sqlite_db: Database, trips: list[str], tmp_path: Path
) -> None:
    # Without a write-ahead log (a file system where WAL is refused), a COMMIT waits for the
    # readers of other processes to finish: nothing may run on the event loop's thread then.
    await connecting_with(sqlite_db, "PRAGMA journal_mode=DELETE")
    await counting_from_now(sqlite_db, trips)
    with on_the_loop():
        async with sqlite_db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, n) VALUES ('a', 0)"))
    assert trips == ["INSERT INTO t (k, n) VALUES ('a', 0)", "commit"]
    assert _count(tmp_path / "driver.db") == 1
