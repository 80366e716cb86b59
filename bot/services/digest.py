"""The weekly kudos digest: totals, first-time receivers and tags, never a leaderboard.

Private kudos count in the totals only, never naming a receiver or showing their tags.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db import insert_for
from bot.models import Kudos, OutboxMessage

KIND = "digest"  # its outbox rows
EMPTY = "no kudos this week"
WEEK = timedelta(days=7)
MAX_TAG_ROWS = 5000


@dataclass(frozen=True)
class WeekInKudos:
    kudos: int
    givers: int
    receivers: int
    first_timers: list[str]
    tags: list[tuple[str, int]]


async def week_in_kudos(session: AsyncSession, *, team_id: str, now: datetime) -> WeekInKudos:
    """The last seven days of recognition in a workspace, derived in SQL."""
    since = now - WEEK
    week = (Kudos.team_id == team_id, Kudos.created_at >= since, Kudos.created_at < now)
    total, givers, receivers = (
        await session.execute(
            select(
                func.count(Kudos.id),
                func.count(Kudos.giver_id.distinct()),
                func.count(Kudos.receiver_id.distinct()),
            ).where(*week)
        )
    ).one()
    earlier = aliased(Kudos)
    # Private kudos count in the totals only: nobody is named or tagged for one.
    first = (
        select(Kudos.receiver_id)
        .where(
            *week,
            Kudos.private_by.is_(None),
            ~select(earlier.id)
            .where(
                earlier.team_id == team_id,
                earlier.receiver_id == Kudos.receiver_id,
                earlier.created_at < since,
            )
            .exists(),
        )
        .distinct()
        .order_by(Kudos.receiver_id)
        .limit(20)
    )
    first_timers = [
        r for r in (await session.execute(first)).scalars() if not r.startswith("anon-")
    ]
    tag_lists = (
        await session.execute(
            select(Kudos.tags).where(*week, Kudos.private_by.is_(None)).limit(MAX_TAG_ROWS)
        )
    ).scalars()
    tags = Counter(t for tag_list in tag_lists for t in (tag_list or []))
    return WeekInKudos(
        kudos=int(total),
        givers=int(givers),
        receivers=int(receivers),
        first_timers=first_timers,
        tags=tags.most_common(5),
    )


async def plan_week(session: AsyncSession, *, team_id: str, week: str, now: datetime) -> int:
    """This week's digest as an outbox row, once per (workspace, ISO week); 0 if planned."""
    stmt = (
        insert_for(session, OutboxMessage)
        .values(
            team_id=team_id,
            kind=KIND,
            subject=week,
            status="pending",
            lease_until=now,
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "kind", "subject"])
        .returning(OutboxMessage.id)
    )
    return len((await session.execute(stmt)).all())
