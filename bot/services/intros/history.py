"""Who has met whom: earlier matches, contact in allybot's records, never lists. Rounds
use it to prefer new connections; the report uses it to count them."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db import insert_for
from bot.models import (
    CheckIn,
    Commitment,
    CommitmentParty,
    IntroMatchMember,
    IntroNever,
    IntroPair,
    Kudos,
)
from bot.pairing import Pair, pair_of


async def members_of(session: AsyncSession, *, match_id: int) -> list[str]:
    stmt = (
        select(IntroMatchMember.user_id)
        .where(IntroMatchMember.match_id == match_id)
        .order_by(IntroMatchMember.id)
    )
    return list((await session.execute(stmt)).scalars())


async def pair_history(
    session: AsyncSession, *, team_id: str, people: Iterable[str]
) -> Counter[Pair]:
    """How many times each pair among `people` was matched in all earlier rounds."""
    wanted = set(people)
    stmt = select(IntroPair.user_a, IntroPair.user_b, IntroPair.times).where(
        IntroPair.team_id == team_id
    )
    return Counter(
        {pair_of(a, b): n for a, b, n in await session.execute(stmt) if a in wanted and b in wanted}
    )


async def earlier_matches(
    session: AsyncSession, *, team_id: str, people: Sequence[str], before_round: int
) -> set[Pair]:
    """Pairs among `people` matched in a round before `before_round` (for the figures)."""
    a, b = aliased(IntroMatchMember), aliased(IntroMatchMember)
    stmt = (
        select(a.user_id, b.user_id)
        .join(b, and_(b.match_id == a.match_id, b.user_id != a.user_id))
        .where(a.team_id == team_id, a.round_id < before_round, a.user_id.in_(people))
        .distinct()
    )
    wanted = set(people)
    return {pair_of(x, y) for x, y in await session.execute(stmt) if y in wanted}


async def count_pairs(
    session: AsyncSession, *, team_id: str, round_id: int, groups: Sequence[tuple[str, ...]]
) -> None:
    """Add the round's pairs to the pair history (one executemany upsert)."""
    rows = [
        {"team_id": team_id, "user_a": x, "user_b": y, "times": 1, "last_round_id": round_id}
        for g in groups
        for x, y in (sorted(p) for p in itertools.combinations(g, 2))
    ]
    if not rows:
        return
    stmt = insert_for(session, IntroPair)
    stmt = stmt.on_conflict_do_update(
        index_elements=["team_id", "user_a", "user_b"],
        set_={"times": IntroPair.times + 1, "last_round_id": stmt.excluded.last_round_id},
    )
    await session.execute(stmt, rows)


async def contact_counts(
    session: AsyncSession,
    *,
    team_id: str,
    people: Iterable[str],
    since: datetime,
    until: datetime | None = None,
) -> Counter[Pair]:
    """Contact between people in allybot's records: kudos either way, promises between
    them, logged check-ins."""
    wanted = set(people)

    def window(column):  # type: ignore[no-untyped-def]
        return and_(column >= since, column < until) if until else column >= since

    queries = [
        select(Kudos.giver_id, Kudos.receiver_id, func.count())
        .where(Kudos.team_id == team_id, window(Kudos.created_at))
        .group_by(Kudos.giver_id, Kudos.receiver_id),
        select(Commitment.owner_id, CommitmentParty.user_id, func.count())
        .join(CommitmentParty, CommitmentParty.commitment_id == Commitment.id)
        .where(Commitment.team_id == team_id, window(Commitment.created_at))
        .group_by(Commitment.owner_id, CommitmentParty.user_id),
        select(CheckIn.user_id, CheckIn.ally_id, func.count())
        .where(CheckIn.team_id == team_id, window(CheckIn.at))
        .group_by(CheckIn.user_id, CheckIn.ally_id),
    ]
    counts: Counter[Pair] = Counter()
    for query in queries:
        for a, b, n in await session.execute(query):
            if a != b and a in wanted and b in wanted:
                counts[pair_of(a, b)] += int(n)
    return counts


async def never_pairs(session: AsyncSession, *, team_id: str, people: Iterable[str]) -> set[Pair]:
    wanted = set(people)
    stmt = select(IntroNever.user_id, IntroNever.other_id).where(IntroNever.team_id == team_id)
    return {pair_of(a, b) for a, b in await session.execute(stmt) if a in wanted and b in wanted}
