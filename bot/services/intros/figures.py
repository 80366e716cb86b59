"""Intros figures for the admins' report: counts per round, never names."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    IntroMatch,
    IntroMatchMember,
    IntroRound,
)
from bot.pairing import pair_of
from bot.services.intros.history import contact_counts, earlier_matches


@dataclass(frozen=True)
class RoundFigures:
    """One round, counts only: no names."""

    period: str
    people_matched: int
    groups: int
    groups_met: int
    pairs: int
    new_pairs: int  # no earlier match and no contact in allybot's records before the round


@dataclass(frozen=True)
class IntrosFigures:
    """Intros rounds since a date, for the admins' report."""

    rounds: list[RoundFigures]

    @property
    def groups(self) -> int:
        return sum(r.groups for r in self.rounds)

    @property
    def groups_met(self) -> int:
        return sum(r.groups_met for r in self.rounds)

    @property
    def pairs(self) -> int:
        return sum(r.pairs for r in self.rounds)

    @property
    def new_pairs(self) -> int:
        return sum(r.new_pairs for r in self.rounds)

    @property
    def people_matched(self) -> int:
        return sum(r.people_matched for r in self.rounds)


async def round_figures(session: AsyncSession, *, team_id: str, since: datetime) -> IntrosFigures:
    """Per round matched since `since`: people matched, groups, groups that met (a Yes),
    pairs, and pairs that were new connections."""
    stmt = (
        select(IntroRound)
        .where(
            IntroRound.team_id == team_id,
            IntroRound.status == "matched",
            IntroRound.matched_at >= since,
        )
        .order_by(IntroRound.id)
    )
    out: list[RoundFigures] = []
    for row in (await session.execute(stmt)).scalars():
        assert row.matched_at is not None
        matches = list(
            (
                await session.execute(select(IntroMatch).where(IntroMatch.round_id == row.id))
            ).scalars()
        )
        groups: dict[int, list[str]] = defaultdict(list)
        member_rows = await session.execute(
            select(IntroMatchMember.match_id, IntroMatchMember.user_id).where(
                IntroMatchMember.round_id == row.id
            )
        )
        for match_id, user_id in member_rows:
            groups[match_id].append(user_id)
        pairs = {pair_of(a, b) for g in groups.values() for a, b in itertools.combinations(g, 2)}
        people = {p for g in groups.values() for p in g}
        earlier = await earlier_matches(
            session, team_id=team_id, people=sorted(people), before_round=row.id
        )
        contact = await contact_counts(
            session,
            team_id=team_id,
            people=people,
            since=row.matched_at - timedelta(days=3650),
            until=row.matched_at,
        )
        out.append(
            RoundFigures(
                period=row.period,
                people_matched=len(people),
                groups=len(matches),
                groups_met=sum(1 for m in matches if m.met_at is not None),
                pairs=len(pairs),
                new_pairs=sum(1 for p in pairs if p not in earlier and not contact.get(p)),
            )
        )
    return IntrosFigures(rounds=out)
