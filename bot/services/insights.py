"""A person's own alliance figures: breadth, reciprocity, follow-through (private to them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.models import Kudos
from bot.services.commitments import FollowThrough, follow_through

WINDOW = timedelta(days=90)
RECENT = timedelta(days=30)


@dataclass(frozen=True)
class Figures:
    given_30d: int
    received_30d: int
    breadth: int
    recognised_by: int
    recognised_back: int
    follow_through: FollowThrough

    @property
    def reciprocity(self) -> float | None:
        return self.recognised_back / self.recognised_by if self.recognised_by else None


async def figures(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> Figures:
    """Counts derived in SQL over bounded windows, each query on an index."""
    since, recent = now - WINDOW, now - RECENT
    given_30d, breadth = (
        await session.execute(
            select(
                func.count(Kudos.id).filter(Kudos.created_at >= recent),
                func.count(Kudos.receiver_id.distinct()),
            ).where(Kudos.team_id == team_id, Kudos.giver_id == user_id, Kudos.created_at >= since)
        )
    ).one()
    received_30d = (
        await session.execute(
            select(func.count(Kudos.id)).where(
                Kudos.team_id == team_id, Kudos.receiver_id == user_id, Kudos.created_at >= recent
            )
        )
    ).scalar_one()
    back = aliased(Kudos)
    givers = (
        select(Kudos.giver_id.label("giver_id"))
        .where(Kudos.team_id == team_id, Kudos.receiver_id == user_id, Kudos.created_at >= since)
        .distinct()
        .subquery()
    )
    recognised_by, recognised_back = (
        await session.execute(
            select(
                func.count(givers.c.giver_id),
                func.count(givers.c.giver_id).filter(
                    select(back.id)
                    .where(
                        back.team_id == team_id,
                        back.giver_id == user_id,
                        back.receiver_id == givers.c.giver_id,
                        back.created_at >= since,
                    )
                    .exists()
                ),
            )
        )
    ).one()
    return Figures(
        given_30d=int(given_30d),
        received_30d=int(received_30d),
        breadth=int(breadth),
        recognised_by=int(recognised_by),
        recognised_back=int(recognised_back),
        follow_through=await follow_through(session, team_id=team_id, user_id=user_id, now=now),
    )
