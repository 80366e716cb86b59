"""Several real `allybot serve` processes on one PostgreSQL behave as one allybot.

Each test starts its replicas on a scratch PostgreSQL database of its own (replicas need
PostgreSQL; SQLite is for one process). The scheduler inside `serve` runs on the real clock,
so the daily messages the tests need are stranded claims of a sender that died at an
earlier instant: any replica's pass takes them over, whatever the day and hour now.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.db import Database
from bot.models import Kudos, OutboxMessage, Person
from scheduler import outbox
from scheduler.planner import plan
from tests.conftest import Server, Team, Templates, server_env, start_server, stopped
from tests.helpers import at, new_id, running_bot, seed_people
from tests.slack_double import SlackDouble
from tests.test_channel_kudos_e2e import message
from tests.test_nudge_processes import delivered

TZ = "Europe/London"
# A Thursday morning before any test runs: claims made then have long outlived their lease.
STRANDED_AT = at("2026-11-19 09:00", TZ)


@pytest.fixture
async def pg(templates: Templates, tmp_path: Path) -> AsyncIterator[tuple[str, Database]]:
    async with templates.copy("postgresql", tmp_path) as url:
        db = Database(url)
        try:
            yield url, db
        finally:
            await db.dispose()


class Replicas:
    """`allybot serve` processes on one database, stopped (SIGTERM) when the test ends."""

    def __init__(self, url: str, slack: SlackDouble, tmp_path: Path) -> None:
        self.url, self.slack, self.tmp_path = url, slack, tmp_path
        self.started: list[Server] = []
        self.http = aiohttp.ClientSession()

    async def start(self, name: str, *, tick_seconds: float = 0) -> Server:
        log_path = self.tmp_path / f"{name}.log"
        env = server_env(self.url, self.slack.url)
        process, url = await start_server(env, log_path, "--tick-seconds", str(tick_seconds))
        replica = Server(url=url, process=process, log_path=log_path, http=self.http)
        self.started.append(replica)
        return replica

    async def close(self) -> None:
        for replica in self.started:
            if replica.process.poll() is None:
                await stopped(replica.process)
        await self.http.close()


@pytest.fixture
async def replicas(
    pg: tuple[str, Database], slack: SlackDouble, tmp_path: Path
) -> AsyncIterator[Replicas]:
    group = Replicas(pg[0], slack, tmp_path)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(group.close)
        stack.callback(slack.delay, "chat.postMessage", 0)
        yield group


async def strand_messages(url: str, db: Database, slack: SlackDouble, count: int) -> list[str]:
    """People with a tip claimed by a sender that died before posting it; their tips are
    then turned off, so the passes now plan nothing new and only finish these."""
    team = new_id("T")
    people = await seed_people(
        db, slack, team_id=team, people=[{"tz": TZ, "tips_cadence": "daily"}] * count
    )
    async with running_bot(url, slack) as bot:
        _, ctx = await plan(bot, now=STRANDED_AT, team_id=team)
        assert ctx is not None
        async with db.session() as session:
            await outbox.claim_new(
                session,
                clocks=ctx.clocks,
                now=STRANDED_AT,
                token="dead-sender",
                limit=count,
                team_id=team,
            )
            await session.execute(
                update(Person).where(Person.team_id == team).values(tips_cadence="off")
            )
    async with db.session() as session:
        claimed = await session.scalar(select(func.count()).where(OutboxMessage.team_id == team))
    assert claimed == count
    return people


async def sent_everyone(slack: SlackDouble, people: list[str], timeout: float = 60) -> None:
    """Wait until each of them got their message (at least once)."""
    deadline = time.monotonic() + timeout
    while set(delivered(slack, people)) != set(people):
        assert time.monotonic() < deadline, f"{len(delivered(slack, people))} of {len(people)}"
        await asyncio.sleep(0.05)


async def pass_logged(replica: Server, timeout: float = 60) -> None:
    """Wait for the end of a pass that sent something (its summary line)."""
    deadline = time.monotonic() + timeout
    while "pass: planned" not in replica.log():
        assert time.monotonic() < deadline, replica.log()
        await asyncio.sleep(0.05)


def resent_reported(replica: Server) -> int:
    """What a replica's log says it re-sent after another one died mid-send."""
    found = re.findall(r"re-sent (\d+) messages whose sender died", replica.log())
    return sum(int(n) for n in found)


async def replica_mid_send(
    replicas: Replicas,
    pg: tuple[str, Database],
    slack: SlackDouble,
    name: str,
    *,
    delay: float,
    posts: int,
) -> tuple[Server, list[str]]:
    """A replica sending 60 stranded messages, each post answered after `delay`, once
    `posts` of them have reached Slack."""
    url, db = pg
    slack.delay("chat.postMessage", delay)
    people = await strand_messages(url, db, slack, 60)
    replica = await replicas.start(name, tick_seconds=3600)
    await slack.wait_for(
        "chat.postMessage", count=posts, timeout=60, where=lambda c: c.args.get("channel") in people
    )
    return replica, people


async def test_a_retry_landing_on_the_other_replica_is_the_same_event(
    replicas: Replicas, pg: tuple[str, Database], slack: SlackDouble
) -> None:
    _, db = pg
    first, second = await asyncio.gather(replicas.start("a"), replicas.start("b"))
    team = Team(slack=slack)
    ann, bob = team.user("ann"), team.user("bob")
    body, ts, _ = message(team, ann, f"kudos <@{bob}> for the calm incident call")
    answers = await asyncio.gather(first.post(body), second.post(body, retry_num=1))
    assert [status for status, _ in answers] == [200, 200]
    await slack.wait_for("reactions.add", timestamp=ts)
    (told,) = await slack.wait_for("chat.postMessage", channel=bob)
    await slack.assert_no_call(
        "chat.postMessage", within=0.5, channel=bob, where=lambda c: c is not told
    )
    async with db.session() as session:
        rows = (
            (await session.execute(select(Kudos).where(Kudos.team_id == team.team_id)))
            .scalars()
            .all()
        )
    assert [(k.giver_id, k.receiver_id) for k in rows] == [(ann, bob)]
    assert len(slack.calls_to("reactions.add", timestamp=ts)) == 1


async def test_replicas_ticking_together_send_each_message_once(
    replicas: Replicas, pg: tuple[str, Database], slack: SlackDouble
) -> None:
    url, db = pg
    # More than one claim batch (200), so both replicas find work on their first passes.
    people = await strand_messages(url, db, slack, 220)
    first, second = await asyncio.gather(
        replicas.start("a", tick_seconds=0.5), replicas.start("b", tick_seconds=0.5)
    )
    await sent_everyone(slack, people)
    for replica in (first, second):  # each finishes its pass, then exits
        assert await stopped(replica.process) == 0, replica.log()
    counts = delivered(slack, people)
    assert set(counts) == set(people) and set(counts.values()) == {1}
    assert resent_reported(first) + resent_reported(second) == 0


async def test_a_replica_killed_mid_batch_loses_nothing(
    replicas: Replicas, pg: tuple[str, Database], slack: SlackDouble
) -> None:
    _, db = pg
    victim, people = await replica_mid_send(replicas, pg, slack, "victim", delay=0.3, posts=20)
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    slack.delay("chat.postMessage", 0)
    seen = sum(delivered(slack, people).values())
    assert 0 < seen < len(people), "the kill landed mid-batch"
    # As if the two-minute lease had run out: the claims of the dead replica are free to take.
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .values(lease_until=datetime.now(UTC) - timedelta(seconds=5))
        )
    survivor = await replicas.start("survivor", tick_seconds=3600)
    await sent_everyone(slack, people)
    counts = delivered(slack, people)
    assert set(counts) == set(people), "every message was delivered"
    duplicates = sum(counts.values()) - len(people)
    await pass_logged(survivor)
    reported = resent_reported(survivor)
    assert duplicates <= reported <= 20, (duplicates, reported)
    async with db.session() as session:
        statuses = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        assert dict(statuses.all()) == {"sent": len(people)}
    assert await stopped(survivor.process) == 0


async def test_sigterm_finishes_the_sends_in_flight_and_exits_0(
    replicas: Replicas, pg: tuple[str, Database], slack: SlackDouble
) -> None:
    _, db = pg
    first, people = await replica_mid_send(replicas, pg, slack, "first", delay=0.5, posts=5)
    first.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.process.wait, 15) == 0, first.log()
    posted = set(delivered(slack, people))
    assert posted, "sends were in flight"
    async with db.session() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    by_user = {row.user_id: row for row in rows}
    # Every post that reached Slack was answered and recorded as sent before the exit ...
    assert {u for u, row in by_user.items() if row.status == "sent"} == posted
    # ... and nothing is left half-sent: the rest was handed back for another replica.
    assert [row for row in rows if row.status == "pending" and row.sending_at is not None] == []
    assert "stopped" in first.log()
    slack.delay("chat.postMessage", 0)
    second = await replicas.start("second", tick_seconds=3600)
    await sent_everyone(slack, people)
    assert await stopped(second.process) == 0
    counts = delivered(slack, people)
    assert set(counts.values()) == {1}
    assert resent_reported(second) == 0


async def test_healthz_reports_a_schema_behind_the_replica(
    pg: tuple[str, Database], slack: SlackDouble, tmp_path: Path
) -> None:
    """A replica whose database is at an older revision than its own code (restored from a
    backup, or migrated down) keeps answering and says so, for the readiness probe."""
    url, db = pg
    process, base = await start_server(
        server_env(url, slack.url), tmp_path / "old.log", "--tick-seconds", "0"
    )
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200 and (await resp.json())["schema"] == "head"
            async with db.engine.begin() as conn:
                await conn.exec_driver_sql(
                    "UPDATE alembic_version SET version_num = 'c8d2f3e4b5a6'"
                )
            async with http.get(f"{base}/healthz") as resp:
                body = await resp.json()
        assert resp.status == 200
        assert body["schema"] == "behind" and body["revision"] == ["c8d2f3e4b5a6"]
        assert body["head"] != body["revision"]
    finally:
        assert await stopped(process) == 0
