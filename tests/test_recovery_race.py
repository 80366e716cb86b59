"""Two replicas' recovery passes never run the same delivery twice, even when one pass's
batch outlives the lease it took the batch with."""

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
    monkeypatch.setattr(inbound, "LEASE", timedelta(seconds=1))  # 60 s in production
    calls: Counter[int] = Counter()

    async def slow(work: Work) -> None:  # a delivery that takes 0.2 s, as under load
        calls[int(work.body["n"])] += 1
        await asyncio.sleep(0.2)

    other = Database(url)
    try:
        a, b = Inbox(db, _NoSlack()), Inbox(other, _NoSlack())  # type: ignore[arg-type]
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
        await other.dispose()
    assert sorted(calls) == list(range(12)), "every delivery was run"
    assert [n for n, c in calls.items() if c > 1] == [], "none of them twice"
    assert done_a + done_b == 12 and done_b > 0, (done_a, done_b)
