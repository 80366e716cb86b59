"""SQLite through aiosqlite with one trip to its thread per statement.

aiosqlite runs each sqlite3 call in a thread of its own and hands the answer back to the
event loop: a trip that costs a queue put, a thread wake-up, a GIL hand-over and a loop
wake-up. SQLAlchemy's aiosqlite adapter makes four per statement (open a cursor, execute,
fetch the rows, close the cursor), so on the kudos path the trips, not SQLite, were most of
the CPU. Here the cursor does all four in the thread in one trip; everything else is
SQLAlchemy's own adapter, and the engine is given this module with `module=` (bot.db).
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

_Ran = tuple[Any, list[Any], int, int | None]


def _execute(raw: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Ran:
    """In aiosqlite's thread: the whole statement, its rows read and its cursor closed."""
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement, rows and close are one trip to aiosqlite's thread."""

    __slots__ = ("_arraysize", "_ran")

    def __init__(self, adapt_connection: Any) -> None:  # no cursor opened ahead: no trip
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._ran: _Ran = (None, [], -1, None)
        self._arraysize = 1  # sqlite3's default: what fetchmany() without a size returns

    @property
    def arraysize(self) -> int:  # the base reads it from the cursor this one never opens
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    @property
    def description(self) -> Any:
        return self._ran[0]

    @property
    def rowcount(self) -> int:
        return self._ran[2]

    @property
    def lastrowid(self) -> Any:
        return self._ran[3]

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            self._ran = await connection._execute(
                _execute, connection._conn, operation, parameters, many
            )
            self._rows = collections.deque(self._ran[1])

    async def _async_soft_close(self) -> None:
        return None  # the sqlite3 cursor closed in its trip

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DBAPI adapter, handing out connections with OneTripCursor."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
