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
        assert await inbound.claim(session, inbound_id=row_id, attempts=0, now=now) is None


async def test_a_delivery_started_by_its_recorder_is_not_recovered(db: Database) -> None:
    now = datetime.now(UTC)
    _, row_id = await _record(db, now - timedelta(minutes=5))  # waited past its first lease
    async with db.session() as session:
        assert await inbound.claim(session, inbound_id=row_id, attempts=0, now=now) is not None
    async with db.session() as session:
        taken = await inbound.claim_expired(session, now=now + inbound.LEASE / 2, limit=1000)
    assert row_id not in {r.id for r in taken}


async def test_a_recovered_batch_is_renewed_one_delivery_at_a_time(db: Database) -> None:
    """Replica A recovers a batch; the deliveries at its end wait their turn past the batch's
    lease, replica B takes them over, and A then leaves them to B instead of running them
    again. The one A renewed as it started keeps its fresh lease: B does not take it."""
    now = datetime.now(UTC)
    _, first = await _record(db, now - timedelta(minutes=5))
    _, second = await _record(db, now - timedelta(minutes=5))
    async with db.session() as session:
        batch = {r.id: r for r in await inbound.claim_expired(session, now=now, limit=1000)}
    assert {first, second} <= set(batch)

    later = now + inbound.LEASE + timedelta(seconds=1)  # A worked on others meanwhile
    async with db.session() as session:
        started = await inbound.claim(
            session, inbound_id=first, attempts=batch[first].attempts, now=later
        )
    assert started is not None
    async with db.session() as session:
        taken = {r.id for r in await inbound.claim_expired(session, now=later, limit=1000)}
    assert second in taken and first not in taken  # B: the waiting one, not the renewed one
    async with db.session() as session:
        assert (
            await inbound.claim(
                session, inbound_id=second, attempts=batch[second].attempts, now=later
            )
            is None
        ), "A leaves it to B"


async def test_the_delivery_log_keeps_no_text_past_its_purpose(db: Database) -> None:
    """Failed rows drop their payload when they fail; rows pending for a day are abandoned
    without it; every ended row goes after 7 days; the erase's own row stays, stripped."""
    from bot.models import Inbound

    now = datetime.now(UTC)
    team, failing = await _record(db, now)
    async with db.session() as session:
        for attempts in range(1, inbound.MAX_ATTEMPTS + 1):
            row = await session.get(Inbound, failing)
            assert row is not None
            row.attempts = attempts
            await inbound.fail(
                session, inbound_id=failing, attempts=attempts, now=now, error="KudosRejected"
            )
        stale = await inbound.record(
            session, team_id=team, key="event:Ev2", kind="test", payload={"t": "words"}, now=now
        )
        fresh = await inbound.record(
            session, team_id=team, key="event:Ev3", kind="test", payload={"t": "words"}, now=now
        )
        assert stale and fresh
        (await session.get(Inbound, stale)).received_at = now - timedelta(days=2)  # type: ignore[union-attr]
    async with db.session() as session:
        await inbound.retain(session, now=now)
    async with db.session() as session:
        rows = {r: await session.get(Inbound, r) for r in (failing, stale, fresh)}
        assert (rows[failing].status, rows[failing].payload) == ("failed", None)  # type: ignore[union-attr]
        assert (rows[stale].status, rows[stale].payload) == ("abandoned", None)  # type: ignore[union-attr]
        assert rows[fresh].status == "pending" and rows[fresh].payload  # type: ignore[union-attr]
    async with db.session() as session:
        purged = await inbound.retain(session, now=now + inbound.KEEP_KEYS + timedelta(minutes=1))
    assert purged >= 2
    async with db.session() as session:
        assert await session.get(Inbound, failing) is None
        assert await session.get(Inbound, stale) is None
        assert await session.get(Inbound, fresh) is not None  # abandoned only now: kept 7 days


async def test_watching_takes_over_dead_work_and_leaves_failures_to_their_backoff(
    db: Database,
) -> None:
    """A dead process's delivery is taken over as soon as its lease ran out; one that failed
    keeps the retry a scheduler pass gives it after its backoff."""
    now = datetime.now(UTC)
    _, dead = await _record(db, now - timedelta(minutes=5))
    _, failed = await _record(db, now - timedelta(minutes=5))
    async with db.session() as session:
        assert await inbound.claim(session, inbound_id=failed, attempts=0, now=now) is not None
        await inbound.fail(
            session, inbound_id=failed, attempts=1, now=now - timedelta(minutes=1), error="X"
        )
    async with db.session() as session:
        watched = {r.id for r in await inbound.claim_expired(session, now=now, dead_only=True)}
    assert dead in watched and failed not in watched
    async with db.session() as session:
        passed = {r.id for r in await inbound.claim_expired(session, now=now)}
    assert failed in passed


async def test_an_erase_takes_the_deliveries_naming_the_person_and_no_one_whose_id_begins_so(
    db: Database,
) -> None:
    """Deliveries naming bob (his mention, his id as a field, a key ending with it) go with
    his erase; one naming carl, whose id begins with bob's, or dave, whose id ends with it,
    stays."""
    from bot.models import Inbound

    now, team = datetime.now(UTC), new_id("T")
    bob = new_id("U")
    carl, dave = bob + "Q7", "U9" + bob
    payloads = [
        (f"command:/kudos:{new_id('t')}", {"text": f"<@{bob}|bob> thanks"}),
        (f"event:{new_id('Ev')}", {"event": {"user": bob, "text": "hello"}}),
        (f"message:C1:1.2:{bob}", {"text": "kudos everyone"}),
        (f"command:/kudos:{new_id('t')}", {"text": f"<@{carl}|carl> thanks"}),
        (f"event:{new_id('Ev')}", {"event": {"user": dave, "text": f"{carl} and {dave}"}}),
        (f"message:C1:1.3:{carl}", {"text": "kudos everyone"}),
    ]
    ids = {}
    async with db.session() as session:
        for key, payload in payloads:
            ids[key] = await inbound.record(
                session, team_id=team, key=key, kind="test", payload=payload, now=now
            )
    async with db.session() as session:
        assert await inbound.forget_person(session, team_id=team, user_id=bob) == 3
    async with db.session() as session:
        kept = {key for key, i in ids.items() if await session.get(Inbound, i) is not None}
    assert kept == {key for key, _ in payloads[3:]}
