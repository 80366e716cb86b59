"""The SQLite driver that runs each statement in one trip to aiosqlite's thread still keeps
the DBAPI's contract SQLAlchemy relies on: rows, counts, new ids, and errors by their kind."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, exc, text

from bot.db import Database


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


async def test_errors_keep_their_kind_and_the_connection_goes_on(sqlite_db: Database) -> None:
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


async def test_a_locked_database_is_an_operational_error_and_not_a_lost_connection(
    sqlite_db: Database, tmp_path: Path
) -> None:
    await sqlite_db.engine.dispose()  # connections from now on wait 50 ms for a lock, not 30 s

    @event.listens_for(sqlite_db.engine.sync_engine, "connect")
    def _impatient(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=50")
        cur.close()

    holder = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        async with sqlite_db.engine.connect() as conn:
            with pytest.raises(exc.OperationalError, match="database is locked"):
                await conn.execute(text("INSERT INTO t (k, n) VALUES ('x', 0)"))
            await conn.rollback()
            assert not conn.invalidated
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    async with sqlite_db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (k, n) VALUES ('x', 0)"))
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
