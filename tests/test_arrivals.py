"""Idle processes wake when there is work: on PostgreSQL a delivery recorded by one process
wakes the workers of another at once (LISTEN/NOTIFY), also after the listening connection
was cut; the poll stays as the fallback; a dead process's delivery is taken over as its
lease ends, not at the next poll."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from allybot import workers
from bot import arrivals
from bot.db import Database
from bot.inbox import Inbox, Work
from bot.services import inbound

# Long enough that a test passing within it cannot have been woken by a poll.
NEVER = 3600.0


class _NoSlack:
    async def for_team(self, team_id: str) -> Any:
        return None


class _Process:
    """An inbox of its own on its own engine, as another process would have, whose handler
    notes each delivery it works on."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.inbox = Inbox(self.db, _NoSlack())  # type: ignore[arg-type]
        # As `serve --workers N` records: unclaimed, for a worker to take. (Recording
        # claimed at birth is what a process working on its own deliveries does.)
        self.inbox.work_here = False
        self.seen: list[int] = []
        self.arrived = asyncio.Event()
        self.inbox.handlers["count"] = self._count

    async def _count(self, work: Work) -> None:
        self.seen.append(int(work.body["n"]))
        self.arrived.set()

    async def record(self, n: int) -> None:
        """Record through the ack path's recorder, as `serve` does before its ack."""
        assert await self.inbox.recorder.record(
            team_id="T1", key=f"k{n}", kind="count", payload={"n": n}
        )

    async def got(self, n: int, timeout: float = 30) -> None:
        while n not in self.seen:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout)

    async def close(self) -> None:
        await self.inbox.drain(0)
        await self.db.dispose()


@pytest.fixture
async def two(fresh_db: tuple[str, Database]) -> AsyncIterator[tuple[_Process, _Process]]:
    url, _ = fresh_db
    a, b = _Process(url), _Process(url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


@asynccontextmanager
async def _running(loop: Callable[[asyncio.Event], Awaitable[None]]) -> AsyncIterator[None]:
    """`loop` (a worker's, a watch) in a task until the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _listening(process: _Process) -> None:
    for _ in range(200):
        if process.inbox.arrivals.listening:
            await asyncio.sleep(0.3)  # the look that follows its first notification is over
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not listening")


async def test_a_delivery_recorded_elsewhere_wakes_an_idle_worker_at_once_on_postgresql(
    backend: str, two: tuple[_Process, _Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no notifications: a worker wakes on its serve's signal")
    monkeypatch.setattr(arrivals, "POLL", NEVER)
    monkeypatch.setattr(arrivals, "POLL_LISTENING", NEVER)
    monkeypatch.setattr(arrivals, "RECONNECT_AFTER", 0.1)
    a, b = two
    bot = SimpleNamespace(inbox=b.inbox)
    async with _running(lambda stop: workers.work_until(bot, stop)):  # type: ignore[arg-type]
        await _listening(b)
        await a.record(1)
        await b.got(1)

        # The listening connection is cut (a server restart, a proxy's idle timeout): the
        # worker listens again, and the next delivery wakes it as the first did.
        killer = await asyncpg.connect(b.db.url.render_as_string(hide_password=False))
        try:
            cut = await killer.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1 AND datname = current_database()",
                arrivals.LISTENER_NAME["application_name"],
            )
        finally:
            await killer.close()
        assert cut == 1
        for _ in range(100):
            if not b.inbox.arrivals.listening:
                break
            await asyncio.sleep(0.02)
        await _listening(b)
        await a.record(2)
        await b.got(2)
    assert b.seen == [1, 2]


async def test_without_a_notification_the_poll_still_finds_the_delivery(
    two: tuple[_Process, _Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery nobody announced (SQLite; on PostgreSQL, as if its notification was lost
    with the connection) is found by the worker's own look."""
    monkeypatch.setattr(arrivals, "POLL", 0.3)
    monkeypatch.setattr(arrivals, "POLL_LISTENING", 0.3)
    a, b = two
    bot = SimpleNamespace(inbox=b.inbox)
    async with _running(lambda stop: workers.work_until(bot, stop)):  # type: ignore[arg-type]
        await asyncio.sleep(0.5)
        async with a.db.session() as session:  # one row, without the recorder's notification
            await inbound.record(
                session, team_id="T1", key="k1", kind="count", payload={"n": 1}, now=_now()
            )
        await b.got(1)
    assert b.seen == [1]


async def test_a_dead_processs_delivery_is_taken_over_as_its_lease_ends_not_at_the_poll(
    two: tuple[_Process, _Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A records a delivery and dies before working on it. B's watch, its poll an hour
    away, takes it over once the lease has run out: told of it (PostgreSQL), or having seen
    its lease when it last looked."""
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=1))
    monkeypatch.setattr(arrivals, "POLL", NEVER)
    monkeypatch.setattr(arrivals, "POLL_LISTENING", NEVER)
    a, b = two
    a.inbox.work_here = True  # A works on what it records: stored claimed by A
    await a.record(1)  # before B looks: B sees the lease
    async with _running(b.inbox.watch):
        await b.got(1)
        if b.db.dialect == "postgresql":
            await _listening(b)
            await a.record(2)  # after B looked: B is told
            await b.got(2)
    assert b.seen == ([1, 2] if b.db.dialect == "postgresql" else [1])


def _now() -> datetime:
    return datetime.now(UTC)


async def test_a_listener_that_cannot_connect_keeps_trying_while_the_poll_covers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database refusing (down, restarting): the listener backs off and tries again,
    and subscribers look on their own every POLL meanwhile."""
    monkeypatch.setattr(arrivals, "RECONNECT_AFTER", 0.01)
    tried: list[float] = []

    async def refused(**_: Any) -> None:
        tried.append(asyncio.get_running_loop().time())
        raise ConnectionRefusedError("no database here")

    monkeypatch.setattr(asyncpg, "connect", refused)
    db = Database("postgresql://postgres@127.0.0.1:5432/none")
    ear = arrivals.Arrivals(db)
    try:
        async with ear.subscribed():
            await asyncio.sleep(0.7)
            assert not ear.listening and ear.poll_seconds == arrivals.POLL
        # Every 10 ms would be some 70 tries; doubling the wait from 10 ms, about 7.
        assert 3 <= len(tried) <= 12, tried
        gaps = [b - a for a, b in itertools.pairwise(tried)]
        assert gaps[-1] > 2 * gaps[0], gaps
    finally:
        await db.dispose()


async def test_when_notifications_do_not_come_back_subscribers_keep_the_quick_poll(
    backend: str, fresh_db: tuple[str, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a pooler that does not pass notifications on, LISTEN succeeds and nothing
    arrives: the listener's probe never returns, so it does not count as listening and its
    subscribers go on looking every POLL instead of every POLL_LISTENING."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's notifications")
    monkeypatch.setattr(arrivals, "PROBE_SECONDS", 0.3)
    listen = asyncpg.connection.Connection.add_listener

    async def elsewhere(self: asyncpg.Connection, channel: str, callback: Any) -> None:
        await listen(self, channel + "_not_passed_on", callback)

    monkeypatch.setattr(asyncpg.connection.Connection, "add_listener", elsewhere)
    ear = arrivals.Arrivals(fresh_db[1])
    async with ear.subscribed():
        await asyncio.sleep(1.0)
        assert not ear.listening and ear.poll_seconds == arrivals.POLL
    assert ear._task is None  # closed with its last subscriber
