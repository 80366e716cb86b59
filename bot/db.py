"""Database engine, sessions, and the column types every model shares."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from bot import sqlite_driver

# The unit of work handlers pass on to services (they open it, never query through it).
Session = AsyncSession

# Run on the connection as the first statement of every transaction a session of `Database`
# begins in this context (a session that sends nothing begins none). A delivery's work sets
# it (bot/inbox.py, bot/lease.py): no transaction of a run whose delivery is gone (erased
# with a person it names, or taken over by another process) writes anything; it raises to
# stop the run.
BEFORE_TRANSACTION: ContextVar[Callable[[Connection], None] | None] = ContextVar(
    "before_transaction", default=None
)


class _FencedSession(OrmSession):
    """The ORM session `Database.session` opens: BEFORE_TRANSACTION runs as it begins."""


@event.listens_for(_FencedSession, "after_begin")
def _fence(_session: OrmSession, _transaction: Any, connection: Connection) -> None:
    guard = BEFORE_TRANSACTION.get()
    if guard is not None:
        guard(connection)


@contextmanager
def unfenced() -> Iterator[None]:
    """Transactions about the delivery itself (its failure, its lease), which check its claim
    version in their own statements, opened in the middle of its work."""
    token = BEFORE_TRANSACTION.set(None)
    try:
        yield
    finally:
        BEFORE_TRANSACTION.reset(token)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def async_url(url: str | URL) -> URL:
    """Map a plain SQLAlchemy URL to its asyncio driver (aiosqlite or asyncpg)."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return u.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return u.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database: {backend}")


def sync_url(url: str | URL) -> URL:
    """The same database through a blocking driver name, for messages and tools."""
    u = make_url(url)
    return u.set(drivername=u.get_backend_name())


def sqlite_path(url: str | URL) -> Path | None:
    """The SQLite file a URL names; None for PostgreSQL and in-memory databases."""
    u = make_url(url)
    name = u.database or ""
    if u.query.get("uri") == "true" and name.startswith("file:"):
        name = name.removeprefix("file:")  # SQLite's URI form, e.g. with ?mode=ro
    if u.get_backend_name() != "sqlite" or name in ("", ":memory:"):
        return None
    return Path(name).expanduser().resolve()


def create_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An engine tuned per backend: SQLite serialises writes in-process and waits on locks."""
    u = async_url(url)
    if u.get_backend_name() == "sqlite":
        engine = create_async_engine(
            u,
            module=sqlite_driver.dbapi(),  # at most one trip to aiosqlite's thread a statement
            poolclass=sqlite_driver.FirstInLinePool,  # the ack's recording goes first
            hide_parameters=True,  # an error's SQL parameters would carry people's words
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            connect_args={"timeout": 30},
            **kwargs,
        )
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    # Said in every BEGIN (no trip of its own), whatever the database's default: a delivery's
    # fence checks its row after waiting for an erase's lock, and must see that erase
    # (bot.services.inbound.fence), which a snapshot taken for the whole transaction would not.
    kwargs.setdefault("isolation_level", "READ COMMITTED")
    engine = create_async_engine(u, hide_parameters=True, **kwargs)
    _ping_when_idle(engine)
    return engine


# A pooled connection idle longer than this is pinged before use (a server restart or an
# idle timeout may have closed it); one in steady use is not: that ping was a round trip
# before every transaction.
PING_AFTER_IDLE_S = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # new, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("a pooled connection did not answer its ping") from exc
        if not alive:
            raise DisconnectionError("a pooled connection did not answer its ping")


# Rows SQLite's ANALYZE reads per index (SQLite's own advice: 100 to 1,000).
ANALYSIS_LIMIT = 400
# How often a long-running process lets SQLite refresh its planner statistics.
OPTIMIZE_EVERY_S = 3600.0


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints every CHECKPOINT_EVERY commits, in aiosqlite's thread (bot.sqlite_driver),
        # never in a COMMIT run on the event loop's.
        cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        # Any ANALYZE on this connection (start-up's, `PRAGMA optimize`'s) samples at most
        # this many rows per index: milliseconds on any size, where a full one blocks for
        # seconds (4 s with a million kudos) and every ack with it.
        cur.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        cur.close()

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(dbapi_conn: Any, _record: Any) -> None:
        if dbapi_conn is not None:  # None: invalidated
            dbapi_conn.forget_pending()  # a `commit_next` no statement used goes no further

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front so two processes never deadlock upgrading a read lock:
        # BEGIN IMMEDIATE, sent with the transaction's first statement (bot.sqlite_driver).
        conn.connection.dbapi_connection.begin_immediate()


def dialect_of(session: AsyncSession | AsyncConnection) -> str:
    """The backend a session (or connection) talks to: "sqlite" or "postgresql"."""
    if isinstance(session, AsyncConnection):
        return session.dialect.name
    return session.get_bind().dialect.name


def insert_for(session: AsyncSession, model: Any) -> Any:
    """The backend's INSERT, which knows ON CONFLICT on both SQLite and PostgreSQL."""
    insert = postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert
    return insert(model)


class Database:
    """The engine and a session factory; one unit of work per `session()` block."""

    def __init__(self, url: str | URL, **engine_kwargs: Any) -> None:
        self.url = make_url(url)
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=_FencedSession
        )
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._optimized_at = time.monotonic()  # statistics are looked after at start

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Commit when the block ends normally, roll back when it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads, for reads that need no snapshot in common: on PostgreSQL
        each statement runs on its own, without BEGIN and COMMIT (two round trips fewer); on
        SQLite it is `session()`."""
        if self.dialect != "postgresql":
            async with self.session() as session:
                yield session
            return
        async with (
            self._autocommit.connect() as conn,
            AsyncSession(bind=conn, expire_on_commit=False) as session,
        ):
            yield session

    @asynccontextmanager
    async def one_statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for a single statement, atomic on its own, for the ack path's
        recording: on PostgreSQL it runs without BEGIN and COMMIT, two round trips fewer; on
        SQLite its BEGIN IMMEDIATE, the statement and COMMIT are one trip to aiosqlite's
        thread (or none, `on_the_loop`), on the connection the pool hands to it before the
        work's transactions."""
        if self.dialect == "postgresql":
            async with self._autocommit.connect() as conn:
                yield conn
            return
        with sqlite_driver.first_in_line():
            async with self.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                raw.dbapi_connection.commit_next()  # type: ignore[union-attr]
                yield conn
                await conn.commit()

    async def gather_statistics(self) -> bool:
        """SQLite: fresh planner statistics, from a sampled ANALYZE (ANALYSIS_LIMIT rows per
        index, so about 10 ms whatever the size). Without them SQLite plans from fixed
        guesses; PostgreSQL's autovacuum keeps its own. Returns whether ANALYZE ran."""
        if self.dialect != "sqlite":
            return False
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
        self._optimized_at = time.monotonic()
        return True

    async def optimize(self) -> bool:
        """SQLite, at most once per OPTIMIZE_EVERY_S: `PRAGMA optimize`, which re-samples the
        tables this process's statements used whose size changed a lot since (usually
        nothing; milliseconds when not). Returns whether it ran."""
        if self.dialect != "sqlite":
            return False
        if time.monotonic() - self._optimized_at < OPTIMIZE_EVERY_S:
            return False
        self._optimized_at = time.monotonic()
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA optimize")
            await conn.commit()
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


class add_days(FunctionElement[date]):
    """`day + n days` in SQL on both backends: PostgreSQL adds an integer to a date, SQLite
    keeps dates as ISO text and has date(day, '+n days')."""

    type = Date()
    inherit_cache = True


@compiles(add_days)
def _add_days_default(element: add_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"({compiler.process(day, **kw)} + {compiler.process(days, **kw)})"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, ({compiler.process(days, **kw)}) || ' days')"
