"""The statements every kudos runs, sent to PostgreSQL's driver (asyncpg) itself, in the
session's transaction.

Through SQLAlchemy's session a statement costs 0.1 to 0.4 ms of CPU beyond the driver's own
(building the execution context, processing parameters and results, the ORM's bulk paths):
more than the round trip to the database (benchmarks/README.md, "statements on the driver").
The statement stays a SQLAlchemy construct, compiled once per dialect; only its execution
skips the layers. SQLite, in-process, runs it through the session as before. Listeners of
the engine's `before_cursor_execute` (statement counts, plan checks) still see it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import asyncpg
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from bot.db import dialect_of


class OnDriver:
    """One statement, run on asyncpg directly where that is safe, else through the session.
    An INSERT gets no column defaults set in Python (the models' `default=`): give every
    column a value."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        # Compiled once per set of parameter names, with each one's bind processor.
        self._compiled: dict[tuple[str, ...], tuple[SQLCompiler, _Processors]] = {}

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The statement's rows (or RETURNING rows) as tuples, in the session's transaction."""
        if dialect_of(session) == "postgresql":
            driver = await _in_transaction(session)
            if driver is not None:
                engine = cast(AsyncEngine, session.bind).sync_engine
                sql, args = self._bound(engine.dialect, params)
                if engine.dispatch.before_cursor_execute:  # those watching statements see it
                    connection = (await session.connection()).sync_connection
                    engine.dispatch.before_cursor_execute(connection, None, sql, args, None, False)
                try:
                    records = await driver.fetch(sql, *args)
                except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    raise _as_sqlalchemy(exc, sql) from exc
                return [tuple(record) for record in records]
        return [tuple(row) for row in await session.execute(self.statement, dict(params))]

    def _bound(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL for these parameters (a list given to an IN is spread out, as SQLAlchemy
        does) and the values in order, each through its type's bind processor."""
        names = tuple(sorted(params))  # an INSERT's columns are the parameters given
        found = self._compiled.get(names)
        if found is None:
            built = cast(ClauseElement, self.statement).compile(dialect=dialect, column_keys=names)
            assert isinstance(built, SQLCompiler)
            found = self._compiled[names] = (built, _processors(built, dialect))
        compiled, processors = found
        state = compiled.construct_expanded_state(dict(params))
        if state.processors:
            processors = {**processors, **state.processors}
        args = [
            processors[name](value) if name in processors else value
            for name, value in zip(
                state.positiontup or (), state.positional_parameters, strict=True
            )
        ]
        return state.statement, args


_Processors = Mapping[str, Callable[[Any], Any]]


def _processors(compiled: SQLCompiler, dialect: Dialect) -> _Processors:
    """Each parameter's bind processor on this dialect (JSON serialised, datetimes in UTC)."""
    found: dict[str, Callable[[Any], Any]] = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            found[name] = processor
    return found


def _as_sqlalchemy(exc: Exception, sql: str) -> DBAPIError:
    """The driver's error as SQLAlchemy raises it through the session: logs show the
    statement, never its parameters (bot.logs.describe)."""
    kind = (
        IntegrityError if isinstance(exc, asyncpg.IntegrityConstraintViolationError) else DBAPIError
    )
    return kind(sql, None, exc, hide_parameters=True)


async def _in_transaction(session: AsyncSession) -> Any | None:
    """The asyncpg connection under the session once SQLAlchemy has begun its transaction
    on it; None before (the statement then goes through the session, which begins it):
    nothing may run outside the session's transaction. Kept for that transaction only."""
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_DRIVER)
    if kept is not None and kept[0] is transaction:
        return kept[1]
    raw = await (await session.connection()).get_raw_connection()
    if transaction is None or getattr(raw.dbapi_connection, "_transaction", None) is None:
        return None
    session.info[_DRIVER] = (transaction, raw.driver_connection)
    return raw.driver_connection


_DRIVER = "allybot.driver"
