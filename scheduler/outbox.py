"""The outbox in SQL: every message the scheduler sends is an `outbox` row, claimed with a
token and a lease before it is sent (FOR UPDATE SKIP LOCKED on PostgreSQL), so two
replicas never send the same row; a claim whose sender died is taken over after its lease.

A person's daily message is the row unique per (person, local day), inserted when they
have due nudges; whoever inserts it holds it. Other kinds plan their rows ahead (an intro
post, a digest) with `lease_until` at the time they are due.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, exists, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from bot.db import UTCDateTime, dialect_of, insert_for
from bot.models import Nudge, OutboxMessage, Person, Workspace
from scheduler.zones import CUSTOM_PLANS, deliverable

DAILY = "daily"
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5


def _due_for(day: Any) -> ColumnElement[bool]:
    """Planned, and the day is within the nudge's days."""
    return and_(
        Nudge.status == "planned",
        Nudge.local_day <= day,
        or_(Nudge.expires_day.is_(None), Nudge.expires_day >= day),
    )


def due_nudges(clocks: Subquery, now: datetime, *, team_id: str | None = None) -> Select[Any]:
    """Planned nudges of people who may be messaged now and have had no message today."""
    already = exists().where(
        OutboxMessage.team_id == Nudge.team_id,
        OutboxMessage.user_id == Nudge.user_id,
        OutboxMessage.local_day == clocks.c.local_day,
    )
    stmt = (
        select(Nudge, Person, clocks.c.local_day)
        .join(Person, and_(Person.team_id == Nudge.team_id, Person.user_id == Nudge.user_id))
        .join(clocks, clocks.c.tz == Person.tz)
        .join(Workspace, Workspace.team_id == Nudge.team_id)
        .where(
            _due_for(clocks.c.local_day),
            Nudge.message_id.is_(None),
            deliverable(clocks, now),
            ~already,
        )
    )
    return stmt.where(Nudge.team_id == team_id) if team_id else stmt


async def claim_new(
    session: AsyncSession,
    *,
    clocks: Subquery,
    now: datetime,
    token: str,
    limit: int,
    team_id: str | None = None,
) -> None:
    """Create the daily message of up to `limit` people with due nudges, and attach them."""
    if dialect_of(session) == "postgresql":  # `clocks` may be arrays (scheduler.zones)
        await session.execute(text(CUSTOM_PLANS))
    people_due = (
        due_nudges(clocks, now, team_id=team_id)
        .with_only_columns(
            Nudge.team_id,
            Nudge.user_id,
            clocks.c.local_day,
            literal(DAILY),
            literal("pending"),
            literal(token),
            literal(now + LEASE, UTCDateTime()),
            literal(1),
            literal(now, UTCDateTime()),
        )
        .distinct()
        .limit(limit)
    )
    cols = ["team_id", "user_id", "local_day", "kind", "status", "claim_token", "lease_until"]
    await session.execute(
        insert_for(session, OutboxMessage)
        .from_select([*cols, "attempts", "created_at"], people_due)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "local_day"])
    )
    await session.execute(
        update(Nudge)
        .where(
            OutboxMessage.claim_token == token,
            OutboxMessage.team_id == Nudge.team_id,
            OutboxMessage.user_id == Nudge.user_id,
            Nudge.message_id.is_(None),
            _due_for(OutboxMessage.local_day),
        )
        .values(message_id=OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    token: str,
    limit: int,
    team_id: str | None = None,
    kinds: Sequence[str] | None = None,
) -> int:
    """Take pending rows nobody holds now (planned ones that are due, claims whose lease ran
    out); returns how many of them died while their post was in flight (sending, no error
    recorded): each a possible duplicate."""
    free = and_(OutboxMessage.status == "pending", OutboxMessage.lease_until <= now)
    stale = select(OutboxMessage.id).where(free).order_by(OutboxMessage.id).limit(limit)
    if team_id:
        stale = stale.where(OutboxMessage.team_id == team_id)
    if kinds is not None:
        stale = stale.where(OutboxMessage.kind.in_(list(kinds)))
    if dialect_of(session) == "postgresql":
        stale = stale.with_for_update(skip_locked=True)
    ids = list((await session.execute(stale)).scalars())
    if not ids:
        return 0
    died = await session.execute(
        select(OutboxMessage.id).where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.sending_at.is_not(None),
            OutboxMessage.error.is_(None),
        )
    )
    crashed = len(list(died.scalars()))
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), free)
        .values(
            claim_token=token,
            lease_until=now + LEASE,
            attempts=OutboxMessage.attempts + 1,
            sending_at=None,
        )
    )
    return crashed


async def release(session: AsyncSession, *, message_ids: list[int], now: datetime) -> None:
    """Hand claims back unsent (a process shutting down): their lease ends now, so the next
    pass on any replica takes them over at once."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.status == "pending",
            OutboxMessage.sending_at.is_(None),
        )
        .values(lease_until=now - timedelta(seconds=1))
    )


async def claimed(session: AsyncSession, *, token: str) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(
        OutboxMessage.claim_token == token, OutboxMessage.status == "pending"
    )
    return list((await session.execute(stmt.order_by(OutboxMessage.id))).scalars())


async def items_of(session: AsyncSession, *, message_ids: Sequence[int]) -> dict[int, list[Nudge]]:
    """The planned items of each message, in one read."""
    stmt = select(Nudge).where(Nudge.message_id.in_(list(message_ids)), Nudge.status == "planned")
    found: dict[int, list[Nudge]] = {}
    for nudge in (await session.execute(stmt.order_by(Nudge.id))).scalars():
        found.setdefault(int(nudge.message_id or 0), []).append(nudge)
    return found


async def mark_sending(
    session: AsyncSession, *, message_ids: Sequence[int], token: str, now: datetime
) -> set[int]:
    """Note that these posts are about to leave, so a crash from here on counts each as a
    possible duplicate when it is sent again; returns the ids still held (a claim lost
    meanwhile is its new holder's to send)."""
    if not message_ids:
        return set()
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(message_ids)),
            OutboxMessage.claim_token == token,
            OutboxMessage.status == "pending",
        )
        .values(sending_at=now, error=None)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


_SENT = (
    update(OutboxMessage.__table__)  # type: ignore[arg-type]
    .where(OutboxMessage.__table__.c.id == bindparam("message_id"))
    .values(
        status="sent",
        channel_id=bindparam("posted_in"),
        ts=bindparam("posted_ts"),
        sent_at=bindparam("posted_at", type_=UTCDateTime()),
        error=None,
    )
)


async def mark_sent(
    session: AsyncSession, *, posted: Sequence[tuple[int, str, str]], now: datetime
) -> None:
    """Messages Slack accepted, as (id, channel, ts), and their items, in two statements."""
    if not posted:
        return
    await session.execute(
        _SENT,
        [
            {"message_id": mid, "posted_in": channel, "posted_ts": ts, "posted_at": now}
            for mid, channel, ts in posted
        ],
    )
    await session.execute(
        update(Nudge)
        .where(Nudge.message_id.in_([mid for mid, _, _ in posted]), Nudge.status == "planned")
        .values(status="sent")
        .execution_options(synchronize_session=False)
    )


async def mark_attempt_failed(
    session: AsyncSession, *, message_id: int, now: datetime, error: str, permanent: bool
) -> str:
    """A failed send: retried after a backoff, or failed for good with its reason."""
    dm = await session.get(OutboxMessage, message_id)
    if dm is None:
        return "gone"
    dm.error = error[:2000]
    dm.sending_at = None
    if permanent or dm.attempts >= MAX_ATTEMPTS:
        dm.status = "failed"
        await session.execute(
            update(Nudge)
            .where(Nudge.message_id == message_id, Nudge.status == "planned")
            .values(status="failed")
        )
    else:
        dm.lease_until = now + timedelta(seconds=30 * 2**dm.attempts)
    await session.flush()
    return dm.status


async def cancel(session: AsyncSession, *, message: OutboxMessage, why: str) -> None:
    """Nothing to send after all. A daily message frees the person's day (its nudges are
    cancelled); any other row stays, cancelled with the reason, so it is not planned again."""
    await session.execute(
        update(Nudge)
        .where(Nudge.message_id == message.id)
        .values(status="cancelled", message_id=None)
    )
    if message.kind == DAILY:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id == message.id))
        return
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status="cancelled", error=why[:2000], lease_until=message.lease_until)
    )


async def expire_old(session: AsyncSession, *, today_utc: date) -> int:
    """Planned nudges whose last day has passed everywhere on Earth are not sent late."""
    result = await session.execute(
        update(Nudge)
        .where(
            Nudge.status == "planned",
            Nudge.message_id.is_(None),
            Nudge.expires_day < today_utc - timedelta(days=1),
        )
        .values(status="expired")
    )
    return int(getattr(result, "rowcount", 0) or 0)
