"""The statements behind an ack, a kudos and a Home publish find their rows by index: none
reads a whole workspace's (or zone's, or table's) kudos, people or deliveries, so each costs
the same with a million kudos as with none (benchmarks/README.md, flat with history).

Every statement allybot runs for them is recorded on its own engine, then shown to the
database's planner: SQLite's `EXPLAIN QUERY PLAN` as it plans without statistics (as on a
fresh install) and after `ANALYZE`; PostgreSQL's `EXPLAIN` with sequential scans priced out,
so a scan there means no index can serve the statement."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import ANALYSIS_LIMIT, OPTIMIZE_EVERY_S, Database
from bot.preflight import open_database
from bot.services import inbound
from tests import payloads
from tests.conftest import Team
from tests.helpers import SIGNING_SECRET, a_kudos, running_bot, seed_people
from tests.signing import signed_post
from tests.slack_double import SlackDouble

# Tables that grow with a workspace's history and its traffic.
GROWING = ("kudos", "people", "inbound", "person_dms", "nudges", "outbox", "allies")
# A look-up on one of them must pin more than the workspace, a time range, a zone, a status.
BROAD = {"team_id", "created_at", "tz", "local_day", "status", "lease_until"}
SQLITE_STEP = re.compile(r"\b(SCAN|SEARCH) (\w+)(?: AS \w+)?(?: USING (.*))?")
PG_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


@contextmanager
def recording(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) run on this database meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if many and params and isinstance(params[0], (list, tuple, Mapping)):
            params = params[0]  # executemany: one row's parameters plan the same
        if not params and ";" in statement:  # a script (inbound.fence): each statement
            seen.extend((part, ()) for part in statement.split(";") if part.strip())
            return
        seen.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


def planned(statement: str) -> bool:
    """A statement a planner chooses a path for (not BEGIN, PRAGMA, SAVEPOINT, …)."""
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def sqlite_problems(plan: list[str]) -> list[str]:
    """Steps that read a growing table whole or by a prefix as broad as the workspace."""
    problems = []
    for line in plan:
        match = SQLITE_STEP.search(line)
        if match is None or match.group(2) not in GROWING:
            continue
        how = match.group(3) or ""
        if "PRIMARY KEY" in how:
            continue
        pinned = set(re.findall(r"(\w+)(?:=|>|<| IN)", how.partition("(")[2]))
        if match.group(1) == "SCAN" or not pinned - BROAD:
            problems.append(line)
    return problems


def pg_problems(plan: list[str]) -> list[str]:
    """PostgreSQL, sequential scans priced out: a growing table still read whole has no
    index that serves the statement. (Which index it picks is decided by statistics these
    few rows cannot give: benchmarks/README.md shows the plans on a seeded database.)"""
    return [
        line.strip()
        for line in plan
        if (m := PG_SEQ_SCAN.search(line)) is not None and m.group(1) in GROWING
    ]


async def explain(conn: AsyncConnection, statement: str, params: Any) -> list[str]:
    params = dict(params) if isinstance(params, Mapping) else tuple(params or ())
    if conn.dialect.name == "sqlite":
        rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        return [str(r[-1]) for r in rows]
    rows = await conn.exec_driver_sql("EXPLAIN " + statement, params)
    return [str(r[0]) for r in rows]


async def scanning(db: Database, statements: list[tuple[str, Any]]) -> dict[str, list[str]]:
    """Each distinct statement whose plan reads a growing table broadly, with those steps."""
    found: dict[str, list[str]] = {}
    distinct = {s: p for s, p in statements if planned(s)}
    async with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, params in distinct.items():
            plan = await explain(conn, statement, params)
            check = sqlite_problems if conn.dialect.name == "sqlite" else pg_problems
            if bad := check(plan):
                found[" ".join(statement.split())[:400]] = bad
        await conn.rollback()
    return found


async def test_ack_kudos_and_home_statements_find_rows_by_index(
    fresh_db: tuple[str, Database], slack: SlackDouble
) -> None:
    url, db = fresh_db
    team = Team(slack=slack)
    giver, ann, bob = team.user("giver"), team.user("ann"), team.user("bob")
    others = await seed_people(db, slack, team_id=team.team_id, people=[{}, {}, {}])
    now = datetime.now(UTC)
    async with db.session() as session:  # a little history among other people
        for n, (a, b) in enumerate([(others[0], others[1]), (others[1], others[2])] * 3):
            session.add(a_kudos(team.team_id, a, b, at=now - timedelta(days=n + 1)))
    async with running_bot(url, slack) as bot, TestServer(bot.web) as web:
        events = str(web.make_url("/slack/events"))
        async with aiohttp.ClientSession() as http:
            with recording(bot.db) as seen:
                opened = payloads.app_home_opened_event(user=giver, team_id=team.team_id)
                body = payloads.event_callback(opened, team_id=team.team_id)
                assert (await signed_post(http, events, body, SIGNING_SECRET))[0] == 200
                await slack.wait_for("views.publish", user_id=giver)
                body, _ = team.command("/kudos", f"<@{ann}> <@{bob}> calm release", user_id=giver)
                assert (await signed_post(http, events, body, SIGNING_SECRET))[0] == 200
                await slack.wait_for("chat.postMessage", channel=bob)
                await slack.wait_for("chat.postMessage", channel=ann)
                await slack.wait_for("views.publish", user_id=giver, count=2)
                await bot.inbox.drain()
        statements = list(seen)
    assert [s for s, _ in statements if "INSERT INTO kudos" in s]
    assert await scanning(db, statements) == {}
    if db.dialect == "sqlite":  # and as planned once statistics exist
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
        assert await scanning(db, statements) == {}


async def test_lease_renewal_finds_deliveries_by_key_with_statistics(
    fresh_db: tuple[str, Database],
) -> None:
    """Renewing leases runs once per renewal interval, not per kudos: held to the plan it
    gets once statistics exist (SQLite's after start-up's ANALYZE; PostgreSQL's always)."""
    _, db = fresh_db
    now = datetime.now(UTC)
    rows = [{"team_id": "T1", "key": f"k{n}", "kind": "command", "payload": {}} for n in range(60)]
    async with db.session() as session:
        ids = await inbound.record_many(session, rows=rows, now=now)
        await inbound.finish_many(session, held=[(i, 0) for i in list(ids.values())[:50]], now=now)
    held = dict.fromkeys(list(ids.values())[50:52], 0)
    with recording(db) as seen:
        async with db.session() as session:
            assert len(await inbound.renew(session, held=held, now=now + timedelta(minutes=1))) == 2
    await db.gather_statistics()
    assert await scanning(db, seen) == {}


async def test_sqlite_statistics_are_sampled_at_start_and_refreshed_hourly(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    db = await open_database(url)  # what every writing command opens its database with
    try:
        async with db.session() as session:
            session.add_all(a_kudos("T1", f"U{n}", "U0", key=f"k{n}") for n in range(1, 4))
    finally:
        await db.dispose()
    db = await open_database(url)  # the next start samples the kudos it finds
    try:
        async with db.engine.connect() as conn:
            limit = (await conn.exec_driver_sql("PRAGMA analysis_limit")).scalar()
            stat = "SELECT idx FROM sqlite_stat1 WHERE tbl = 'kudos'"
            sampled = {str(r[0]) for r in await conn.exec_driver_sql(stat)}
        assert limit == ANALYSIS_LIMIT
        assert {"ix_kudos_giver_created", "ix_kudos_receiver_created"} <= sampled
        assert await db.optimize() is False, "not again within the hour"
        db._optimized_at -= OPTIMIZE_EVERY_S
        assert await db.optimize() is True
        assert await db.optimize() is False
    finally:
        await db.dispose()
