"""Two replicas' recovery passes never run the same delivery twice, even when one pass's
batch outlives the lease it took the batch with, and what a replica works on is renewed."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.db import Database
from bot.inbox import Inbox, Work
from bot.services import inbound


class _NoSlack:
    """Recovery here needs no Slack client: the handler only counts."""

    async def for_team(self, team_id: str) -> Any:
        return None


async def test_a_slow_recovery_batch_is_not_run_again_by_another_replica(
    fresh_db: tuple[str, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, db = fresh_db
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=1))  # 10 s in production
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=0.2))  # 3 s in production
    calls: Counter[int] = Counter()

    async def slow(work: Work) -> None:  # a delivery that takes 0.5 s, as under load
        calls[int(work.body["n"])] += 1
        await asyncio.sleep(0.5)

    other = Database(url)
    try:
        # Two at a time: A's batch of 12 takes 3 s, well past the 1 s lease it was taken with;
        # those A runs have their leases renewed past the lease's end, the rest B takes.
        a = Inbox(db, _NoSlack(), concurrency=2)  # type: ignore[arg-type]
        b = Inbox(other, _NoSlack())  # type: ignore[arg-type]
        for inbox in (a, b):
            inbox.handlers["slow"] = slow
        async with db.session() as session:  # deliveries whose first worker died long ago
            await inbound.record_many(
                session,
                rows=[
                    {"team_id": "T1", "key": f"k{n}", "kind": "slow", "payload": {"n": n}}
                    for n in range(12)
                ],
                now=datetime.now(UTC) - timedelta(minutes=5),
            )

        async def replica_b_later() -> int:
            await asyncio.sleep(1.3)  # after replica A's batch lease ran out
            return await b.recover()

        done_a, done_b = await asyncio.gather(a.recover(), replica_b_later())
    finally:
        await a.drain(0)
        await b.drain(0)
        await other.dispose()
    assert sorted(calls) == list(range(12)), "every delivery was run"
    assert [n for n, c in calls.items() if c > 1] == [], "none of them twice"
    assert done_a + done_b == 12 and done_b > 0, (done_a, done_b)


async def test_work_outliving_its_lease_is_renewed_not_taken_over(
    fresh_db: tuple[str, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live process keeps what it works on however long it takes; once it is gone, another
    takes the work over as soon as the lease runs out."""
    url, db = fresh_db
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=1))
    monkeypatch.setattr(inbound, "RENEW_EVERY", timedelta(seconds=0.2))
    calls: Counter[int] = Counter()

    async def slow(work: Work) -> None:
        calls[int(work.body["n"])] += 1
        await asyncio.sleep(2.5)  # 2.5 leases

    other = Database(url)
    try:
        a, b = Inbox(db, _NoSlack()), Inbox(other, _NoSlack())  # type: ignore[arg-type]
        for inbox in (a, b):
            inbox.handlers["slow"] = slow
        async with db.session() as session:
            await inbound.record_many(
                session,
                rows=[{"team_id": "T1", "key": "k0", "kind": "slow", "payload": {"n": 0}}],
                now=datetime.now(UTC) - timedelta(minutes=5),
            )
        running = asyncio.create_task(a.recover())
        taken_meanwhile = 0
        for _ in range(8):  # B looks every 0.25 s while A works
            await asyncio.sleep(0.25)
            taken_meanwhile += await b.recover()
        assert await running == 1
    finally:
        await a.drain(0)
        await b.drain(0)
        await other.dispose()
    assert taken_meanwhile == 0
    assert calls == Counter({0: 1})
