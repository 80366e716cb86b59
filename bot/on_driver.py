"""The statements every kudos runs, sent to the driver itself (asyncpg; on SQLite allybot's
one-trip aiosqlite connection, bot.sqlite_driver), in the session's transaction.

Through SQLAlchemy's session a statement costs 0.1 to 0.4 ms of CPU beyond the driver's own
(building the execution context, processing parameters and results, the ORM's bulk paths,
and on SQLite the hand-overs between SQLAlchemy's greenlet and the event loop): more than the
round trip to the database (benchmarks/README.md, "statements on the driver"). The
statement stays a SQLAlchemy construct, compiled once per dialect, its values bound and its
results read by its types' own processors; only its execution skips the layers. Listeners of
the engine's `before_cursor_execute` (statement counts, plan checks) still see it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import asyncpg
from asyncpg.transaction import TransactionState
from sqlalchemy import any_, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import QueryableAttribute, class_mapper, make_transient_to_detached
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, ColumnElement, Executable
from sqlalchemy.sql.sqltypes import TupleType
from sqlalchemy.util import await_, is_exit_exception

from bot.db import dialect_of
from bot.sqlite_driver import OneTripConnection


class OnDriver:
    """One statement, run on asyncpg directly where that is safe, else through the session.
    A column default set in Python (the models' `default=`) is not computed on the driver:
    such a statement is refused there; give every column a value."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        # Compiled once per backend and set of parameter names (_Built).
        self._compiled: dict[tuple[str, tuple[str, ...]], _Built] = {}

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The statement's rows (or RETURNING rows) as tuples, in the session's transaction."""
        driver = await _driver(session)
        if driver is None:
            return [tuple(row) for row in await session.execute(self.statement, dict(params))]
        sql, args = self.bound(driver.dialect, params)
        await driver.notify(session, sql, args, many=False)
        try:
            found = await driver.fetch(sql, args)
        except BaseException as exc:
            await driver.cut_short(session, exc)
            raise
        return self._built(driver.dialect, params).read(found)

    async def many(
        self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Any, ...]]:
        """The statement once per row of parameters, as one executemany (one prepared
        statement, one trip; no IN lists), in the session's transaction; every row names the
        same parameters. Returns the RETURNING rows of them all, in no particular order."""
        if not rows:
            return []
        driver = await _driver(session)
        built = self._built(driver.dialect, rows[0]) if driver is not None else None
        returning = built is not None and built.compiled.effective_returning
        if driver is not None and returning and not driver.returns_many:
            driver = built = None  # SQLAlchemy's way (SQLite: one INSERT of many VALUES)
        if driver is None and self._one_at_a_time(session.get_bind().dialect):
            return [row for params in rows for row in await self.rows(session, params)]
        if driver is None or built is None:
            result = await session.execute(self.statement, [dict(params) for params in rows])
            returns = cast(CursorResult[Any], result).returns_rows
            return [tuple(row) for row in result] if returns else []
        bound = [self.bound(driver.dialect, params) for params in rows]
        sql, many = bound[0][0], [args for _, args in bound]
        await driver.notify(session, sql, many, many=True)
        try:
            if not built.compiled.effective_returning:
                await driver.execute_many(sql, many)
                return []
            return built.read(await driver.fetch_many(sql, many))
        except BaseException as exc:
            await driver.cut_short(session, exc)
            raise

    async def alone(
        self, conn: AsyncConnection, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The statement's rows, run on its own on a connection in autocommit
        (Database.one_statement: atomic by itself, without BEGIN or COMMIT)."""
        raw = await conn.get_raw_connection()
        adapter: Any = raw.dbapi_connection
        if conn.dialect.name != "postgresql" or adapter.isolation_level != "autocommit":
            return [tuple(row) for row in await conn.execute(self.statement, dict(params))]
        driver = _Driver(adapter._connection, conn.sync_engine)
        sql, args = self.bound(driver.dialect, params)
        if driver.engine.dispatch.before_cursor_execute:
            driver.engine.dispatch.before_cursor_execute(
                conn.sync_connection, None, sql, args, None, False
            )
        try:
            return await driver.fetch(sql, args)
        except BaseException as exc:
            # In autocommit no rollback follows to find it closed (as after a statement in a
            # transaction): the pool would hand the dead connection to the next caller.
            if _lost(adapter, exc):
                await conn.invalidate(exc)
            raise

    def _one_at_a_time(self, dialect: Dialect) -> bool:
        """An UPDATE … RETURNING the dialect runs for one row of parameters at a time only
        (SQLite: no executemany with RETURNING for an UPDATE)."""
        statement: Any = self.statement
        return (
            getattr(statement, "is_update", False)
            and bool(statement.returning_column_descriptions)
            and not dialect.update_executemany_returning
        )

    def bound(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL for these parameters (a list given to an IN is spread out, as SQLAlchemy
        does) and the values in order, each through its type's bind processor."""
        built = self._built(dialect, params)
        compiled, processors = built.compiled, built.processors
        if compiled.post_compile_params or compiled.literal_execute_params:
            return built.spread(params)
        # Nothing spread out (lists go as arrays, `among`): the SQL as compiled and the values
        # in its order. SQLAlchemy's expansion would copy both on every call. Values by the
        # names `positiontup` holds: unescaped (a bind named `a.b` is `a_b` in the SQL).
        values = compiled.construct_params(dict(params), escape_names=False)
        return compiled.string, [
            processors[name](values[name]) if name in processors else values[name]
            for name in compiled.positiontup or ()
        ]

    def _built(self, dialect: Dialect, params: Mapping[str, Any]) -> _Built:
        names = tuple(sorted(params))  # an INSERT's columns are the parameters given
        found = self._compiled.get((dialect.name, names))
        if found is None:
            built = cast(ClauseElement, self.statement).compile(dialect=dialect, column_keys=names)
            assert isinstance(built, SQLCompiler)
            if built.insert_prefetch or built.update_prefetch:  # computed by SQLAlchemy's run
                missing = [c.key for c in (*built.insert_prefetch, *built.update_prefetch)]
                raise ValueError(f"give these columns' values in the statement: {missing}")
            found = _Built(built, _processors(built, dialect), _readers(built, dialect))
            self._compiled[(dialect.name, names)] = found
        return found


@dataclass(frozen=True)
class _Built:
    """A statement compiled for a backend and set of parameter names: each parameter's bind
    processor, and where the driver hands back raw values (SQLite's text dates and JSON),
    each result column's processor (none on PostgreSQL: asyncpg decodes them itself)."""

    compiled: SQLCompiler
    processors: _Processors
    readers: tuple[Callable[[Any], Any] | None, ...] | None

    # The SQL with its lists spread out, by the lengths of those lists (an IN of three is the
    # same SQL whatever the three), with each value's processor in the SQL's order.
    spreads: dict[tuple[int, ...], tuple[str, list[Callable[[Any], Any] | None]]] = field(
        default_factory=dict
    )

    def spread(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """`OnDriver.bound` where lists are spread out into the SQL (an expanding IN): the
        SQL and processors as SQLAlchemy's expansion makes them, once per lengths of the
        lists; the values then laid out in the same order (a tuple's items in turn)."""
        compiled = self.compiled
        lists = sorted(b.key for b in compiled.post_compile_params if b.expanding)
        if compiled.literal_execute_params or len(lists) < len(compiled.post_compile_params):
            return _expanded(compiled, self.processors, params)  # values written into the SQL
        values = compiled.construct_params(dict(params), escape_names=False)
        key = tuple(len(values[name]) for name in lists)
        found = self.spreads.get(key)
        if found is None:
            state = compiled.construct_expanded_state(dict(params), escape_names=False)
            each = {**self.processors, **(state.processors or {})}
            found = self.spreads[key] = (
                state.statement,
                [each.get(name) for name in state.positiontup or ()],
            )
        sql, processors = found
        tupled = {b.key for b in compiled.post_compile_params if isinstance(b.type, TupleType)}
        laid: list[Any] = []
        for name in compiled.positiontup or ():
            if name not in lists:
                laid.append(values[name])
            elif name in tupled:  # (a, b) IN ((…), (…)): each item's values in turn
                laid.extend(value for item in values[name] for value in item)
            else:
                laid.extend(values[name])
        return sql, [v if p is None else p(v) for p, v in zip(processors, laid, strict=True)]

    def read(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if self.readers is None:
            return rows
        readers = self.readers
        return [
            tuple(v if r is None or v is None else r(v) for r, v in zip(readers, row, strict=True))
            for row in rows
        ]


def _expanded(
    compiled: SQLCompiler, processors: _Processors, params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """`OnDriver.bound` where a list is spread out into the SQL (an expanding IN)."""
    state = compiled.construct_expanded_state(dict(params), escape_names=False)
    if state.processors:
        processors = {**processors, **state.processors}
    args = [
        processors[name](value) if name in processors else value
        for name, value in zip(state.positiontup or (), state.positional_parameters, strict=True)
    ]
    return state.statement, args


# The backends allybot runs on, for statements built once for each.
DIALECTS = ("sqlite", "postgresql")


def among(
    column: ColumnElement[Any] | QueryableAttribute[Any], name: str, dialect: str
) -> ColumnElement[bool]:
    """`column IN (the list bound as name)`. On PostgreSQL one array parameter (`= ANY`):
    the statement is compiled once and sent as it is, where an IN list is spread out and
    each value bound on every call (80 µs for a one-receiver kudos, 13 ms for 1,000 pairs).
    On SQLite SQLAlchemy's expanding IN, as SQLite has no arrays."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


_Processors = Mapping[str, Callable[[Any], Any]]
_Model = TypeVar("_Model")


def detached(model: type[_Model], keys: Sequence[str], row: Sequence[Any]) -> _Model:
    """A model object from a row read here (its attributes `keys`, in order), as if the ORM
    had loaded it and its session had closed: no session holds it, a session it is added to
    takes it as stored (never INSERTs it), and an attribute not given loads when read in one."""
    instance = class_mapper(model).class_manager.new_instance()  # mappers configured
    instance.__dict__.update(zip(keys, row, strict=True))
    make_transient_to_detached(instance)
    return instance


def run_script_now(connection: Connection, script: str) -> None:
    """Statements without parameters, in one trip (PostgreSQL's simple query protocol), in
    the connection's transaction, from synchronous code SQLAlchemy runs for an async session
    (an event listener such as a session's `after_begin`). Each statement reads the database
    as it is when that statement starts."""
    adapter: Any = connection.connection.dbapi_connection
    if (then := _take_then()) is not None:  # `begin_with`: in this trip too
        script = f"{script}; {then}"
    if connection.engine.dispatch.before_cursor_execute:
        connection.engine.dispatch.before_cursor_execute(connection, None, script, (), None, False)
    try:
        if await_(_begun(adapter, first=script)):
            return  # it ran with the BEGIN, in the same trip
        driver = adapter._connection
        if adapter._transaction is None:
            raise RuntimeError("a script runs in a transaction")
        await_(_Driver(driver, connection.engine)._run(driver.execute, script))
    except BaseException as exc:
        if _lost(adapter, exc):
            connection.invalidate(exc)
        raise


def _processors(compiled: SQLCompiler, dialect: Dialect) -> _Processors:
    """Each parameter's bind processor on this dialect (JSON serialised, datetimes in UTC)."""
    found: dict[str, Callable[[Any], Any]] = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            found[name] = processor
    return found


def _readers(
    compiled: SQLCompiler, dialect: Dialect
) -> tuple[Callable[[Any], Any] | None, ...] | None:
    """Each result column's processor on SQLite; None where there is nothing to do."""
    if dialect.name != "sqlite":
        return None
    readers = tuple(
        entry[3]._cached_result_processor(dialect, None) for entry in compiled._result_columns
    )
    return readers if any(r is not None for r in readers) else None


@dataclass(frozen=True)
class _Driver:
    """asyncpg's connection, in the session's transaction (or in autocommit: `alone`)."""

    connection: Any  # asyncpg's
    engine: Engine
    returns_many = True  # an executemany with RETURNING gives its rows

    @property
    def dialect(self) -> Dialect:
        return self.engine.dialect

    async def notify(self, session: AsyncSession, sql: str, args: Any, *, many: bool) -> None:
        """Tell those watching the engine's statements (counts, plan checks) of this one."""
        if self.engine.dispatch.before_cursor_execute:
            connection = (await session.connection()).sync_connection
            self.engine.dispatch.before_cursor_execute(connection, None, sql, args, None, many)

    async def fetch(self, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
        return await self._run(self.connection.fetch, sql, *args)

    async def cut_short(self, session: AsyncSession, exc: BaseException) -> None:
        """A statement of the session's transaction failed or was given up (asyncpg's
        connection is looked after by its pool's rollback, as before)."""

    async def execute_many(self, sql: str, many: list[list[Any]]) -> None:
        await self._run(self.connection.executemany, sql, many)

    async def fetch_many(self, sql: str, many: list[list[Any]]) -> list[tuple[Any, ...]]:
        return await self._run(self.connection.fetchmany, sql, many)

    async def _run(self, method: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """A driver call, its rows as tuples; a database error raised as SQLAlchemy raises
        it through the session: logs show the statement, never its parameters."""
        try:
            records = await method(sql, *args)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise _as_sqlalchemy(exc, sql) from exc
        if not isinstance(records, list):  # a command's status (execute, executemany)
            return []
        return [tuple(record) for record in records]


@dataclass(frozen=True)
class _SQLiteDriver(_Driver):
    """allybot's aiosqlite connection (bot.sqlite_driver) in the session's transaction: a
    statement, and what is pending for it (the BEGIN IMMEDIATE, the delivery's check), in
    one trip to its thread."""

    connection: OneTripConnection
    returns_many = False  # sqlite3's executemany gives no rows

    async def fetch(self, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
        try:
            ran = await self.connection.run(sql, tuple(args), many=False)
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, sql) from exc
        return ran[1]

    async def execute_many(self, sql: str, many: list[list[Any]]) -> None:
        try:
            await self.connection.run(sql, [tuple(args) for args in many], many=True)
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, sql) from exc

    async def fetch_many(self, sql: str, many: list[list[Any]]) -> list[tuple[Any, ...]]:
        raise NotImplementedError("SQLite: one statement at a time (returns_many)")

    async def cut_short(self, session: AsyncSession, exc: BaseException) -> None:
        """A trip given up in flight (its task cancelled: a shutdown) still runs in aiosqlite's
        thread after the task has gone on, its BEGIN IMMEDIATE perhaps still waiting for the
        other process's lock, so no ROLLBACK finds it open: the connection is invalidated, as
        SQLAlchemy invalidates one whose statement an exit exception cut short. Else the pool's
        next user would run in that transaction and commit its writes, or SQLite's write
        lock stay held by it."""
        if is_exit_exception(exc):
            await (await session.connection()).invalidate(exc)


def _sqlite_error(exc: sqlite3.Error, sql: str) -> DBAPIError:
    """sqlite3's error as SQLAlchemy raises it through the session (IntegrityError,
    OperationalError, …), without the parameters."""
    return cast(
        DBAPIError, DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True)
    )


def _as_sqlalchemy(exc: Exception, sql: str) -> DBAPIError:
    """The driver's error as SQLAlchemy raises it through the session (bot.logs.describe)."""
    kind = (
        IntegrityError if isinstance(exc, asyncpg.IntegrityConstraintViolationError) else DBAPIError
    )
    return kind(sql, None, exc, hide_parameters=True)


# Statements for the transaction a session of this task is beginning to run in the trip of
# its BEGIN, after the delivery's fence (`begin_with`); taken by whichever sends the BEGIN.
_THEN: ContextVar[list[str] | None] = ContextVar("then_in_the_begin", default=None)


async def begin_with(session: AsyncSession, script: str) -> bool:
    """Begin the session's transaction on PostgreSQL with `script` (statements without
    parameters) in the trip of its BEGIN, after the fence of the delivery it works for:
    one trip fewer for a transaction's first statement. Returns whether the script ran;
    not when the transaction had begun, on SQLite, or in autocommit."""
    if dialect_of(session) != "postgresql":
        return False
    pending = [script]
    token = _THEN.set(pending)
    try:
        await _driver(session)  # kept for the transaction's statements after
    finally:
        _THEN.reset(token)
    return not pending


def _take_then() -> str | None:
    pending = _THEN.get()
    return pending.pop() if pending else None


def _give_back(script: str) -> None:
    pending = _THEN.get()
    if pending is not None:
        pending.append(script)


async def _driver(session: AsyncSession) -> _Driver | None:
    """The driver in the session's transaction, begun if it was not (as SQLAlchemy begins it
    before a statement); None where the session's connection is not one allybot drives
    (autocommit on PostgreSQL, another DBAPI). Kept for that transaction only."""
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_DRIVER)
    if kept is not None and transaction is not None and kept[0] is transaction:
        return cast(_Driver, kept[1])
    engine = cast(AsyncEngine, session.bind).sync_engine
    if engine.dialect.name == "postgresql":
        connection = await _in_transaction(session)
        driver = _Driver(connection, engine) if connection is not None else None
    else:
        raw = await (await session.connection()).get_raw_connection()
        adapter = raw.dbapi_connection
        driver = _SQLiteDriver(adapter, engine) if isinstance(adapter, OneTripConnection) else None
    transaction = session.sync_session.get_transaction()
    if driver is not None and transaction is not None:
        session.info[_DRIVER] = (transaction, driver)
    return driver


async def _in_transaction(session: AsyncSession) -> Any | None:
    """The asyncpg connection under the session, in the session's transaction: nothing may
    run outside it. A session whose database transaction has not begun yet has it begun
    here, as SQLAlchemy's asyncpg adapter begins it before its first statement (same BEGIN,
    same isolation; SQLAlchemy commits or rolls it back)."""
    raw = await (await session.connection()).get_raw_connection()
    transaction = session.sync_session.get_transaction()
    adapter: Any = raw.dbapi_connection  # SQLAlchemy's asyncpg adapter
    if transaction is None or not hasattr(adapter, "_start_transaction"):
        return None
    then = _take_then()  # `begin_with`, where no fence ran it (and began) already
    try:
        if not await _begun(adapter, first=then) and then is not None:
            _give_back(then)
        elif then is not None:
            sync = (await session.connection()).sync_connection
            if sync is not None and sync.engine.dispatch.before_cursor_execute:
                sync.engine.dispatch.before_cursor_execute(sync, None, then, (), None, False)
    except BaseException as exc:
        if _lost(adapter, exc):
            await (await session.connection()).invalidate(exc)
        raise
    if adapter._transaction is None:  # autocommit: no transaction to run in
        return None
    return adapter._connection


async def _begun(adapter: Any, *, first: str | None = None) -> bool:
    """Begin the transaction of SQLAlchemy's asyncpg adapter, as the adapter begins it before
    a statement (same BEGIN, same isolation; SQLAlchemy commits or rolls it back), unless it
    has begun or the adapter runs in autocommit. `first`, a script of statements without
    parameters, then runs in the same trip as the BEGIN; returns whether it did."""
    if adapter._transaction is not None:
        return False
    async with adapter._execute_mutex:
        if adapter._transaction is not None:
            return False
        connection = adapter._connection
        if (
            first is None
            or adapter.isolation_level == "autocommit"
            or connection._top_xact
            # asyncpg's own BEGIN raises for these, as before a statement: a connection
            # closed, or in a transaction begun outside the adapter (a BEGIN riding with
            # the script would only draw a warning, and run it in that transaction).
            or connection.is_closed()
            or connection.is_in_transaction()
        ):
            try:
                await adapter._start_transaction()
            except Exception as exc:  # as SQLAlchemy raises it before a statement
                raise DBAPIError("BEGIN", None, exc, hide_parameters=True) from exc
            return False
        await _start_with(adapter, first)
        return True


async def _start_with(adapter: Any, script: str) -> None:
    """asyncpg's Transaction.start, with the script sent after its BEGIN in one simple query.
    Whatever the trip's end, the transaction is then the adapter's, as if the BEGIN had run:
    a script failing after it leaves the transaction aborted, and a trip cut short (cancelled)
    may have begun it; SQLAlchemy rolls it back as after any failed statement (a ROLLBACK
    with no transaction open only draws the server's warning)."""
    connection = adapter._connection
    transaction = connection.transaction(
        isolation=adapter.isolation_level, readonly=adapter.readonly, deferrable=adapter.deferrable
    )
    begin = _BEGIN[adapter.isolation_level]
    if adapter.readonly:
        begin += " READ ONLY"
    if adapter.deferrable:
        begin += " DEFERRABLE"
    connection._top_xact = transaction
    error: BaseException | None = None
    try:
        await connection.execute(f"{begin}; {script}")
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        error = _as_sqlalchemy(exc, script)
        error.__cause__ = exc
    except BaseException as exc:
        error = exc
    if connection.is_closed():  # nothing to roll back: the pool discards it
        connection._top_xact = None
        transaction._state = TransactionState.FAILED
    else:
        transaction._state = TransactionState.STARTED
        adapter._transaction = transaction
    if error is not None:
        raise error


def _lost(adapter: Any, exc: BaseException) -> bool:
    """Whether a failure left the connection under SQLAlchemy's asyncpg adapter closed (the
    server restarted, or ended it) or inside a transaction the adapter did not begin: its
    SQLAlchemy connection is then to be invalidated, as SQLAlchemy invalidates one that a
    statement finds closed, so that the pool never hands it out again. (A BEGIN and a
    script run here, not through SQLAlchemy's execution, whose disconnect check they skip;
    a transaction that never began leaves nothing for a rollback to find closed either.)"""
    connection = adapter._connection
    if not connection.is_closed() and not (
        adapter._transaction is None and connection.is_in_transaction()
    ):
        return False
    if isinstance(exc, DBAPIError):
        exc.connection_invalidated = True
    return True


# The BEGIN asyncpg's Transaction.start sends for each isolation level SQLAlchemy's adapter
# names (`None`: the server's default).
_BEGIN = {
    None: "BEGIN",
    "read_committed": "BEGIN ISOLATION LEVEL READ COMMITTED",
    "read_uncommitted": "BEGIN ISOLATION LEVEL READ UNCOMMITTED",
    "repeatable_read": "BEGIN ISOLATION LEVEL REPEATABLE READ",
    "serializable": "BEGIN ISOLATION LEVEL SERIALIZABLE",
}


_DRIVER = "allybot.driver"
