"""A delivery is worked on by exactly one owner: the process that recorded it, or a
recovery pass once its lease ran out, never both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.db import Database
from bot.services import inbound
from tests.helpers import new_id


async def _record(db: Database, now: datetime) -> tuple[str, int]:
    team = new_id("T")
    async with db.session() as session:
        row_id = await inbound.record(
            session, team_id=team, key="event:Ev1", kind="test", payload={"x": 1}, now=now
        )
    assert row_id is not None
    return team, row_id


async def test_recovery_takes_over_a_delivery_left_waiting_and_the_recorder_backs_off(
    db: Database,
) -> None:
    now = datetime.now(UTC)
    _, row_id = await _record(db, now - timedelta(minutes=5))
    async with db.session() as session:
        taken = await inbound.claim_expired(session, now=now, limit=1000)
    assert row_id in {r.id for r in taken}
    async with db.session() as session:
        assert await inbound.claim_fresh(session, inbound_id=row_id, now=now) is None


async def test_a_delivery_started_by_its_recorder_is_not_recovered(db: Database) -> None:
    now = datetime.now(UTC)
    _, row_id = await _record(db, now - timedelta(minutes=5))  # waited past its first lease
    async with db.session() as session:
        assert await inbound.claim_fresh(session, inbound_id=row_id, now=now) is not None
    async with db.session() as session:
        taken = await inbound.claim_expired(session, now=now + timedelta(seconds=30), limit=1000)
    assert row_id not in {r.id for r in taken}
