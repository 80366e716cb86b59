"""The durable record of Slack deliveries: deduplication and crash recovery."""

from __future__ import annotations

import os
import re
import typing
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Table,
    Text,
    Update,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from bot import sqlite_driver
from bot.arrivals import CHANNEL
from bot.db import dialect_of, insert_for
from bot.models import Inbound
from bot.on_driver import OnDriver, run_script_now

# A process renews the leases of the deliveries it works on every RENEW_EVERY (see
# bot/inbox.py), so a lease runs out only when its holder died or hung: then another process
# takes the work over within LEASE. ALLYBOT_LEASE_SECONDS shortens it, for the tests that
# kill a process and wait for another to take its work over; not a setting to deploy with.
LEASE = timedelta(seconds=float(os.environ.get("ALLYBOT_LEASE_SECONDS") or 10))
RENEW_EVERY = LEASE * 0.3
MAX_ATTEMPTS = 5
ABANDON_AFTER = timedelta(days=1)  # far past every retry's backoff (15 s · 2^4)
KEEP_KEYS = timedelta(days=7)  # Slack retries within minutes; a week is generous
# The claim version of a delivery stored already claimed by the process that recorded it
# (it works on it at once; bot.recorder): as if claimed once, so it is not resuming.
CLAIMED_AT_BIRTH = 1


async def record(
    session: AsyncSession,
    *,
    team_id: str,
    key: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
) -> int | None:
    """Store a delivery under its unique key; None when the same delivery was already stored."""
    stmt = (
        insert_for(session, Inbound)
        .values(
            team_id=team_id,
            key=key,
            kind=kind,
            payload=payload,
            status="pending",
            attempts=0,
            lease_until=now + LEASE,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "key"])
        .returning(Inbound.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def record_many(
    session: AsyncSession | AsyncConnection,
    *,
    rows: list[dict[str, Any]],
    now: datetime,
    attempts: int = 0,
) -> dict[tuple[str, str], int]:
    """Store many deliveries in one statement; returns the ids of those that were new,
    by (team_id, key). `attempts`: 0 for a worker to claim, CLAIMED_AT_BIRTH when the
    recording process works on them itself. On PostgreSQL, new ones notify the processes
    listening for them (bot.arrivals) when the transaction commits."""
    params = [
        {
            "team_id": r["team_id"],
            "key": r["key"],
            "kind": r["kind"],
            "payload": r["payload"],
            "status": "pending",
            "attempts": attempts,
            "lease_until": now + LEASE,
            "received_at": now,
        }
        for r in rows
    ]
    # One statement per backend, compiled once and run with the batch's parameters (the
    # driver sends the rows as one multi-row INSERT): no per-batch compilation on the ack path.
    stmt = _RECORD[dialect_of(session)]
    return {(r[0], r[1]): r[2] for r in (await session.execute(stmt, params)).all()}


def _record_statement(insert: Any, *notify: Any) -> Any:
    table = Inbound.__table__
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["team_id", "key"])
        .returning(table.c.team_id, table.c.key, table.c.id, *notify)
    )


_RECORD = {
    # pg_notify for each new row, in the same statement (no round trip more on the ack
    # path); PostgreSQL sends one notification per transaction, at its commit, and none
    # when every delivery was a duplicate.
    "postgresql": _record_statement(postgresql.insert, func.pg_notify(CHANNEL, "")),
    "sqlite": _record_statement(sqlite.insert),
}


async def claim(
    session: AsyncSession, *, inbound_id: int, attempts: int, now: datetime
) -> Inbound | None:
    """Start work on a delivery with a fresh lease, unless someone else took it since this
    worker last did: `attempts` is the claim's version, and whoever moves it first owns the
    work. A fresh delivery is at version 0; a recovered one at the version recovery gave it."""
    params = {"inbound_id": inbound_id, "version": attempts, "until": now + LEASE}
    return (await session.execute(_CLAIM, params)).scalar_one_or_none()


# Built once: every delivery runs it.
_CLAIM = (
    update(Inbound)
    .where(
        Inbound.id == bindparam("inbound_id"),
        Inbound.status == "pending",
        Inbound.attempts == bindparam("version"),
    )
    .values(attempts=bindparam("version") + 1, lease_until=bindparam("until"))
    .returning(Inbound)
    .execution_options(synchronize_session=False)
)


async def next_lease_end(session: AsyncSession) -> datetime | None:
    """When the earliest lease of a delivery in progress runs out (a failure's retry
    excepted: it waits for a scheduler pass); None when none is in progress."""
    return (await session.execute(_NEXT_LEASE_END)).scalar_one_or_none()


_NEXT_LEASE_END = select(func.min(Inbound.lease_until)).where(
    Inbound.status == "pending", Inbound.error.is_(None)
)


async def claim_new(session: AsyncSession, *, now: datetime, limit: int) -> list[Inbound]:
    """Take deliveries nobody has started (a worker process's intake); safe on many workers."""
    candidates = (
        select(Inbound.id)
        .where(Inbound.status == "pending", Inbound.attempts == 0)
        .order_by(Inbound.id)
        .limit(limit)
    )
    if dialect_of(session) == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await session.execute(candidates)).scalars())
    if not ids:
        return []
    claimed = await session.execute(
        update(Inbound)
        .where(Inbound.id.in_(ids), Inbound.status == "pending", Inbound.attempts == 0)
        .values(attempts=1, lease_until=now + LEASE)
        .returning(Inbound)
    )
    return list(claimed.scalars())


async def claim_expired(
    session: AsyncSession, *, now: datetime, limit: int = 100, dead_only: bool = False
) -> list[Inbound]:
    """Take over deliveries whose processor died (its lease ran out), and with `dead_only`
    False those whose retry after a failure is due; safe on many replicas."""
    due = [Inbound.status == "pending", Inbound.lease_until < now]
    if dead_only:
        due.append(Inbound.error.is_(None))  # a failure's retry waits for a scheduler pass
    candidates = select(Inbound.id).where(*due).order_by(Inbound.id).limit(limit)
    if dialect_of(session) == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await session.execute(candidates)).scalars())
    if not ids:
        return []
    claimed = await session.execute(
        update(Inbound)
        .where(Inbound.id.in_(ids), Inbound.status == "pending", Inbound.lease_until < now)
        .values(lease_until=now + LEASE, attempts=Inbound.attempts + 1)
        .returning(Inbound)
    )
    return list(claimed.scalars())


_INBOUND = typing.cast(Table, Inbound.__table__)

# Deliveries still pending at the (id, claim version) pairs held, found by id. SQLite:
# `pairs` an expanding (id, version) IN (…), with the ids alone as `ids` (SQLite reads
# (id, version) IN (…) alone with the status index, every pending delivery, and without
# statistics even with the ids: tests/test_hot_plans.py). PostgreSQL: the pairs as two
# arrays, `ids` and `versions`, joined as a table (one parameter each, however many are
# held: no IN list to spread out and bind value by value on every call).
_STILL_HELD_SQLITE = (
    _INBOUND.c.id.in_(bindparam("ids", expanding=True)),
    tuple_(_INBOUND.c.id, _INBOUND.c.attempts).in_(bindparam("pairs", expanding=True)),
    _INBOUND.c.status == "pending",
)
_HELD_PG = (
    func.unnest(
        bindparam("ids", type_=postgresql.ARRAY(Integer)),
        bindparam("versions", type_=postgresql.ARRAY(Integer)),
    )
    .table_valued("id", "version")
    .render_derived(name="held")
)
_STILL_HELD_PG = (
    _INBOUND.c.id == _HELD_PG.c.id,
    _INBOUND.c.attempts == _HELD_PG.c.version,
    _INBOUND.c.status == "pending",
)
_STILL_HELD = {"sqlite": _STILL_HELD_SQLITE, "postgresql": _STILL_HELD_PG}


def held_params(
    session: AsyncSession | AsyncConnection, pairs: list[tuple[int, int]]
) -> dict[str, Any]:
    """The parameters naming the (id, claim version) pairs held, as `_STILL_HELD` reads them."""
    ids = [inbound_id for inbound_id, _ in pairs]
    if dialect_of(session) == "postgresql":
        return {"ids": ids, "versions": [version for _, version in pairs]}
    return {"ids": ids, "pairs": pairs}


# Leases renewed per statement: a burst can leave thousands waiting in one process, and
# PostgreSQL takes at most 32,767 parameters in a statement (three per lease here).
RENEW_CHUNK = 1000


async def renew(session: AsyncSession, *, held: dict[int, int], now: datetime) -> set[int]:
    """Extend the leases of deliveries still held at the claim version `held` maps them to;
    a lease pushed further out (a failure's backoff) is left alone. Returns the ids still
    held: one missing is gone (taken over, or erased with a person it names)."""
    until = now + LEASE
    items = list(held.items())
    renewed: set[int] = set()
    for start in range(0, len(items), RENEW_CHUNK):
        found = await _RENEW[dialect_of(session)].rows(
            session, {**held_params(session, items[start : start + RENEW_CHUNK]), "until": until}
        )
        renewed.update(inbound_id for (inbound_id,) in found)
    return renewed


_RENEW = {
    dialect: OnDriver(
        update(_INBOUND)
        .where(*still_held)
        .values(
            lease_until=case(
                (_INBOUND.c.lease_until < bindparam("until"), bindparam("until")),
                else_=_INBOUND.c.lease_until,
            )
        )
        .returning(_INBOUND.c.id)
    )
    for dialect, still_held in _STILL_HELD.items()
}


async def payloads_of(
    session: AsyncSession, *, held: list[tuple[int, int]]
) -> dict[int, dict[str, Any]]:
    """The payloads of deliveries still pending at the (id, claim version) pairs held, by id,
    in one statement; one missing is no longer this claim's (taken over, or erased)."""
    if not held:
        return {}
    found = await session.execute(_PAYLOADS[dialect_of(session)], held_params(session, held))
    return {inbound_id: payload for inbound_id, payload in found if payload is not None}


_PAYLOADS = {
    dialect: select(_INBOUND.c.id, _INBOUND.c.payload).where(*still_held)
    for dialect, still_held in _STILL_HELD.items()
}


# PostgreSQL advisory locks on a delivery (two-int keys, their own space apart from the
# one-bigint keys of bot.services.dm_budget): shared by a transaction of its work, taken
# exclusively by an erase before it deletes the delivery. An advisory lock gives the
# transaction no id of its own, so one that only reads stays a read (no commit to flush),
# where a row lock would make every one of them a write.
DELIVERY_LOCKS = 1


def fence(
    connection: Connection,
    *,
    inbound_id: int,
    attempts: int,
    missing: Callable[[], Exception],
) -> None:
    """Raise what `missing()` returns unless the delivery is still pending at this claim
    version: the first statements of a transaction its work begins (run as it begins:
    bot.db, bot.lease). On PostgreSQL the delivery's lock is held shared to the end of that
    transaction, so an erase (which locks the deliveries naming the person and deletes
    them, first) waits for it and then rewrites what it wrote; the check runs
    after the lock (a statement of its own, so it sees an erase that ended meanwhile), both
    in one trip.
    On SQLite, one writer at a time, the check rides in the trip of the transaction's
    first statement, after its BEGIN IMMEDIATE."""
    adapter: Any = connection.connection.dbapi_connection
    if isinstance(adapter, sqlite_driver.OneTripConnection):
        params = {"inbound_id": inbound_id, "version": attempts}
        sql, args = _STILL_HELD_ONE.bound(connection.dialect, params)
        adapter.check_first(sqlite_driver.Check(sql, tuple(args), missing))
        return
    # Integers only, so written into the script (a script of two statements takes none).
    first, version = int(inbound_id), int(attempts)
    script = (
        f"SELECT pg_advisory_xact_lock_shared({DELIVERY_LOCKS}, {first}); "
        f"SELECT 1 / count(*) FROM inbound WHERE id = {first} AND attempts = {version} "
        "AND status = 'pending'"
    )
    try:
        run_script_now(connection, script)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == _DIVISION_BY_ZERO:  # no such row
            raise missing() from None
        raise


_DIVISION_BY_ZERO = "22012"
_STILL_HELD_ONE = OnDriver(
    select(_INBOUND.c.id).where(
        _INBOUND.c.id == bindparam("inbound_id"),
        _INBOUND.c.attempts == bindparam("version"),
        _INBOUND.c.status == "pending",
    )
)


async def exists(session: AsyncSession, *, inbound_id: int) -> bool:
    """Whether the delivery is still recorded, in whatever state: gone, an erase deleted it."""
    found = await session.scalar(select(Inbound.id).where(Inbound.id == inbound_id))
    return found is not None


async def confirm(session: AsyncSession, *, inbound_id: int, attempts: int, now: datetime) -> bool:
    """Renew one lease if it is still this claim's (`attempts`, its version) and pending: how
    a run that may have stalled past its lease learns, before it calls Slack, whether another
    process took the delivery over meanwhile."""
    params = {"inbound_id": inbound_id, "version": attempts, "until": now + LEASE}
    return bool((await session.execute(_CONFIRM, params)).rowcount)  # type: ignore[attr-defined]


_CONFIRM = (
    update(Inbound)
    .where(
        Inbound.id == bindparam("inbound_id"),
        Inbound.attempts == bindparam("version"),
        Inbound.status == "pending",
    )
    .values(lease_until=bindparam("until"))
    .execution_options(synchronize_session=False)
)


async def finish_many(
    session: AsyncSession, *, held: list[tuple[int, int]], now: datetime
) -> set[tuple[int, int]]:
    """Mark deliveries done, each only while still pending at the claim version this process
    holds it at (id, version), and drop their payloads; returns the (id, version) pairs
    marked, so a stale run's pair held in the same batch as its owner's is not taken for it.
    One missing was taken over by another run (its lease ran out meanwhile): that one owns it."""
    if not held:
        return set()
    found = await _FINISH[dialect_of(session)].rows(
        session, {**held_params(session, held), "now": now}
    )
    return {(inbound_id, version) for inbound_id, version in found}


async def finish_alone(
    conn: AsyncConnection, *, held: list[tuple[int, int]], now: datetime
) -> set[tuple[int, int]]:
    """`finish_many` as one statement on a connection in autocommit (PostgreSQL's
    Database.one_statement): no BEGIN or COMMIT, one trip."""
    if not held:
        return set()
    found = await _FINISH[dialect_of(conn)].alone(conn, {**held_params(conn, held), "now": now})
    return {(inbound_id, version) for inbound_id, version in found}


def finishing(dialect: str) -> Update:
    """The UPDATE of `finish_many` (parameters `ids` and `versions` on PostgreSQL, `ids`
    and `pairs` on SQLite, and `now`), RETURNING the (id, version) pairs it marked; on
    PostgreSQL also a step of a statement that writes an outcome with it (bot/outcomes.py)."""
    return (
        update(_INBOUND)
        .where(*_STILL_HELD[dialect])
        .values(status="done", payload=None, finished_at=bindparam("now"), error=None)
        .returning(_INBOUND.c.id, _INBOUND.c.attempts)
    )


# Core on the table, not the ORM's bulk UPDATE: every kudos ends with it (bot/outcomes.py).
_FINISH = {dialect: OnDriver(finishing(dialect)) for dialect in _STILL_HELD}


async def fail(
    session: AsyncSession, *, inbound_id: int, attempts: int, now: datetime, error: str
) -> str:
    """Record a failed attempt of this claim (`attempts`, its version): retried after a
    backoff ("pending"), given up after MAX_ATTEMPTS ("failed"); "lost", and nothing
    changed, when another process holds the delivery now (or it is gone)."""
    values: dict[str, Any] = {"error": error[:2000]}
    if attempts >= MAX_ATTEMPTS:
        # Nothing more will read the payload: the message text goes now.
        values.update(status="failed", finished_at=now, payload=None)
    else:
        values["lease_until"] = now + timedelta(seconds=15 * 2**attempts)
    result = await session.execute(
        update(Inbound)
        .where(Inbound.id == inbound_id, Inbound.attempts == attempts, Inbound.status == "pending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return "lost"
    return "failed" if attempts >= MAX_ATTEMPTS else "pending"


async def retain(session: AsyncSession, *, now: datetime) -> int:
    """The delivery log's retention: what a delivery carried (message text, names) is kept
    only while work on it is pending. Done and failed rows drop it when they end; a row still
    pending after ABANDON_AFTER is given up and dropped it too; and every ended row (its dedup
    key and ids) is deleted KEEP_KEYS after it ended. Returns the rows deleted."""
    await session.execute(
        update(Inbound)
        .where(Inbound.status == "pending", Inbound.received_at < now - ABANDON_AFTER)
        .values(status="abandoned", payload=None, finished_at=now)
    )
    result = await session.execute(
        delete(Inbound).where(Inbound.status != "pending", Inbound.finished_at < now - KEEP_KEYS)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_person(
    session: AsyncSession, *, team_id: str, user_id: str, keep_id: int | None = None
) -> int:
    """Delete every delivery of the workspace that names the person, in its key or its
    payload (anything they sent or were mentioned in), whatever its state: the erase is the
    last thing done with them. `keep_id`, the delivery doing the erase, keeps its row (so a
    retry of it is still recognised) without its payload."""
    postgresql = dialect_of(session) == "postgresql"
    names = or_(*(naming(c, user_id, postgresql) for c in (_INBOUND.c.key, _PAYLOAD_TEXT)))
    theirs = (Inbound.team_id == team_id, names, Inbound.id != (keep_id or 0))
    locked: set[int] = set()
    if postgresql:
        # Work under way on one of them ends its transaction first (bot.lease: `fence`),
        # waited for before the DELETE takes any row lock (a lease renewal or an outcome
        # touching one of these rows would wait on that lock, with every lease it renews).
        found = await session.execute(
            select(Inbound.id, func.pg_advisory_xact_lock(DELIVERY_LOCKS, Inbound.id))
            .where(*theirs)
            .order_by(Inbound.id)
        )
        locked = {inbound_id for inbound_id, _ in found}
    deleted = list(
        (await session.execute(delete(Inbound).where(*theirs).returning(Inbound.id))).scalars()
    )
    # The DELETE also finds deliveries recorded after that SELECT's snapshot (a trip later,
    # or while it waited for a lock): their work may have passed its fence meanwhile, so
    # they are locked too, after the DELETE, else what that work writes outlives the erase.
    # Work fenced after this finds its delivery gone.
    late = sorted(set(deleted) - locked)
    if late and postgresql:
        await session.execute(_LOCK_DELIVERIES, {"ids": late})
    if keep_id:
        await session.execute(update(Inbound).where(Inbound.id == keep_id).values(payload=None))
    return len(deleted)


_PAYLOAD_TEXT = cast(_INBOUND.c.payload, Text)
_SLACK_ID = re.compile(r"[A-Z0-9]+")


def naming(column: ColumnElement[str], user_id: str, postgresql: bool) -> ColumnElement[bool]:
    """Whether `column` holds the id as a whole word: not `U123` inside `U123Q7`, someone else
    whose id begins with it (a Slack id is capitals and digits; in a key or a payload it sits
    between other characters: `"U123"`, `<@U123|ann>`, `…:ts:U123`)."""
    if not _SLACK_ID.fullmatch(user_id):
        raise ValueError("not a Slack user id")
    word = f"[^A-Za-z0-9]{user_id}[^A-Za-z0-9]"
    padded = literal(" ") + column + literal(" ")  # an id at either end has an edge too
    whole = (
        padded.regexp_match(word)
        if postgresql
        else padded.op("GLOB", is_comparison=True)(f"*{word}*")
    )
    return column.like(f"%{user_id}%") & whole  # the cheap test first


# In the array's order (the ids sorted).
_LOCK_DELIVERIES = text(
    f"SELECT pg_advisory_xact_lock({DELIVERY_LOCKS}, i) FROM unnest(CAST(:ids AS int[])) AS i"
)
