"""SQLite through aiosqlite with one trip to its thread per statement.

aiosqlite runs each sqlite3 call in a thread of its own and hands the answer back to the
event loop: a trip that costs a queue put, a thread wake-up, a GIL hand-over and a loop
wake-up. SQLAlchemy's aiosqlite adapter makes four per statement (open a cursor, execute,
fetch the rows, close the cursor), so on the kudos path the trips, not SQLite, were most of
the CPU. Here the cursor does all four in the thread in one trip; everything else is
SQLAlchemy's own adapter, and the engine is given this module with `module=` (bot.db).

A transaction costs no trips of its own either: its BEGIN IMMEDIATE goes with its first
statement, a COMMIT or ROLLBACK with nothing open (the pool's reset after a commit) is not
sent, and a statement that is a transaction by itself (`commit_next`, the ack's recording)
commits in its own trip. And the pool hands its connection to whoever runs `first_in_line`
before anyone else waiting for it (`FirstInLinePool`): the ack's recording waits for the
transaction in progress, never for a queue of the work's.

Where the statements are short and many (the ack's recording, a delivery's work and its
outcome: `on_the_loop`), the trip itself is skipped: the statement runs on the event loop's
own thread, when nothing in it can wait. A trip cost about 70 µs of CPU on an idle machine
and several times that under load (a thread woken, the GIL handed over and back, the loop
woken), more than the statement. Nothing there may wait for a lock: a transaction that
holds SQLite's write lock (taken by its BEGIN IMMEDIATE) waits for nothing more, and a BEGIN
is tried without waiting; when another process holds the lock, that statement goes to the
thread and waits there as before. Work called from there whose statements have no bound
(a report, an erase) is marked `in_the_thread`. Nothing runs there without a write-ahead
log. COMMIT does not checkpoint the log (which syncs the disk): every CHECKPOINT_EVERY
commits of transactions (not the ack's recordings) a connection checkpoints it in a trip.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import functools
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import EMPTY_DICT, await_
from sqlalchemy.util.queue import Empty, Full, QueueCommon

_Ran = tuple[Any, list[Any], int, int | None]

logger = logging.getLogger(__name__)

# Commits a connection makes between two checkpoints of the write-ahead log (SQLite's own
# automatic checkpoint, at 1,000 pages, would run in the COMMIT, on the loop's thread).
CHECKPOINT_EVERY = 100

# Set where a task's statements run on the event loop's thread (`on_the_loop`).
_ON_THE_LOOP: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sqlite_on_the_loop", default=False
)


@contextlib.contextmanager
def on_the_loop() -> Iterator[None]:
    """Statements in this block (and in the tasks it starts) that cannot wait run on the
    event loop's thread rather than in a trip to aiosqlite's. For short statements only: one
    of a second blocks everything else the process does for that second."""
    token = _ON_THE_LOOP.set(True)
    try:
        yield
    finally:
        _ON_THE_LOOP.reset(token)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def in_the_thread(work: Callable[_P, Awaitable[_R]]) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """For work whose statements have no bound (a workspace's report, an erase that reads
    every delivery's payload): they go to aiosqlite's thread even when it is called from a
    delivery's work, which runs `on_the_loop`, so the acks do not wait for them."""

    @functools.wraps(work)
    async def threaded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        token = _ON_THE_LOOP.set(False)
        try:
            return await work(*args, **kwargs)
        finally:
            _ON_THE_LOOP.reset(token)

    return threaded


@dataclass(frozen=True)
class Check:
    """A query run before a transaction's first statement, in its trip: when it finds no
    row, what `missing()` returns is raised instead of running the statement."""

    sql: str
    parameters: tuple[Any, ...]
    missing: Callable[[], BaseException]


class _Missing(Exception):
    """A Check found no row (raised in aiosqlite's thread, replaced in the event loop's)."""


def _execute(
    raw: sqlite3.Connection,
    operation: str,
    parameters: Any,
    many: bool,
    begin: bool,
    commit: bool,
    check: Check | None,
) -> _Ran:
    """In aiosqlite's thread: the whole statement, its rows read and its cursor closed;
    `begin`: the transaction's BEGIN IMMEDIATE first, then `check`; `commit`: its COMMIT
    after."""
    if begin and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")
    if check is not None and raw.execute(check.sql, check.parameters).fetchone() is None:
        raise _Missing
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
        ran = description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()
    if commit:
        raw.commit()
    return ran


def _checkpoint(raw: sqlite3.Connection) -> None:
    """In aiosqlite's thread: copy what the write-ahead log holds into the database, as far
    as no reader still needs it (PASSIVE: it waits for nobody)."""
    raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


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
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        self._ran = await adapted.run(operation, parameters, many=many)
        self._rows = collections.deque(self._ran[1])

    async def _async_soft_close(self) -> None:
        return None  # the sqlite3 cursor closed in its trip

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Transactions whose BEGIN IMMEDIATE, and when asked COMMIT, ride with a statement."""

    __slots__ = ("_begin_pending", "_busy_ms", "_check", "_commit_next", "_commits", "_wal")
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._begin_pending = False
        self._commit_next = False
        self._check: Check | None = None
        self._busy_ms: int | None = None  # the connection's busy_timeout, read when needed
        self._wal: bool | None = None  # whether its journal is a write-ahead log, likewise
        self._commits = 0

    def begin_immediate(self) -> None:
        """SQLAlchemy began a transaction: take SQLite's write lock with the first statement
        (so two processes never deadlock upgrading a read lock), in the same trip."""
        self._begin_pending = True

    def commit_next(self) -> None:
        """The next statement is a transaction by itself: BEGIN IMMEDIATE, it, and COMMIT in
        one trip, so its caller holds the connection for that one trip alone."""
        self._commit_next = True

    def check_first(self, check: Check) -> None:
        """Run `check` in the trip of the transaction's next statement, before it: a check
        at the start of every transaction costs no trip of its own (bot.lease)."""
        self._check = check

    async def run(self, operation: str, parameters: Any, *, many: bool) -> _Ran:
        """One statement in one trip to aiosqlite's thread, with what is pending for it
        (the transaction's BEGIN IMMEDIATE and check, a COMMIT after): its description,
        rows, rowcount and lastrowid. Raises sqlite3's own errors."""
        async with self._execute_mutex:
            connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            raw = connection._conn
            begin, commit, check = self._begin_pending, self._commit_next, self._check
            self._check = None
            try:
                ran = None
                if self._here(raw) and (raw.in_transaction or (begin and self._begun(raw))):
                    ran = _execute(raw, operation, parameters, many, begin, commit, check)
                if ran is None:
                    ran = await connection._execute(
                        _execute, raw, operation, parameters, many, begin, commit, check
                    )
            except _Missing:
                assert check is not None
                raise check.missing() from None
            except BaseException:
                # A BEGIN that failed (locked past busy_timeout) is tried again with the
                # next statement, and the check with it (it never ran); one that ran leaves
                # the transaction for a ROLLBACK.
                self._begin_pending = begin and not raw.in_transaction
                if self._begin_pending and self._check is None:
                    self._check = check
                raise
            # After a statement that committed itself, a next one opens a transaction of
            # its own again, ended by the caller's COMMIT or ROLLBACK.
            self._begin_pending = commit
            self._commit_next = False
            return ran

    def _here(self, raw: sqlite3.Connection) -> bool:
        """Whether statements may run on the event loop's thread: asked for (`on_the_loop`),
        and the database in WAL mode, where a transaction holding the write lock waits for
        nobody (with a rollback journal its COMMIT would wait for the readers to finish)."""
        if not _ON_THE_LOOP.get():
            return False
        if self._wal is None:
            self._wal = str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
        return self._wal

    def _begun(self, raw: sqlite3.Connection) -> bool:
        """BEGIN IMMEDIATE on this thread if SQLite's write lock is free; False, with nothing
        begun, when another connection holds it (the statement then waits in the thread)."""
        if self._busy_ms is None:
            self._busy_ms = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        return True

    def _committed(self) -> bool:
        """Counts a transaction's commit; True when the write-ahead log is due a checkpoint.
        The ack's recording (`commit_next`) never waits for one: the work's commits, on this
        process or on its workers, checkpoint the log the recordings write."""
        self._commits += 1
        return self._commits % CHECKPOINT_EVERY == 0

    def forget_pending(self) -> None:
        """Given back to the pool: what was asked for the next statement is forgotten."""
        self._begin_pending = self._commit_next = False
        self._check = None

    def _open(self) -> bool:
        raw: sqlite3.Connection | None = self._connection._connection
        return raw is not None and raw.in_transaction

    def commit(self) -> None:
        if self._end("commit") and self._committed():
            self._checkpoint()

    def rollback(self) -> None:
        self._end("rollback")

    def _end(self, how: str) -> bool:
        """COMMIT or ROLLBACK the transaction, on the loop's thread where its statements may
        run there, else in a trip; False when none is open (nothing sent)."""
        self.forget_pending()
        if not self._open():
            return False
        if not self._here(self._connection._conn):
            getattr(super(), how)()
            return True
        try:
            getattr(self._connection._conn, how)()
        except Exception as error:
            self._handle_exception(error)
        return True

    def _checkpoint(self) -> None:
        """The log checkpointed in a trip. Its failure is logged, not raised: the commit
        before it stands (SQLite's own checkpoint, in a COMMIT, never failed the COMMIT)."""
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            await_(connection._execute(_checkpoint, connection._conn))
        except sqlite3.Error:
            logger.warning("could not checkpoint SQLite's write-ahead log", exc_info=True)
        except Exception as error:
            self._handle_exception(error)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DBAPI adapter, handing out connections with OneTripCursor."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)


# Set while a task checks a connection out ahead of the others (`first_in_line`).
_FIRST: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_first_in_line", default=False)


@contextlib.contextmanager
def first_in_line() -> Iterator[None]:
    """Connections checked out in this block go to this task before any other task waiting
    for one (FirstInLinePool): for the ack's recording, which a Slack request waits on."""
    token = _FIRST.set(True)
    try:
        yield
    finally:
        _FIRST.reset(token)


class _HandOff(QueueCommon[ConnectionPoolEntry]):
    """The pool's idle connections; one given back goes straight to a waiting task, those in
    `first_in_line` first, then the others in the order they came. Nobody takes an idle
    one past a task that is first in line."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._idle: collections.deque[ConnectionPoolEntry] = collections.deque()
        self._first: collections.deque[asyncio.Future[ConnectionPoolEntry]] = collections.deque()
        self._rest: collections.deque[asyncio.Future[ConnectionPoolEntry]] = collections.deque()

    def empty(self) -> bool:
        return not self._idle

    def full(self) -> bool:
        return bool(self.maxsize) and len(self._idle) >= self.maxsize

    def qsize(self) -> int:
        return len(self._idle)

    def put_nowait(self, item: ConnectionPoolEntry) -> None:
        for waiting in (self._first, self._rest):
            while waiting:
                future = waiting.popleft()
                if not future.done():  # else its task gave up (timed out or cancelled)
                    future.set_result(item)
                    return
        if self.full():
            raise Full()
        self._idle.append(item)

    def put(
        self, item: ConnectionPoolEntry, block: bool = True, timeout: float | None = None
    ) -> None:
        self.put_nowait(item)  # the pool never gives back more than it holds

    def get_nowait(self) -> ConnectionPoolEntry:
        first = _FIRST.get()
        if self._idle and (first or not any(not f.done() for f in self._first)):
            return self._idle.pop() if self.use_lifo else self._idle.popleft()
        raise Empty()

    def get(self, block: bool = True, timeout: float | None = None) -> ConnectionPoolEntry:
        with contextlib.suppress(Empty):
            return self.get_nowait()
        if not block:
            raise Empty()
        future: asyncio.Future[ConnectionPoolEntry] = asyncio.get_running_loop().create_future()
        (self._first if _FIRST.get() else self._rest).append(future)
        try:
            return await_(asyncio.wait_for(future, timeout))
        except TimeoutError as exc:
            raise Empty() from exc
        except BaseException:
            if future.done() and not future.cancelled():  # handed over as this task stopped
                self.put_nowait(future.result())
            raise


class FirstInLinePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio pool, its connections handed out first to `first_in_line`."""

    _queue_class = _HandOff
    # Its log lines where the pool's always went: under "sqlalchemy", quiet below WARNING.
    _sqla_logger_namespace = "sqlalchemy.pool.impl.AsyncAdaptedQueuePool"
