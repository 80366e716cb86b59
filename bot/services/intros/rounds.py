"""Intros rounds: planned when due, claimed by one process, matched once.

Slack kept out: the scheduler fetches the channel's members and profiles, then hands them to
`build_pool` and `match_round`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import dialect_of, insert_for
from bot.models import (
    CheckIn,
    Commitment,
    IntroAnswer,
    IntroMatch,
    IntroMatchMember,
    IntroMember,
    IntroRound,
    Kudos,
    Nudge,
    Person,
    Workspace,
)
from bot.pairing import Pair, pair_people
from bot.services import newcomers
from bot.services.intros import skips
from bot.services.intros.fit import round_fit
from bot.services.intros.history import contact_counts, count_pairs, never_pairs, pair_history
from bot.services.intros.posts import plan_posts
from bot.services.intros.rules import (
    CONTACT_WINDOW,
    INACTIVE,
    INACTIVE_AFTER,
    JOINED,
    KIND,
    LEASE,
    NOT_IN_CHANNEL,
    ROUND_ATTEMPTS,
    in_pool,
    paused,
    round_period,
    round_seed,
    zone,
)
from bot.services.intros.starters import starters

BREADTH_WINDOW = timedelta(days=90)  # a newcomer's partners: whose recognition reaches furthest


async def plan_rounds(session: AsyncSession, *, now: datetime, team_id: str | None = None) -> int:
    """A round row for each workspace whose round is due; one per (workspace, period)."""
    stmt = select(Workspace).where(
        Workspace.intros_channel_id.is_not(None), Workspace.uninstalled_at.is_(None)
    )
    if team_id:
        stmt = stmt.where(Workspace.team_id == team_id)
    planned = 0
    for workspace in (await session.execute(stmt)).scalars():
        period = round_period(workspace, now)
        if period is None or workspace.intros_channel_id is None:
            continue
        result = await session.execute(
            insert_for(session, IntroRound)
            .values(
                team_id=workspace.team_id,
                period=period,
                channel_id=workspace.intros_channel_id,
                group_size=workspace.intros_group_size,
                seed=round_seed(workspace.team_id, period),
                status="pending",
                attempts=0,
                planned_at=now,
                pool_size=0,
                matched=0,
                left_out=0,
            )
            .on_conflict_do_nothing(index_elements=["team_id", "period"])
            .returning(IntroRound.id)
        )
        planned += len(result.all())
    return planned


async def claim_round(
    session: AsyncSession, *, now: datetime, token: str, team_id: str | None = None
) -> IntroRound | None:
    """One pending round nobody holds (or whose holder's lease ran out), now ours."""
    stmt = (
        select(IntroRound.id)
        .where(
            IntroRound.status == "pending",
            or_(IntroRound.lease_until.is_(None), IntroRound.lease_until < now),
        )
        .order_by(IntroRound.id)
        .limit(1)
    )
    if team_id:
        stmt = stmt.where(IntroRound.team_id == team_id)
    if dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    round_id = (await session.execute(stmt)).scalar_one_or_none()
    if round_id is None:
        return None
    result = await session.execute(
        update(IntroRound)
        .where(
            IntroRound.id == round_id,
            IntroRound.status == "pending",
            or_(IntroRound.lease_until.is_(None), IntroRound.lease_until < now),
        )
        .values(claim_token=token, lease_until=now + LEASE, attempts=IntroRound.attempts + 1)
    )
    if not getattr(result, "rowcount", 0):
        return None
    return await session.get(IntroRound, round_id)


async def release_round(
    session: AsyncSession, *, round_id: int, token: str, error: str, now: datetime
) -> None:
    """Matching failed (Slack unreachable, allybot not in the channel): a later pass tries
    again after a backoff, up to `ROUND_ATTEMPTS` times (about a day)."""
    row = await session.get(IntroRound, round_id)
    if row is None or row.claim_token != token:
        return
    row.error = error[:2000]
    row.lease_until = now + timedelta(seconds=30 * 2**row.attempts)
    if row.attempts >= ROUND_ATTEMPTS:
        row.status = "failed"
    await session.flush()


@dataclass
class Pool:
    """Who a round pairs, and who was in it but sits out, with why (to be told)."""

    people: list[str]
    told: dict[str, str] = field(default_factory=dict)


async def joined_ids(session: AsyncSession, *, team_id: str) -> list[str]:
    """People who ran `/ally intros join` (to tell them when they left the channel)."""
    stmt = select(IntroMember.user_id).where(
        IntroMember.team_id == team_id, IntroMember.status == JOINED
    )
    return list((await session.execute(stmt)).scalars())


async def build_pool(
    session: AsyncSession,
    *,
    workspace: Workspace,
    channel_members: Sequence[str],
    bot_user_id: str | None,
    now: datetime,
) -> Pool:
    """Channel members in the pool (joined, or not left in opt-out mode), minus people
    paused, deleted, bots, people who skip this round (its heads-up), and people allybot
    knows to have been inactive for 30 days.

    Profiles must be fresh (the caller looks them up in Slack first).
    """
    team_id = workspace.team_id
    in_channel = set(channel_members) - {bot_user_id}
    rows = {
        r.user_id: r
        for r in await session.execute(
            select(
                IntroMember.user_id,
                IntroMember.status,
                IntroMember.paused_until,
                IntroMember.last_active_at,
            ).where(IntroMember.team_id == team_id)
        )
    }
    profiles = {
        p.user_id: p
        for p in await session.execute(
            select(
                Person.user_id,
                Person.deleted,
                Person.is_bot,
                Person.paused_until,
                Person.engaged_at,
            ).where(Person.team_id == team_id)
        )
    }
    pool = Pool(people=[])
    recent = await _recently_active(session, team_id=team_id, since=now - INACTIVE_AFTER)
    skipped = await skips.skipping(
        session, team_id=team_id, round_day=skips.current_round_day(workspace, now)
    )
    for user_id in sorted(in_channel):
        row = rows.get(user_id)
        person = profiles.get(user_id)
        if (
            user_id in skipped
            or not in_pool(workspace, row.status if row else None)
            or person is None
            or person.deleted
            or person.is_bot
        ):
            continue
        if (row is not None and paused(row.paused_until, now)) or paused(person.paused_until, now):
            continue
        known = person.engaged_at is not None or (row is not None and row.last_active_at)
        if known and user_id not in recent:
            pool.told[user_id] = INACTIVE
            continue
        pool.people.append(user_id)
    for user_id, row in rows.items():
        person = profiles.get(user_id)
        gone = person is None or person.deleted
        moved_out = row.status == JOINED and user_id not in in_channel
        if moved_out and not gone and not paused(row.paused_until, now) and user_id not in skipped:
            pool.told[user_id] = NOT_IN_CHANNEL
    return pool


async def _recently_active(session: AsyncSession, *, team_id: str, since: datetime) -> set[str]:
    """Who allybot saw act since `since`: intros, Home, kudos given, promises, check-ins."""
    queries = [
        select(IntroMember.user_id).where(
            IntroMember.team_id == team_id, IntroMember.last_active_at >= since
        ),
        select(Person.user_id).where(Person.team_id == team_id, Person.home_seen_at >= since),
        select(Kudos.giver_id).where(Kudos.team_id == team_id, Kudos.created_at >= since),
        select(Commitment.owner_id).where(
            Commitment.team_id == team_id, Commitment.created_at >= since
        ),
        select(CheckIn.user_id).where(CheckIn.team_id == team_id, CheckIn.at >= since),
        select(IntroAnswer.user_id).where(
            IntroAnswer.team_id == team_id, IntroAnswer.answered_at >= since
        ),
    ]
    active: set[str] = set()
    for query in queries:
        active.update((await session.execute(query.distinct())).scalars())
    return active


@dataclass(frozen=True)
class RoundResult:
    round_id: int
    groups: list[tuple[str, ...]]
    left_out: dict[str, str]


async def match_round(
    session: AsyncSession,
    *,
    round_id: int,
    token: str,
    pool: Pool,
    now: datetime,
    close: frozenset[Pair] = frozenset(),
) -> RoundResult | None:
    """Pair the pool and store the round's matches, posts and notices in one transaction,
    only while this caller still holds the round (None otherwise: someone else matched it).
    `close` are the pairs who share many channels (read from Slack by the caller).
    """
    row = await session.get(IntroRound, round_id, with_for_update=True)
    if row is None or row.status != "pending" or row.claim_token != token:
        return None
    history = await pair_history(session, team_id=row.team_id, people=pool.people)
    contact = await contact_counts(
        session, team_id=row.team_id, people=pool.people, since=now - CONTACT_WINDOW
    )
    nevers = await never_pairs(session, team_id=row.team_id, people=pool.people)
    fresh = await newcomers.in_first_rounds(session, team_id=row.team_id, people=pool.people)
    reach = (
        await newcomers.breadth(session, team_id=row.team_id, since=now - BREADTH_WINDOW)
        if fresh
        else {}
    )
    workspace = await session.get(Workspace, row.team_id)
    fit = (
        await round_fit(session, workspace=workspace, people=pool.people, now=now, close=close)
        if workspace is not None
        else None
    )
    pairing = pair_people(
        pool.people,
        group_size=row.group_size,
        never=nevers,
        history=history,
        contact=contact,
        seed=row.seed,
        newcomers=fresh,
        breadth=reach,
        fit=fit,
    )
    placed = {p for g in pairing.groups for p in g}
    await newcomers.count_round(session, team_id=row.team_id, people=sorted(fresh & placed))
    before = await session.scalar(
        select(func.count()).select_from(IntroMatch).where(IntroMatch.team_id == row.team_id)
    )
    library = starters()
    match_rows = [
        {
            "round_id": row.id,
            "team_id": row.team_id,
            "size": len(group),
            "starter_id": library[(int(before or 0) + i) % len(library)].id,
            "created_at": now,
        }
        for i, group in enumerate(pairing.groups)
    ]
    ids: list[int] = []
    if match_rows:
        ids = list(
            await session.scalars(
                insert(IntroMatch).returning(IntroMatch.id, sort_by_parameter_order=True),
                match_rows,
            )
        )
        await session.execute(
            insert(IntroMatchMember),
            [
                {"match_id": mid, "round_id": row.id, "team_id": row.team_id, "user_id": uid}
                for mid, group in zip(ids, pairing.groups, strict=True)
                for uid in group
            ],
        )
        await plan_posts(session, team_id=row.team_id, match_ids=ids, now=now)
    await count_pairs(session, team_id=row.team_id, round_id=row.id, groups=pairing.groups)
    told = {**pool.told, **pairing.left_out}
    await _plan_notices(session, row=row, told=told, now=now)
    row.status = "matched"
    row.matched_at = now
    row.pool_size = len(pool.people)
    row.matched = sum(len(g) for g in pairing.groups)
    row.left_out = len(pairing.left_out)
    row.lease_until = None
    row.error = None
    await session.flush()
    return RoundResult(round_id=row.id, groups=pairing.groups, left_out=told)


async def _plan_notices(
    session: AsyncSession, *, row: IntroRound, told: dict[str, str], now: datetime
) -> None:
    """A nudge to each person left out, in their own daily message, saying why."""
    if not told:
        return
    tzs = dict(
        (
            await session.execute(
                select(Person.user_id, Person.tz).where(
                    Person.team_id == row.team_id, Person.user_id.in_(list(told))
                )
            )
        ).all()
    )
    values = []
    for user_id, reason in told.items():
        day = now.astimezone(zone(tzs.get(user_id, "UTC"))).date()
        values.append(
            {
                "team_id": row.team_id,
                "user_id": user_id,
                "kind": KIND,
                "subject": str(row.id),
                "period": row.period,
                "local_day": day,
                "expires_day": day + timedelta(days=6),
                "payload": {"reason": reason, "channel_id": row.channel_id},
                "status": "planned",
                "planned_at": now,
            }
        )
    stmt = insert_for(session, Nudge).values(values)
    await session.execute(
        stmt.on_conflict_do_nothing(
            index_elements=["team_id", "user_id", "kind", "subject", "period"]
        )
    )
