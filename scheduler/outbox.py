"""The outbox in SQL: which planned nudges are due, and claiming a person's daily message.

A person's daily message is a `daily_messages` row, unique per (person, local day). Whoever
inserts it owns it, so two replicas never send the same day twice; a claim whose sender
died is taken over after its lease (FOR UPDATE SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, exists, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from bot.db import UTCDateTime, dialect_of, insert_for
from bot.models import DailyMessage, Nudge, Person, Workspace
from scheduler.zones import deliverable

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
        DailyMessage.team_id == Nudge.team_id,
        DailyMessage.user_id == Nudge.user_id,
        DailyMessage.local_day == clocks.c.local_day,
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
    people_due = (
        due_nudges(clocks, now, team_id=team_id)
        .with_only_columns(
            Nudge.team_id,
            Nudge.user_id,
            clocks.c.local_day,
            literal("claimed"),
            literal(token),
            literal(now + LEASE, UTCDateTime()),
            literal(1),
            literal(now, UTCDateTime()),
        )
        .distinct()
        .limit(limit)
    )
    cols = ["team_id", "user_id", "local_day", "status", "claim_token", "lease_until"]
    await session.execute(
        insert_for(session, DailyMessage)
        .from_select([*cols, "attempts", "created_at"], people_due)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "local_day"])
    )
    await session.execute(
        update(Nudge)
        .where(
            DailyMessage.claim_token == token,
            DailyMessage.team_id == Nudge.team_id,
            DailyMessage.user_id == Nudge.user_id,
            Nudge.message_id.is_(None),
            _due_for(DailyMessage.local_day),
        )
        .values(message_id=DailyMessage.id)
        .execution_options(synchronize_session=False)
    )


async def reclaim_expired(session: AsyncSession, *, now: datetime, token: str, limit: int) -> int:
    """Take over claims whose lease ran out; returns how many died while their post was in
    flight (sending, no error recorded): each a possible duplicate."""
    stale = (
        select(DailyMessage.id)
        .where(DailyMessage.status == "claimed", DailyMessage.lease_until < now)
        .order_by(DailyMessage.id)
        .limit(limit)
    )
    if dialect_of(session) == "postgresql":
        stale = stale.with_for_update(skip_locked=True)
    ids = list((await session.execute(stale)).scalars())
    if not ids:
        return 0
    died = await session.execute(
        select(DailyMessage.id).where(
            DailyMessage.id.in_(ids),
            DailyMessage.sending_at.is_not(None),
            DailyMessage.error.is_(None),
        )
    )
    crashed = len(list(died.scalars()))
    await session.execute(
        update(DailyMessage)
        .where(DailyMessage.id.in_(ids), DailyMessage.lease_until < now)
        .values(
            claim_token=token,
            lease_until=now + LEASE,
            attempts=DailyMessage.attempts + 1,
            sending_at=None,
        )
    )
    return crashed


async def release(session: AsyncSession, *, message_ids: list[int], now: datetime) -> None:
    """Hand claims back unsent (a process shutting down): their lease ends now, so the next
    pass on any replica takes them over at once."""
    await session.execute(
        update(DailyMessage)
        .where(
            DailyMessage.id.in_(message_ids),
            DailyMessage.status == "claimed",
            DailyMessage.sending_at.is_(None),
        )
        .values(lease_until=now - timedelta(seconds=1))
    )


async def claimed(session: AsyncSession, *, token: str) -> list[DailyMessage]:
    stmt = select(DailyMessage).where(
        DailyMessage.claim_token == token, DailyMessage.status == "claimed"
    )
    return list((await session.execute(stmt.order_by(DailyMessage.id))).scalars())


async def items_of(session: AsyncSession, *, message_id: int) -> list[Nudge]:
    stmt = select(Nudge).where(Nudge.message_id == message_id, Nudge.status == "planned")
    return list((await session.execute(stmt.order_by(Nudge.id))).scalars())


async def mark_sending(session: AsyncSession, *, message_id: int, now: datetime) -> None:
    """Note that the post is about to leave, so a crash from here on counts as a possible
    duplicate when the message is sent again."""
    await session.execute(
        update(DailyMessage).where(DailyMessage.id == message_id).values(sending_at=now)
    )


async def mark_sent(
    session: AsyncSession, *, message_id: int, channel_id: str, ts: str, now: datetime
) -> None:
    await session.execute(
        update(DailyMessage)
        .where(DailyMessage.id == message_id)
        .values(status="sent", channel_id=channel_id, ts=ts, sent_at=now, error=None)
    )
    await session.execute(
        update(Nudge)
        .where(Nudge.message_id == message_id, Nudge.status == "planned")
        .values(status="sent")
    )


async def mark_attempt_failed(
    session: AsyncSession, *, message_id: int, now: datetime, error: str, permanent: bool
) -> str:
    """A failed send: retried after a backoff, or failed for good with its reason."""
    dm = await session.get(DailyMessage, message_id)
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


async def cancel(session: AsyncSession, *, message_id: int, status: str = "cancelled") -> None:
    """Nothing to send after all (no items left, or the person left): free the day."""
    await session.execute(
        update(Nudge).where(Nudge.message_id == message_id).values(status=status, message_id=None)
    )
    await session.execute(delete(DailyMessage).where(DailyMessage.id == message_id))


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
