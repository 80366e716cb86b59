"""Statements run on the driver: in the session's transaction, with SQLAlchemy's parameter
handling (JSON, aware datetimes, IN lists), and seen by the engine's statement listeners."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import (
    JSON,
    Table,
    bindparam,
    event,
    inspect,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, asyncpg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import aiosqlite
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.sqltypes import NullType, TupleType
from sqlalchemy.types import TypeDecorator

from bot import on_driver as on_driver_module
from bot.db import BEFORE_TRANSACTION, Database
from bot.logs import describe
from bot.models import Kudos
from bot.on_driver import OnDriver, detached
from bot.services import dm_budget, inbound, kudos, kudos_rows, people
from tests.helpers import new_id

KUDOS = cast(Table, Kudos.__table__)
INSERT = {
    "postgresql": OnDriver(pg_insert(KUDOS).returning(KUDOS.c.id, KUDOS.c.tags)),
    "sqlite": OnDriver(sqlite_insert(KUDOS).returning(KUDOS.c.id, KUDOS.c.tags)),
}
BY_KEYS = OnDriver(
    select(KUDOS.c.source_key, KUDOS.c.created_at)
    .where(KUDOS.c.team_id == bindparam("team_id"))
    .where(KUDOS.c.source_key.in_(bindparam("keys", expanding=True)))
    .order_by(KUDOS.c.source_key)
)


def _row(team_id: str, key: str, at: datetime) -> dict[str, Any]:
    return {
        "team_id": team_id,
        "giver_id": "UGIVER",
        "receiver_id": "URECEIVER",
        "channel_id": None,
        "text": "thanks",
        "tags": ["teamwork", "ünïcode"],
        "source": "command",
        "source_key": key,
        "created_at": at,
    }


async def test_rows_are_written_and_read_in_the_sessions_transaction(db: Database) -> None:
    team = new_id("T")
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC) + timedelta(microseconds=7)
    async with db.session() as session:
        await session.execute(select(1))  # the transaction has begun: on PostgreSQL, the driver
        (stored,) = await INSERT[db.dialect].rows(session, _row(team, "k1", at))
        assert stored[1] == ["teamwork", "ünïcode"], "JSON both ways"
        await INSERT[db.dialect].rows(session, _row(team, "k2", at))
        found = await BY_KEYS.rows(session, {"team_id": team, "keys": ["k2", "k1", "nope"]})
        assert [key for key, _ in found] == ["k1", "k2"], "an IN list spread out"
        assert {when.astimezone(UTC) for _, when in found} == {at}
        # On the driver on both backends: asyncpg, and allybot's aiosqlite connection.
        assert on_driver_module._DRIVER in session.info
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await session.execute(select(1))
            await INSERT[db.dialect].rows(session, _row(team, "k3", at))
            raise RuntimeError("the block fails")
    async with db.session() as session:
        left = await BY_KEYS.rows(session, {"team_id": team, "keys": ["k1", "k2", "k3"]})
    assert [key for key, _ in left] == ["k1", "k2"], "rolled back with the session"


async def test_a_first_statement_begins_the_sessions_transaction(db: Database) -> None:
    """Nothing runs outside the session's transaction: a statement before any other begins
    it (on PostgreSQL on the driver, as SQLAlchemy would), and the session commits or rolls
    it back; listeners see every statement."""
    team = new_id("T")
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        with pytest.raises(RuntimeError):
            async with db.session() as session:
                await INSERT[db.dialect].rows(session, _row(team, "k1", datetime.now(UTC)))
                await INSERT[db.dialect].rows(session, _row(team, "k2", datetime.now(UTC)))
                raise RuntimeError("the block fails")
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    async with db.session() as session:
        left = await BY_KEYS.rows(session, {"team_id": team, "keys": ["k1", "k2"]})
    assert left == [], "both rolled back"
    assert seen.count("INSERT") == 2
    async with db.session() as session:
        await INSERT[db.dialect].rows(session, _row(team, "k3", datetime.now(UTC)))
        # On the driver on both backends: asyncpg, and allybot's aiosqlite connection.
        assert on_driver_module._DRIVER in session.info
    async with db.session() as session:
        left = await BY_KEYS.rows(session, {"team_id": team, "keys": ["k3"]})
    assert [key for key, _ in left] == ["k3"], "committed with the session"


async def test_a_database_error_is_sqlalchemys_with_the_statement_and_no_parameters(
    db: Database,
) -> None:
    """As through the session: the logs show the statement, never what someone wrote."""
    team = new_id("T")
    row = {**_row(team, "k1", datetime.now(UTC)), "text": None, "channel_id": "secret words"}
    with pytest.raises(IntegrityError) as raised:
        async with db.session() as session:
            await session.execute(select(1))
            await INSERT[db.dialect].rows(session, row)
    described = describe(raised.value)
    assert "INSERT INTO kudos" in described
    assert "secret words" not in described


MARK = OnDriver(
    update(KUDOS).where(KUDOS.c.id == bindparam("kid")).values(text=bindparam("new_text"))
)
MARK_RETURNING = OnDriver(cast(Any, MARK.statement).returning(KUDOS.c.id, KUDOS.c.text))
BY_PAIRS = OnDriver(
    select(KUDOS.c.id, KUDOS.c.source_key)
    .where(KUDOS.c.team_id == bindparam("team_id"))
    .where(tuple_(KUDOS.c.id, KUDOS.c.source_key).in_(bindparam("pairs", expanding=True)))
    .order_by(KUDOS.c.id)
)


async def test_many_rows_in_one_executemany_and_pairs_in_a_tuple_list(db: Database) -> None:
    """`many` runs one statement for each row of parameters in the session's transaction
    (listeners see it once, as an executemany); a list of pairs is spread out as an IN of
    tuples on both backends."""
    team = new_id("T")
    at = datetime.now(UTC)
    seen: list[tuple[str, bool]] = []

    def record(*args: Any) -> None:
        seen.append((args[2].split(None, 1)[0].upper(), args[5]))

    async with db.session() as session:
        await session.execute(select(1))
        ids = [(await INSERT[db.dialect].rows(session, _row(team, k, at)))[0][0] for k in "abc"]
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        try:
            await MARK.many(
                session, [{"kid": ids[0], "new_text": "x"}, {"kid": ids[2], "new_text": "z"}]
            )
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        found = await BY_PAIRS.rows(
            session, {"team_id": team, "pairs": [(ids[0], "a"), (ids[1], "nope"), (ids[2], "c")]}
        )
        assert [key for _, key in found] == ["a", "c"]
    assert seen == [("UPDATE", True)]
    async with db.session() as session:
        texts = dict(
            (
                await session.execute(select(KUDOS.c.id, KUDOS.c.text).where(KUDOS.c.id.in_(ids)))
            ).all()
        )
    assert [texts[i] for i in ids] == ["x", "thanks", "z"]


async def test_a_detached_row_is_taken_as_stored(db: Database) -> None:
    """An object built from a row read on the driver is like one loaded and detached: a
    session it is added to never INSERTs it, and its attributes carry no pending change."""
    team = new_id("T")
    async with db.session() as session:
        await session.execute(select(1))
        (stored,) = await INSERT[db.dialect].rows(session, _row(team, "k1", datetime.now(UTC)))
    keys = ("id", "team_id", "text")
    row = detached(Kudos, keys, (stored[0], team, "thanks"))
    assert inspect(row).detached and not inspect(row).modified
    async with db.session() as session:
        session.add(row)
        assert not session.new and not session.dirty
        await session.flush()
        row.text = "changed"  # a change made while it is held is saved like any loaded row's
    async with db.session() as session:
        again = await session.get(Kudos, stored[0])
        assert again is not None and again.text == "changed"
        assert again.source_key == "k1", "columns not given were left alone"


async def test_many_updates_return_the_rows_they_changed_on_both_backends(db: Database) -> None:
    """An UPDATE … RETURNING given many rows of parameters returns each row it changed, and
    nothing for one that matches no row (SQLite runs it one row of parameters at a time)."""
    team = new_id("T")
    at = datetime.now(UTC)
    async with db.session() as session:
        ids = [(await INSERT[db.dialect].rows(session, _row(team, k, at)))[0][0] for k in "ab"]
        changed = await MARK_RETURNING.many(
            session,
            [
                {"kid": ids[0], "new_text": "x"},
                {"kid": -1, "new_text": "y"},
                {"kid": ids[1], "new_text": "z"},
            ],
        )
    assert sorted(changed) == sorted([(ids[0], "x"), (ids[1], "z")])


@pytest.fixture
async def one_connection(database_url: str, backend: str) -> Any:
    """PostgreSQL with a pool of one connection: every session reuses it. (SQLite runs no
    script: its check rides in the first statement's trip, bot.sqlite_driver.)"""
    if backend != "postgresql":
        pytest.skip("SQLite: a delivery's check rides in its first statement's trip")
    database = Database(database_url, pool_size=1, max_overflow=0)
    yield database
    await database.dispose()


async def _first_with_script(db: Database, script: str, sent: list[str]) -> None:
    """A transaction whose first statements are a script (as a delivery's fence is), its
    queries to the database logged as asyncpg sends them."""

    def guard(connection: Any) -> None:
        driver = connection.connection.dbapi_connection._connection
        driver.add_query_logger(lambda record: sent.append(record.query))
        on_driver_module.run_script_now(connection, script)

    token = BEFORE_TRANSACTION.set(guard)
    try:
        async with db.session() as session:
            await session.execute(select(1))
    finally:
        BEFORE_TRANSACTION.reset(token)


async def _begins_and_commits(db: Database) -> None:
    """A transaction with a script begins and commits: the connection under it is sound."""
    sent: list[str] = []
    await _first_with_script(db, "SELECT 5", sent)
    assert sent[0].startswith("BEGIN") and sent[-1] == "COMMIT;", sent


async def test_a_script_beginning_a_transaction_rides_in_the_trip_of_its_begin(
    one_connection: Database,
) -> None:
    sent: list[str] = []
    await _first_with_script(one_connection, "SELECT 2; SELECT 3", sent)
    assert sent[0] == "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 2; SELECT 3", sent
    assert sent[-1] == "COMMIT;" and not any("BEGIN" in q for q in sent[1:]), sent


async def test_a_script_failing_after_its_begin_is_rolled_back_and_the_connection_reused(
    one_connection: Database,
) -> None:
    sent: list[str] = []
    with pytest.raises(DBAPIError) as raised:
        await _first_with_script(one_connection, "SELECT 1 / 0", sent)
    assert getattr(raised.value.orig, "sqlstate", None) == "22012", "the script's own error"
    assert [q.split()[0].upper() for q in sent] == ["BEGIN", "ROLLBACK;"], sent
    async with one_connection.session() as session:  # the same connection, clean
        assert await session.scalar(select(7)) == 7
        raw = await (await session.connection()).get_raw_connection()
        assert raw.dbapi_connection._connection is not None


async def test_a_transaction_cancelled_in_the_trip_of_its_begin_leaves_a_clean_connection(
    one_connection: Database,
) -> None:
    """Cancelled while the BEGIN and its script are on their way (a delivery's work ended by
    shutdown): the connection goes back rolled back, and the next transaction begins on it."""
    sent: list[str] = []  # asyncpg logs a query once it has ended
    task = asyncio.create_task(_first_with_script(one_connection, "SELECT pg_sleep(3)", sent))
    await asyncio.sleep(0.5)  # on its way by then (else cancelled sooner: the same holds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sent[-1] == "ROLLBACK;", sent
    for _ in range(2):
        await _begins_and_commits(one_connection)


async def _pid_of(db: Database) -> int:
    """The server process of the connection a session of `db` draws from its pool."""
    async with db.session() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)


async def _end_backend(db: Database, pid: int, pooled: Database | None = None) -> None:
    """Ended by the server, as a restart or an administrator ends it; with `pooled`, once
    the connection waiting in its pool has seen its end."""
    async with db.session() as session:
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    if pooled is None:
        return
    async with pooled.engine.connect() as conn:  # no trip: the pool hands it as it is
        raw: Any = await conn.get_raw_connection()
        for _ in range(1000):
            if raw.dbapi_connection._connection.is_closed():
                break
            await asyncio.sleep(0.01)


async def test_a_connection_ended_in_the_trip_of_its_begin_is_not_handed_out_again(
    one_connection: Database, db: Database
) -> None:
    """The server ends the connection while the BEGIN and its script are on their way (a
    restart, an administrator): that transaction fails, and the next begins on a new
    connection, not on the dead one."""
    pid, key = await _pid_of(one_connection), int(new_id("")[-6:], 16)
    async with db.session() as holder:  # the script waits for this lock
        await holder.execute(text("SELECT pg_advisory_xact_lock(7, :key)"), {"key": key})
        script = f"SELECT pg_advisory_xact_lock_shared(7, {key})"
        task = asyncio.create_task(_first_with_script(one_connection, script, []))
        waiting = text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted")
        for _ in range(1000):  # until the script waits on the server
            if await holder.scalar(waiting, {"pid": pid}):
                break
            await asyncio.sleep(0.01)
        await _end_backend(db, pid)
        with pytest.raises(DBAPIError):
            await task
    for _ in range(2):
        await _begins_and_commits(one_connection)
    assert await _pid_of(one_connection) != pid


async def test_a_pooled_connection_ended_while_idle_fails_one_transaction_only(
    one_connection: Database, db: Database
) -> None:
    """Ended while it waited in the pool, within the idle time that skips its ping: the
    first transaction on it fails as its BEGIN finds it dead (with a script, or a statement
    on the driver), the next begins on a new connection."""
    for first in ("script", "driver"):
        pid = await _pid_of(one_connection)
        await _end_backend(db, pid, pooled=one_connection)
        with pytest.raises(DBAPIError):
            if first == "script":
                await _first_with_script(one_connection, "SELECT 5", [])
            else:
                async with one_connection.session() as session:
                    await BY_KEYS.rows(session, {"team_id": "T", "keys": ["k"]})
        await _begins_and_commits(one_connection)
        assert await _pid_of(one_connection) != pid


async def test_a_pooled_connection_left_in_a_transaction_nobody_began_is_not_reused(
    one_connection: Database, db: Database
) -> None:
    """A connection handed back inside a transaction that SQLAlchemy's adapter does not
    know of (begun outside it) would have a BEGIN riding with a fence only warn, and the
    fenced commit commit what that transaction left. It is refused as asyncpg refuses it,
    and not handed out again."""
    table = f"left_{new_id('').lower()}"
    async with one_connection.engine.connect() as conn:
        raw: Any = await conn.get_raw_connection()
        pid = await raw.dbapi_connection._connection.fetchval("SELECT pg_backend_pid()")
        await raw.dbapi_connection._connection.execute(f"BEGIN; CREATE TABLE {table} (x int)")
    with pytest.raises(DBAPIError):
        await _first_with_script(one_connection, "SELECT 5", [])
    await _begins_and_commits(one_connection)
    assert await _pid_of(one_connection) != pid
    async with db.session() as session:
        assert await session.scalar(text(f"SELECT to_regclass('{table}')")) is None


def _statements_on_the_driver() -> list[tuple[str, str | None, OnDriver]]:
    """Every statement allybot's services keep for the driver: where, for which backend
    (None: either), and the statement."""
    found: list[tuple[str, str | None, OnDriver]] = []
    for module in (dm_budget, inbound, kudos, kudos_rows, people):
        for name, value in vars(module).items():
            each = value.items() if isinstance(value, dict) else [(None, value)]
            found += [
                (f"{module.__name__}.{name}", key, v) for key, v in each if isinstance(v, OnDriver)
            ]
    return found


# Parameters whose type the statement leaves open.
UNTYPED = {"keys": [11, 12], "shared": True, "until": datetime(2026, 12, 6, 9, 30, tzinfo=UTC)}


def _example(name: str, kind: Any) -> Any:
    """A value of a parameter's type."""
    if name in UNTYPED:
        return UNTYPED[name]
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, ARRAY):
        return [_example("", kind.item_type)]
    if isinstance(kind, TupleType):
        return [tuple(_example("", t) for t in kind.types)]
    if isinstance(kind, NullType):
        return "en-US"
    python = dict if isinstance(kind, JSON) else kind.python_type
    return {
        str: "U0ANN",
        int: 7,
        bool: True,
        datetime: datetime(2026, 12, 6, 9, 30, tzinfo=UTC),
        date: date(2026, 12, 6),
        dict: {"a": [1, "é"]},
    }[python]


def _spread(name: str, bind: Any, n: int) -> list[Any]:
    """A list of n values for an expanding parameter (of tuples for a tuple IN), distinct so
    that their order shows."""
    if name in UNTYPED:
        return [UNTYPED[name]] * n
    if isinstance(bind.type, TupleType):
        return [tuple(_example("", t) for t in bind.type.types) for _ in range(n)]
    one = _example(name, bind.type)
    return [f"{one}{i}" if isinstance(one, str) else one + i for i in range(n)]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_statement_is_bound_as_sqlalchemy_would_bind_it(backend: str) -> None:
    """Without a list spread into the SQL, `bound` takes the compiled SQL and the values in
    order itself: the same SQL and values as SQLAlchemy's expansion, for every statement."""
    dialect = asyncpg.dialect() if backend == "postgresql" else aiosqlite.dialect()
    checked = 0
    for where, only, statement in _statements_on_the_driver():
        if only not in (None, backend):
            continue
        compiled = cast(Any, statement.statement).compile(dialect=dialect)
        # Lists of several lengths, each length twice: the second finds its SQL kept.
        for n in (1, 3, 0, 3, 1):
            params = {
                name: _spread(name, bind, n) if bind.expanding else _example(name, bind.type)
                for name, bind in compiled.binds.items()
                if bind.value is None and bind.callable is None and not name.startswith("%")
            }
            sql, args = statement.bound(dialect, params)
            built = statement._compiled[(dialect.name, tuple(sorted(params)))]
            expanded = on_driver_module._expanded(built.compiled, built.processors, params)
            assert (sql, args) == expanded, (where, n)
        checked += 1
    assert checked >= 8


async def test_a_parameter_whose_name_sqlalchemy_escapes_is_bound_on_both_paths(
    db: Database,
) -> None:
    """A bind name with a character SQLAlchemy escapes in the SQL (a dot, a space, a
    bracket) is bound as the session would bind it, spread out into an IN or not."""
    team = new_id("T")
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    async with db.session() as session:
        await INSERT[db.dialect].rows(session, _row(team, "k.1", at))
        one = OnDriver(
            select(KUDOS.c.source_key, KUDOS.c.created_at).where(
                KUDOS.c.team_id == bindparam("team.id"),
                KUDOS.c.created_at >= bindparam("since [utc]"),
            )
        )
        spread = OnDriver(
            select(KUDOS.c.source_key).where(
                KUDOS.c.team_id == bindparam("team.id"),
                KUDOS.c.source_key.in_(bindparam("the keys", expanding=True)),
            )
        )
        assert await one.rows(session, {"team.id": team, "since [utc]": at}) == [("k.1", at)]
        assert await spread.rows(session, {"team.id": team, "the keys": ["k.1", "k2"]}) == [
            ("k.1",)
        ]
