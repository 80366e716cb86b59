"""A person's own alliance figures, private to them: breadth, reciprocity, follow-through and
check-in rhythm over the last 90 days, each against the 90 days before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.models import Ally, CheckIn, Commitment, CommitmentParty, Kudos
from bot.services import commitments
from bot.services.privacy import ANON_PREFIX

WINDOW = timedelta(days=90)
RECENT = timedelta(days=30)
# The usual circle: allies, plus the people someone exchanged the most kudos with (either
# way) in the 90 days before the window, at least CIRCLE_MIN_KUDOS each, at most CIRCLE_SIZE.
CIRCLE_SIZE = 5
CIRCLE_MIN_KUDOS = 2
# Below these, a figure says "not enough yet" rather than a misleading number.
MIN_RECOGNISED_BY = 2
MIN_CLOSED = 2
MIN_ALLIES = 1
STEADY = 0.05  # a share moving less than this is "about the same"


class Trend(StrEnum):
    UP = "up"
    DOWN = "down"
    SAME = "same"
    NEW = "new"  # nothing to compare with: the previous 90 days had too little data


@dataclass(frozen=True)
class Ratio:
    """`part` of `whole`, e.g. 3 of 4 promises kept."""

    part: int
    whole: int

    @property
    def share(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class Window:
    """The four figures over one 90-day window.

    breadth: part = people recognised outside the usual circle, whole = people recognised.
    reciprocity: part = recognised back, whole = people who recognised them.
    follow_through: part = kept on time, whole = promises with a date closed.
    rhythm: part = allies contacted within their cadence, whole = allies, at the window's end.
    """

    breadth: Ratio
    reciprocity: Ratio
    follow_through: Ratio
    rhythm: Ratio

    @property
    def breadth_enough(self) -> bool:
        return self.breadth.whole >= 1

    @property
    def reciprocity_enough(self) -> bool:
        return self.reciprocity.whole >= MIN_RECOGNISED_BY

    @property
    def follow_through_enough(self) -> bool:
        return self.follow_through.whole >= MIN_CLOSED

    @property
    def rhythm_enough(self) -> bool:
        return self.rhythm.whole >= MIN_ALLIES


@dataclass(frozen=True)
class PersonInsights:
    current: Window
    previous: Window

    @property
    def breadth_trend(self) -> Trend:
        if not self.previous.breadth_enough:
            return Trend.NEW
        return _compare(self.current.breadth.whole, self.previous.breadth.whole, 0)

    @property
    def reciprocity_trend(self) -> Trend:
        return _share_trend(
            self.current.reciprocity, self.previous.reciprocity, self.previous.reciprocity_enough
        )

    @property
    def follow_through_trend(self) -> Trend:
        return _share_trend(
            self.current.follow_through,
            self.previous.follow_through,
            self.previous.follow_through_enough,
        )

    @property
    def rhythm_trend(self) -> Trend:
        return _share_trend(self.current.rhythm, self.previous.rhythm, self.previous.rhythm_enough)


def _compare(now: float, before: float, tolerance: float) -> Trend:
    if now > before + tolerance:
        return Trend.UP
    if now < before - tolerance:
        return Trend.DOWN
    return Trend.SAME


def _share_trend(now: Ratio, before: Ratio, enough: bool) -> Trend:
    if not enough or now.share is None or before.share is None:
        return Trend.NEW
    return _compare(now.share, before.share, STEADY)


@dataclass(frozen=True)
class Figures:
    """What Home shows: recent kudos counts and the four figures."""

    given_30d: int
    received_30d: int
    person: PersonInsights


async def figures(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> Figures:
    """Counts derived in SQL over bounded windows, each query on an index."""
    recent = now - RECENT
    given_30d = (
        await session.execute(
            select(func.count(Kudos.id)).where(
                Kudos.team_id == team_id, Kudos.giver_id == user_id, Kudos.created_at >= recent
            )
        )
    ).scalar_one()
    received_30d = (
        await session.execute(
            select(func.count(Kudos.id)).where(
                Kudos.team_id == team_id, Kudos.receiver_id == user_id, Kudos.created_at >= recent
            )
        )
    ).scalar_one()
    return Figures(
        given_30d=int(given_30d),
        received_30d=int(received_30d),
        person=await person_insights(session, team_id=team_id, user_id=user_id, now=now),
    )


async def person_insights(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime
) -> PersonInsights:
    """The last 90 days and the 90 days before, computed the same way."""
    previous_end = now - WINDOW
    return PersonInsights(
        current=await _window(
            session, team_id=team_id, user_id=user_id, start=previous_end, end=now
        ),
        previous=await _window(
            session,
            team_id=team_id,
            user_id=user_id,
            start=previous_end - WINDOW,
            end=previous_end,
        ),
    )


async def _window(
    session: AsyncSession, *, team_id: str, user_id: str, start: datetime, end: datetime
) -> Window:
    return Window(
        breadth=await _breadth(session, team_id=team_id, user_id=user_id, start=start, end=end),
        reciprocity=await _reciprocity(
            session, team_id=team_id, user_id=user_id, start=start, end=end
        ),
        follow_through=await _follow_through(
            session, team_id=team_id, user_id=user_id, start=start, end=end
        ),
        rhythm=await _rhythm(session, team_id=team_id, user_id=user_id, at=end),
    )


async def usual_circle(
    session: AsyncSession, *, team_id: str, user_id: str, before: datetime
) -> set[str]:
    """Allies (added before `before`) and the most frequent kudos partners of the 90 days
    before `before`."""
    allies = set(
        (
            await session.execute(
                select(Ally.ally_id).where(
                    Ally.team_id == team_id, Ally.user_id == user_id, Ally.created_at < before
                )
            )
        ).scalars()
    )
    start = before - WINDOW
    in_window = (Kudos.team_id == team_id, Kudos.created_at >= start, Kudos.created_at < before)
    exchanged = union_all(
        select(Kudos.receiver_id.label("other")).where(*in_window, Kudos.giver_id == user_id),
        select(Kudos.giver_id.label("other")).where(*in_window, Kudos.receiver_id == user_id),
    ).subquery()
    count = func.count()
    frequent = (
        await session.execute(
            select(exchanged.c.other)
            .where(~exchanged.c.other.startswith(ANON_PREFIX))
            .group_by(exchanged.c.other)
            .having(count >= CIRCLE_MIN_KUDOS)
            .order_by(count.desc(), exchanged.c.other)
            .limit(CIRCLE_SIZE)
        )
    ).scalars()
    return allies | set(frequent)


async def _breadth(
    session: AsyncSession, *, team_id: str, user_id: str, start: datetime, end: datetime
) -> Ratio:
    recognised = set(
        (
            await session.execute(
                select(Kudos.receiver_id)
                .where(
                    Kudos.team_id == team_id,
                    Kudos.giver_id == user_id,
                    Kudos.created_at >= start,
                    Kudos.created_at < end,
                )
                .distinct()
            )
        ).scalars()
    )
    if not recognised:
        return Ratio(0, 0)
    circle = await usual_circle(session, team_id=team_id, user_id=user_id, before=start)
    return Ratio(len(recognised - circle), len(recognised))


async def _reciprocity(
    session: AsyncSession, *, team_id: str, user_id: str, start: datetime, end: datetime
) -> Ratio:
    back = aliased(Kudos)
    givers = (
        select(Kudos.giver_id.label("giver_id"))
        .where(
            Kudos.team_id == team_id,
            Kudos.receiver_id == user_id,
            Kudos.created_at >= start,
            Kudos.created_at < end,
            ~Kudos.giver_id.startswith(ANON_PREFIX),
        )
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
                        back.created_at >= start,
                        back.created_at < end,
                    )
                    .exists()
                ),
            )
        )
    ).one()
    return Ratio(int(recognised_back), int(recognised_by))


async def _follow_through(
    session: AsyncSession, *, team_id: str, user_id: str, start: datetime, end: datetime
) -> Ratio:
    found = await commitments.follow_through(
        session, team_id=team_id, user_id=user_id, start=start, end=end
    )
    return Ratio(found.kept, found.closed)


async def _rhythm(session: AsyncSession, *, team_id: str, user_id: str, at: datetime) -> Ratio:
    """Allies whose last contact before `at` is within their cadence, of allies added by then.

    The last contact is rebuilt from what allybot records as contact (check-ins, kudos either
    way, promises between the two), so the figure for 90 days ago is computed like today's.
    """
    rows = (
        await session.execute(
            select(Ally.ally_id, Ally.cadence_days, Ally.created_at).where(
                Ally.team_id == team_id, Ally.user_id == user_id, Ally.created_at <= at
            )
        )
    ).all()
    if not rows:
        return Ratio(0, 0)
    last = await _last_contacts(
        session, team_id=team_id, user_id=user_id, others=[r.ally_id for r in rows], at=at
    )
    within = 0
    for ally_id, cadence_days, created_at in rows:
        contact = max(created_at, last.get(ally_id, created_at))
        if at - contact <= timedelta(days=cadence_days):
            within += 1
    return Ratio(within, len(rows))


async def _last_contacts(
    session: AsyncSession, *, team_id: str, user_id: str, others: list[str], at: datetime
) -> dict[str, datetime]:
    """The latest contact with each of `others` at or before `at`, one query."""
    sources = union_all(
        select(CheckIn.ally_id.label("other"), CheckIn.at.label("at")).where(
            CheckIn.team_id == team_id, CheckIn.user_id == user_id, CheckIn.ally_id.in_(others)
        ),
        select(CheckIn.user_id.label("other"), CheckIn.at.label("at")).where(
            CheckIn.team_id == team_id, CheckIn.ally_id == user_id, CheckIn.user_id.in_(others)
        ),
        select(Kudos.receiver_id.label("other"), Kudos.created_at.label("at")).where(
            Kudos.team_id == team_id, Kudos.giver_id == user_id, Kudos.receiver_id.in_(others)
        ),
        select(Kudos.giver_id.label("other"), Kudos.created_at.label("at")).where(
            Kudos.team_id == team_id, Kudos.receiver_id == user_id, Kudos.giver_id.in_(others)
        ),
        *(
            _promises(team_id, user_id, others, owner_side=owner_side, closed=closed)
            for owner_side in (True, False)
            for closed in (False, True)
        ),
    ).subquery()
    latest = func.max(sources.c.at)
    rows = (
        await session.execute(
            select(sources.c.other, latest)
            .where(sources.c.at <= at, sources.c.at.is_not(None))
            .group_by(sources.c.other)
        )
    ).all()
    return {other: when for other, when in rows if when is not None}


def _promises(
    team_id: str, user_id: str, others: list[str], *, owner_side: bool, closed: bool
) -> Select[str, datetime | None]:
    """Promises between the person and `others`, made (not cancelled) or kept, either way."""
    party = aliased(CommitmentParty)
    other = party.user_id if owner_side else Commitment.owner_id
    me = Commitment.owner_id if owner_side else party.user_id
    at = Commitment.closed_at if closed else Commitment.created_at
    status = Commitment.status == "done" if closed else Commitment.status != "cancelled"
    return (
        select(other.label("other"), at.label("at"))
        .join(party, party.commitment_id == Commitment.id)
        .where(Commitment.team_id == team_id, me == user_id, status, other.in_(others))
    )


async def recent_kudos_received(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime, limit: int = 3
) -> list[Kudos]:
    """The newest kudos someone received lately, for Home (erased givers' left out)."""
    found = await session.execute(
        select(Kudos)
        .where(
            Kudos.team_id == team_id,
            Kudos.receiver_id == user_id,
            Kudos.created_at >= now - RECENT,
            ~Kudos.giver_id.startswith(ANON_PREFIX),
        )
        .order_by(Kudos.created_at.desc())
        .limit(limit)
    )
    return list(found.scalars())
