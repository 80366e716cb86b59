"""Intros: who is in the pool, when a round is due, matching a round once, the group posts
that introduce each match and follow up, and the answers to "Did you meet?".

Rules kept here, Slack kept out: the scheduler fetches the channel's members and profiles,
then hands them to `build_pool` and `match_round`.
"""

from __future__ import annotations

import itertools
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db import dialect_of, insert_for
from bot.models import (
    CheckIn,
    Commitment,
    CommitmentParty,
    IntroAnswer,
    IntroMatch,
    IntroMatchMember,
    IntroMember,
    IntroNever,
    IntroPair,
    IntroPost,
    IntroRound,
    Kudos,
    Nudge,
    Person,
    Workspace,
)
from bot.pairing import Pair, pair_of, pair_people
from bot.services import allies

KIND = "intro"  # the nudge kind of the notice to people left out of a round
ROUND_HOUR = 9  # rounds start from 09:00 on the pairing day, in the workspace's zone
FOLLOW_UP_AFTER = timedelta(days=7)
INACTIVE_AFTER = timedelta(days=30)
CONTACT_WINDOW = timedelta(days=180)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5  # a group post
ROUND_ATTEMPTS = 12  # a round, when Slack keeps refusing the channel's members
MAX_NEVER = 50
CADENCES = (1, 2, 4)
MODES = ("opt_in", "opt_out")
EPOCH_MONDAY = date(2024, 1, 1)  # rounds fall in weeks counted from here, every `cadence`

JOINED, LEFT, NONE = "joined", "left", "none"
YES, NOT_YET, SKIP = "yes", "not_yet", "skip"
INTRO, FOLLOW_UP = "intro", "followup"

# Why someone in the pool was not paired, as told to them.
NOT_IN_CHANNEL = "not_in_channel"
INACTIVE = "inactive"


class IntrosError(Exception):
    """Input about intros allybot cannot use; the message says why, privately."""


# -- conversation starters ----------------------------------------------------------------


class Starter(BaseModel):
    id: str
    text: str


class StarterLibrary(BaseModel):
    starters: list[Starter]


@cache
def starters() -> list[Starter]:
    """The conversation starters, in file order (the rotation order)."""
    text = resources.files("bot").joinpath("starters.yaml").read_text(encoding="utf-8")
    return StarterLibrary.model_validate(yaml.safe_load(text)).starters


def starter_text(starter_id: str) -> str:
    return next((s.text for s in starters() if s.id == starter_id), starters()[0].text)


# -- workspace settings -------------------------------------------------------------------


def round_period(workspace: Workspace, now: datetime) -> str | None:
    """The round due at `now` (its ISO week), or None: a round week, on or after the pairing
    day from 09:00 in the workspace's zone (a pass that was late that week still runs it)."""
    local = now.astimezone(_zone(workspace.timezone))
    monday = local.date() - timedelta(days=local.weekday())
    if ((monday - EPOCH_MONDAY).days // 7) % workspace.intros_cadence_weeks:
        return None
    if local.weekday() < workspace.intros_day:
        return None
    if local.weekday() == workspace.intros_day and local.hour < ROUND_HOUR:
        return None
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def next_round_day(workspace: Workspace, now: datetime) -> date:
    """The next pairing day (today when today's round is still to come)."""
    local = now.astimezone(_zone(workspace.timezone))
    day = local.date()
    for _ in range(7 * max(CADENCES) + 7):
        monday = day - timedelta(days=day.weekday())
        in_cadence = not ((monday - EPOCH_MONDAY).days // 7) % workspace.intros_cadence_weeks
        later = day > local.date() or local.hour < ROUND_HOUR
        if in_cadence and day.weekday() == workspace.intros_day and later:
            return day
        day += timedelta(days=1)
    return day


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


# -- membership ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IntroStatus:
    """What a person sees about their part in intros (command and Home)."""

    channel_id: str | None
    mode: str
    in_pool: bool
    paused_until: datetime | None
    never_count: int
    next_round: date | None


async def _member(session: AsyncSession, team_id: str, user_id: str) -> IntroMember | None:
    return await session.get(IntroMember, (team_id, user_id))


async def _upsert(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime, **values: object
) -> IntroMember:
    row = await _member(session, team_id, user_id)
    if row is None:
        row = IntroMember(team_id=team_id, user_id=user_id, status=NONE, updated_at=now)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.last_active_at = now
    row.updated_at = now
    await session.flush()
    return row


async def _configured(session: AsyncSession, team_id: str) -> Workspace:
    workspace = await session.get(Workspace, team_id)
    if workspace is None or not workspace.intros_channel_id:
        raise IntrosError(
            "Intros aren't set up in this workspace yet: an admin chooses the intros channel "
            "in `/ally admin`."
        )
    return workspace


async def join(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> Workspace:
    """Into the pool from the next round (and out of any intros pause)."""
    workspace = await _configured(session, team_id)
    row = await _member(session, team_id, user_id)
    joined_at = row.joined_at if row and row.status == JOINED and row.joined_at else now
    await _upsert(
        session,
        team_id=team_id,
        user_id=user_id,
        now=now,
        status=JOINED,
        paused_until=None,
        joined_at=joined_at,
    )
    return workspace


async def leave(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> Workspace:
    workspace = await _configured(session, team_id)
    await _upsert(session, team_id=team_id, user_id=user_id, now=now, status=LEFT)
    return workspace


async def pause(
    session: AsyncSession, *, team_id: str, user_id: str, length: timedelta, now: datetime
) -> datetime:
    """Sit out the rounds until `now + length`; still in the pool after."""
    workspace = await _configured(session, team_id)
    row = await _member(session, team_id, user_id)
    if not _in_pool(workspace, row.status if row else None):
        raise IntrosError("You're not in intros: `/ally intros join` first.")
    until = now + length
    await _upsert(session, team_id=team_id, user_id=user_id, now=now, paused_until=until)
    return until


async def resume(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> None:
    await _configured(session, team_id)
    await _upsert(session, team_id=team_id, user_id=user_id, now=now, paused_until=None)


async def mark_active(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> None:
    """The person acted on intros (an answer, a button): they are not inactive."""
    await _upsert(session, team_id=team_id, user_id=user_id, now=now)


def _in_pool(workspace: Workspace, status: str | None) -> bool:
    """Opt-in: those who joined. Opt-out: everyone in the channel who did not leave."""
    if workspace.intros_mode == "opt_out":
        return status != LEFT
    return status == JOINED


async def add_never(
    session: AsyncSession, *, team_id: str, user_id: str, other: Person, now: datetime
) -> bool:
    """Never pair `user_id` with `other` (either way). Nobody is told. False if already so."""
    if other.user_id == user_id:
        raise IntrosError("Name someone else: you're never paired with yourself.")
    if other.is_bot or other.user_id == "USLACKBOT":
        raise IntrosError(f"<@{other.user_id}> is a bot; intros only pair people.")
    existing = await nevers_of(session, team_id=team_id, user_id=user_id)
    if other.user_id in existing:
        return False
    if len(existing) >= MAX_NEVER:
        raise IntrosError(f"Your list already has {MAX_NEVER} people, the most it keeps.")
    stmt = insert_for(session, IntroNever).values(
        team_id=team_id, user_id=user_id, other_id=other.user_id, created_at=now
    )
    await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["team_id", "user_id", "other_id"])
    )
    await _upsert(session, team_id=team_id, user_id=user_id, now=now)
    return True


def check_never_list(user_id: str, others: Sequence[str]) -> str | None:
    """What is wrong with a never list as picked in the Home modal, if anything."""
    if user_id in others:
        return "Leave yourself out: you're never paired with yourself."
    if len(set(others)) > MAX_NEVER:
        return f"At most {MAX_NEVER} people."
    return None


async def set_nevers(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    others: Sequence[Person],
    now: datetime,
) -> list[str]:
    """Replace the never list (the Home modal); bots and oneself are left out. Nobody is
    told. Returns the list kept."""
    keep = sorted({p.user_id for p in others if p.user_id != user_id and not p.is_bot})[:MAX_NEVER]
    await session.execute(
        delete(IntroNever).where(
            IntroNever.team_id == team_id,
            IntroNever.user_id == user_id,
            IntroNever.other_id.not_in(keep) if keep else IntroNever.id.is_not(None),
        )
    )
    if keep:
        stmt = insert_for(session, IntroNever).values(
            [
                {"team_id": team_id, "user_id": user_id, "other_id": o, "created_at": now}
                for o in keep
            ]
        )
        await session.execute(
            stmt.on_conflict_do_nothing(index_elements=["team_id", "user_id", "other_id"])
        )
    await _upsert(session, team_id=team_id, user_id=user_id, now=now)
    return keep


async def remove_never(
    session: AsyncSession, *, team_id: str, user_id: str, other_id: str, now: datetime
) -> bool:
    result = await session.execute(
        delete(IntroNever).where(
            IntroNever.team_id == team_id,
            IntroNever.user_id == user_id,
            IntroNever.other_id == other_id,
        )
    )
    await _upsert(session, team_id=team_id, user_id=user_id, now=now)
    return bool(getattr(result, "rowcount", 0))


async def nevers_of(session: AsyncSession, *, team_id: str, user_id: str) -> list[str]:
    stmt = (
        select(IntroNever.other_id)
        .where(IntroNever.team_id == team_id, IntroNever.user_id == user_id)
        .order_by(IntroNever.id)
        .limit(MAX_NEVER + 1)
    )
    return list((await session.execute(stmt)).scalars())


async def status(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime
) -> IntroStatus:
    workspace = await session.get(Workspace, team_id)
    row = await _member(session, team_id, user_id)
    count = len(await nevers_of(session, team_id=team_id, user_id=user_id))
    configured = workspace is not None and bool(workspace.intros_channel_id)
    paused = row.paused_until if row and row.paused_until and row.paused_until > now else None
    return IntroStatus(
        channel_id=workspace.intros_channel_id if workspace else None,
        mode=workspace.intros_mode if workspace else "opt_in",
        in_pool=configured
        and workspace is not None
        and _in_pool(workspace, row.status if row else None),
        paused_until=paused,
        never_count=count,
        next_round=next_round_day(workspace, now) if configured and workspace else None,
    )


# -- rounds -------------------------------------------------------------------------------


def round_seed(team_id: str, period: str) -> int:
    """The same round always gets the same seed, so re-matching it gives the same groups."""
    return zlib.crc32(f"{team_id}:{period}".encode()) & 0x7FFFFFFF


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
    paused, deleted, bots, and people allybot knows to have been inactive for 30 days.

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
    for user_id in sorted(in_channel):
        row = rows.get(user_id)
        person = profiles.get(user_id)
        if (
            not _in_pool(workspace, row.status if row else None)
            or person is None
            or person.deleted
            or person.is_bot
        ):
            continue
        if (row is not None and _paused(row.paused_until, now)) or _paused(
            person.paused_until, now
        ):
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
        if moved_out and not gone and not _paused(row.paused_until, now):
            pool.told[user_id] = NOT_IN_CHANNEL
    return pool


def _paused(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now


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


async def _earlier_matches(
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


async def _count_pairs(
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


@dataclass(frozen=True)
class RoundResult:
    round_id: int
    groups: list[tuple[str, ...]]
    left_out: dict[str, str]


async def match_round(
    session: AsyncSession, *, round_id: int, token: str, pool: Pool, now: datetime
) -> RoundResult | None:
    """Pair the pool and store the round's matches, posts and notices in one transaction,
    only while this caller still holds the round (None otherwise: someone else matched it).
    """
    row = await session.get(IntroRound, round_id, with_for_update=True)
    if row is None or row.status != "pending" or row.claim_token != token:
        return None
    history = await pair_history(session, team_id=row.team_id, people=pool.people)
    contact = await contact_counts(
        session, team_id=row.team_id, people=pool.people, since=now - CONTACT_WINDOW
    )
    nevers = await never_pairs(session, team_id=row.team_id, people=pool.people)
    pairing = pair_people(
        pool.people,
        group_size=row.group_size,
        never=nevers,
        history=history,
        contact=contact,
        seed=row.seed,
    )
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
        await session.execute(
            insert(IntroPost),
            [
                {
                    "match_id": mid,
                    "team_id": row.team_id,
                    "kind": kind,
                    "due_at": due,
                    "status": "pending",
                    "attempts": 0,
                }
                for mid in ids
                for kind, due in ((INTRO, now), (FOLLOW_UP, now + FOLLOW_UP_AFTER))
            ],
        )
    await _count_pairs(session, team_id=row.team_id, round_id=row.id, groups=pairing.groups)
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
        day = now.astimezone(_zone(tzs.get(user_id, "UTC"))).date()
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


# -- group posts --------------------------------------------------------------------------


async def claim_posts(
    session: AsyncSession, *, now: datetime, token: str, limit: int, team_id: str | None = None
) -> list[int]:
    """Due posts nobody holds, now ours for a lease; FOR UPDATE SKIP LOCKED on PostgreSQL."""
    free = and_(
        IntroPost.status == "pending",
        IntroPost.due_at <= now,
        or_(IntroPost.lease_until.is_(None), IntroPost.lease_until < now),
    )
    stmt = select(IntroPost.id).where(free).order_by(IntroPost.id).limit(limit)
    if team_id:
        stmt = stmt.where(IntroPost.team_id == team_id)
    if dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list((await session.execute(stmt)).scalars())
    if not ids:
        return []
    await session.execute(
        update(IntroPost)
        .where(IntroPost.id.in_(ids), free)
        .values(claim_token=token, lease_until=now + LEASE, attempts=IntroPost.attempts + 1)
    )
    mine = select(IntroPost.id).where(IntroPost.id.in_(ids), IntroPost.claim_token == token)
    return list((await session.execute(mine.order_by(IntroPost.id))).scalars())


@dataclass(frozen=True)
class PostWork:
    """What sending one post needs."""

    post: IntroPost
    match: IntroMatch
    members: list[str]
    crashed_before: bool  # a previous holder died after the post may have left


async def post_work(session: AsyncSession, *, post_id: int, token: str) -> PostWork | None:
    post = await session.get(IntroPost, post_id)
    if post is None or post.claim_token != token or post.status != "pending":
        return None
    match = await session.get(IntroMatch, post.match_id)
    if match is None:
        return None
    members = await members_of(session, match_id=match.id)
    return PostWork(
        post=post,
        match=match,
        members=members,
        crashed_before=post.sending_at is not None and post.error is None,
    )


async def members_of(session: AsyncSession, *, match_id: int) -> list[str]:
    stmt = (
        select(IntroMatchMember.user_id)
        .where(IntroMatchMember.match_id == match_id)
        .order_by(IntroMatchMember.id)
    )
    return list((await session.execute(stmt)).scalars())


async def intro_sent(session: AsyncSession, *, match_id: int) -> bool:
    """The follow-up only goes where the introduction went."""
    stmt = select(IntroPost.status).where(IntroPost.match_id == match_id, IntroPost.kind == INTRO)
    return (await session.execute(stmt)).scalar_one_or_none() == "sent"


async def set_group_dm(session: AsyncSession, *, match_id: int, channel_id: str) -> None:
    await session.execute(
        update(IntroMatch).where(IntroMatch.id == match_id).values(channel_id=channel_id)
    )


async def mark_post_sending(
    session: AsyncSession, *, post_id: int, token: str, now: datetime
) -> bool:
    """Note the post is about to leave; False if the claim was lost meanwhile."""
    result = await session.execute(
        update(IntroPost)
        .where(
            IntroPost.id == post_id, IntroPost.claim_token == token, IntroPost.status == "pending"
        )
        .values(sending_at=now, error=None)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_post_sent(
    session: AsyncSession, *, post_id: int, channel_id: str, ts: str, now: datetime
) -> None:
    await session.execute(
        update(IntroPost)
        .where(IntroPost.id == post_id)
        .values(status="sent", channel_id=channel_id, ts=ts, sent_at=now, lease_until=None)
    )


async def mark_post_failed(
    session: AsyncSession, *, post_id: int, now: datetime, error: str, permanent: bool
) -> str:
    """Retried after a backoff, or failed for good with its reason."""
    post = await session.get(IntroPost, post_id)
    if post is None:
        return "gone"
    post.error = error[:2000]
    post.sending_at = None
    if permanent or post.attempts >= MAX_ATTEMPTS:
        post.status = "failed"
    else:
        post.lease_until = now + timedelta(seconds=30 * 2**post.attempts)
    await session.flush()
    return post.status


async def cancel_post(session: AsyncSession, *, post_id: int, why: str) -> None:
    await session.execute(
        update(IntroPost).where(IntroPost.id == post_id).values(status="cancelled", error=why)
    )


# -- "Did you meet?" ----------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    match: IntroMatch
    members: list[str]
    answer: str
    first_yes: bool  # this answer recorded the meeting


async def answer(
    session: AsyncSession, *, team_id: str, match_id: int, user_id: str, answer: str, now: datetime
) -> Answered:
    """Record a member's answer on that match (never another); a Yes from any member records
    the meeting once and counts as contact between every two of them."""
    if answer not in (YES, NOT_YET, SKIP):
        raise IntrosError("That answer isn't one allybot knows.")
    match = await session.get(IntroMatch, match_id, with_for_update=True)
    members = await members_of(session, match_id=match_id) if match else []
    if match is None or match.team_id != team_id or user_id not in members:
        raise IntrosError("That question is for the people in that intro.")
    stmt = insert_for(session, IntroAnswer).values(
        match_id=match_id, team_id=team_id, user_id=user_id, answer=answer, answered_at=now
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["match_id", "user_id"],
            set_={"answer": stmt.excluded.answer, "answered_at": stmt.excluded.answered_at},
        )
    )
    first_yes = answer == YES and match.met_at is None
    if first_yes:
        match.met_at, match.met_by = now, user_id
        for a, b in itertools.combinations(members, 2):
            await allies.record_contact(session, team_id=team_id, a=a, b=b, at=now)
    await mark_active(session, team_id=team_id, user_id=user_id, now=now)
    await session.flush()
    return Answered(match=match, members=members, answer=answer, first_yes=first_yes)


# -- figures for the workspace report -----------------------------------------------------


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
        earlier = await _earlier_matches(
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


def local_time_line(person: Person, now: datetime) -> str:
    """ "<@U> · Mon 09:05 (Europe/London)": each member's own time when the intro is sent."""
    local = now.astimezone(_zone(person.tz))
    return f"<@{person.user_id}> · {local:%a %H:%M} ({person.tz})"
