"""Nudges about allies: check-ins due, direct-conversation follow-ups, giving back, breadth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect

from bot.blocks.allies import (
    DueAlly,
    build_breadth_blocks,
    build_checkin_blocks,
    build_give_back_blocks,
    build_resolve_follow_up_blocks,
)
from bot.db import UTCDateTime, add_days, dialect_of, insert_for
from bot.i18n import N_, _, ngettext
from bot.models import Ally, Kudos, Nudge, Person, Resolve, Workspace
from bot.suggestion_models import SuggestionCandidate
from scheduler.kinds import (
    PLANNED_COLUMNS,
    NudgeKind,
    PlanContext,
    Rendered,
    batches,
    due_for_owner,
    insert_planned,
    insert_planned_returning,
    looks,
    register,
)
from scheduler.zones import deliverable

CHECKIN = "checkin"
RESOLVE = "resolve_followup"
GIVE_BACK = "give_back"
BREADTH = "breadth"
GIVE_BACK_WINDOW = timedelta(days=30)
GIVE_BACK_MIN = 3
BREADTH_WINDOW = timedelta(days=60)
BREADTH_MIN_KUDOS = 6
BREADTH_MAX_PEOPLE = 3


ALLIES_SUBJECT = "allies"  # one check-in item a person and day, naming their due allies


def _due_on(day: Any) -> Any:
    """An ally due a reminder on `day`: its rhythm has passed and it is not snoozed."""
    return and_(
        Ally.due_day <= day,
        Ally.next_nudge_day.is_(None) | (Ally.next_nudge_day <= day),
    )


async def plan_checkins(session: AsyncSession, ctx: PlanContext) -> int:
    """People with allies whose rhythm has passed since the last contact: one item a day
    that names them; each ally again one rhythm later.

    One nudge per person, not per ally, because the daily message names at most three and a
    workspace's first pass can find hundreds of thousands of allies due at once.
    """
    if dialect_of(session) == "postgresql":
        return await _plan_checkins_at_once(session, ctx)
    planned = await insert_planned(session, _due_allies(ctx).distinct(), ctx.now)
    if planned:
        # The next reminder of each ally named, one rhythm after the day the item goes out:
        # one UPDATE … FROM the items of this pass, however many allies that is.
        await session.execute(
            update(Ally)
            .where(
                Nudge.kind == CHECKIN,
                Nudge.planned_at == ctx.now,
                Nudge.team_id == Ally.team_id,
                Nudge.user_id == Ally.user_id,
                _due_on(Nudge.local_day),
            )
            .values(next_nudge_day=add_days(Nudge.local_day, Ally.cadence_days))
            .execution_options(synchronize_session=False)
        )
    return planned


def _due_allies(ctx: PlanContext) -> Select[Any]:
    """(team, person, kind, subject, day, local_day, local_day) of each ally due a reminder
    whose owner may be messaged now, the ally still in the workspace."""
    ally = aliased(Person)
    return (
        due_for_owner(
            ctx,
            team_col=Ally.team_id,
            user_col=Ally.user_id,
            kind=CHECKIN,
            subject=literal(ALLIES_SUBJECT),
        )
        .join(ally, and_(ally.team_id == Ally.team_id, ally.user_id == Ally.ally_id))
        .where(_due_on(ctx.clocks.c.local_day), ally.deleted.is_(False))
    )


async def _plan_checkins_at_once(session: AsyncSession, ctx: PlanContext) -> int:
    """PostgreSQL: the allies' next reminders and the items that name them in one
    statement (a data-modifying WITH), the items planned from the allies moved.

    When many owners may be messaged now (`_many_owners`), the allies that can be due at
    all are read by `ix_allies_due` (bounded by the latest local day of any zone) in the
    table's order, joined by hashing to those owners, and each is moved on while its page
    is at hand: looked up owner by owner, or moved in any other order, the same allies
    cost twice as much (benchmarks/README.md). When few may, as in most ticks of a quiet
    hour, their allies are looked up owner by owner: reading every ally due and not yet
    moved (a backlog of the owners outside their window) would cost each tick that much.

    Nobody's allies move on a day they already have their item (a key planned before):
    those newly due wait for the next day's, as they would for an item planned first.
    """
    c = ctx.clocks
    ally = aliased(Person)
    many = ctx.last_day is not None and await _many_owners(session, ctx)
    item_today: ColumnElement[bool]
    if many:
        item_today = exists().where(
            Nudge.team_id == Ally.team_id,
            Nudge.user_id == Ally.user_id,
            Nudge.kind == CHECKIN,
            Nudge.subject == ALLIES_SUBJECT,
            Nudge.period == c.c.day,
        )
    else:
        # Few owners: the check-in items of the clocks' days in a hash, built once (OFFSET
        # 0 keeps it a subplan). As an anti-join, PostgreSQL compared each due ally with
        # every check-in item when `nudges` had grown since its statistics (75 s for
        # 2,500 owners, benchmarks/README.md).
        planned_items = select(Nudge.team_id, Nudge.user_id, Nudge.period).where(
            Nudge.kind == CHECKIN, Nudge.subject == ALLIES_SUBJECT
        )
        if ctx.last_day is not None:  # local days are at most a day apart
            planned_items = planned_items.where(
                Nudge.period >= (ctx.last_day - timedelta(days=1)).isoformat()
            )
        item_today = tuple_(Ally.team_id, Ally.user_id, c.c.day).in_(planned_items.offset(0))
    moved = (
        update(Ally)
        .where(
            Person.team_id == Ally.team_id,
            Person.user_id == Ally.user_id,
            c.c.tz == Person.tz,
            Workspace.team_id == Ally.team_id,
            deliverable(c, ctx.now),
            _due_on(c.c.local_day),
            ~item_today,
        )
        .values(next_nudge_day=add_days(c.c.local_day, Ally.cadence_days))
        .returning(Ally.team_id, Ally.user_id, c.c.day, c.c.local_day)
    )
    if many:
        # The same rule against the latest local day of any zone, a constant that
        # `ix_allies_due` can answer: the allies that can be due at all, read in the
        # table's order and moved while their page is at hand. Not a join either: the
        # ally's person is looked up in a hash of the people still here (OFFSET 0 keeps
        # it a subplan), and the allies stay in the order they were read.
        moved = moved.where(
            _due_on(literal(ctx.last_day, Date())),
            tuple_(Ally.team_id, Ally.ally_id).in_(
                select(ally.team_id, ally.user_id).where(ally.deleted.is_(False)).offset(0)
            ),
        )
    else:
        moved = moved.where(
            ally.team_id == Ally.team_id,
            ally.user_id == Ally.ally_id,
            ally.deleted.is_(False),
        )
    if ctx.team_id:
        moved = moved.where(Ally.team_id == ctx.team_id)
    named = moved.cte("moved")
    items = select(
        named.c.team_id,
        named.c.user_id,
        literal(CHECKIN),
        literal(ALLIES_SUBJECT),
        named.c.day,
        named.c.local_day,
        named.c.local_day,
        literal("planned"),
        literal(ctx.now, UTCDateTime()),
    ).distinct()
    planned = (
        insert_for(session, Nudge)
        .from_select([*PLANNED_COLUMNS, "status", "planned_at"], items)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "kind", "subject", "period"])
        .returning(Nudge.id)
        .cte("planned")
    )
    count = select(func.count()).select_from(planned)
    if not many:
        return int((await session.execute(count)).scalar_one())
    # Joined by hashing, whatever PostgreSQL expects: it estimates the owners who may be
    # messaged from the clock list at a fraction of what they are, and would look up
    # each owner's allies one by one (most of the table, in an order its pages are not
    # in) and each ally's person after that. For this statement only.
    nestloop, mergejoin = (await session.execute(_JOINS_NOW)).one()
    await session.execute(_JOINS, {"nestloop": "off", "mergejoin": "off"})
    planned_count = int((await session.execute(count)).scalar_one())
    await session.execute(_JOINS, {"nestloop": nestloop, "mergejoin": mergejoin})
    return planned_count


# Owners who may be messaged now, as a share of the people, from which their allies are
# read by `ix_allies_due` and joined by hashing rather than looked up owner by owner.
MANY_OWNERS = 0.2


async def _many_owners(session: AsyncSession, ctx: PlanContext) -> bool:
    """Whether at least MANY_OWNERS of the people may be messaged now: one scan of
    `people` against the clock list, much less than reading the allies the wrong way.

    PostgreSQL cannot tell by itself: it estimates the owners from the clock list's
    filters (a working day, inside the window) at a fixed fraction of the people,
    whatever the instant."""
    c = ctx.clocks
    counted = (
        select(func.count().filter(deliverable(c, ctx.now)), func.count())
        .select_from(Person)
        .join(c, c.c.tz == Person.tz)
        .join(Workspace, Workspace.team_id == Person.team_id)
    )
    if ctx.team_id:
        counted = counted.where(Person.team_id == ctx.team_id)
    owners, people = (await session.execute(counted)).one()
    return bool(people) and owners >= MANY_OWNERS * people


_JOINS_NOW = text("SELECT current_setting('enable_nestloop'), current_setting('enable_mergejoin')")
_JOINS = text(
    "SELECT set_config('enable_nestloop', :nestloop, true),"
    " set_config('enable_mergejoin', :mergejoin, true)"
)


async def render_checkins(
    session: AsyncSession, nudges: list[Nudge], person: Person, record: bool
) -> Rendered | None:
    """The allies the planner named for that day (their next reminder moved one rhythm
    on from it), still without contact, most overdue first."""
    today = max(n.local_day for n in nudges)
    friend = aliased(Person)
    rows = await session.execute(
        select(Ally)
        .join(friend, and_(friend.team_id == Ally.team_id, friend.user_id == Ally.ally_id))
        .where(
            Ally.team_id == person.team_id,
            Ally.user_id == person.user_id,
            Ally.due_day <= today,
            friend.deleted.is_(False),
        )
    )
    due = sorted(
        (
            DueAlly(
                row_id=a.id,
                ally_id=a.ally_id,
                days=(today - a.last_contact_day).days,
                cadence_days=a.cadence_days,
            )
            for a in rows.scalars()
            if a.next_nudge_day == today + timedelta(days=a.cadence_days)
        ),
        key=lambda d: (-d.days, d.row_id),
    )
    if not due:
        return None  # contact happened since planning
    first = due[0]
    ally = f"<@{first.ally_id}>"
    return Rendered(
        text=ngettext(
            "It's been {n} day since you and {ally} connected",
            "It's been {n} days since you and {ally} connected",
            first.days,
            ally=ally,
        ),
        blocks=build_checkin_blocks(person.team_id, due),
    )


async def render_checkin(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    return await render_checkins(session, [nudge], person, record)


async def plan_resolve_follow_ups(session: AsyncSession, ctx: PlanContext) -> int:
    """ "Did you get to talk?" two working days after `/ally resolve`, and after "Not yet"."""
    due = due_for_owner(
        ctx,
        team_col=Resolve.team_id,
        user_col=Resolve.user_id,
        kind=RESOLVE,
        subject=cast(Resolve.id, String),
    ).where(Resolve.status == "open", Resolve.follow_up_day <= ctx.clocks.c.local_day)
    planned = await insert_planned_returning(session, due, ctx.now)
    for batch in batches([int(s) for s, __ in planned]):
        await session.execute(
            update(Resolve)
            .where(Resolve.id.in_(batch))
            .values(status="asked", follow_ups=Resolve.follow_ups + 1)
        )
    return len(planned)


async def render_resolve(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    row = await session.get(Resolve, int(nudge.subject))
    if row is None or row.status not in ("open", "asked"):
        return None
    other = f"<@{row.other_id}>"
    return Rendered(
        text=_("Did you get to talk with {person}?", person=other),
        blocks=build_resolve_follow_up_blocks(row.id, row.other_id, row.topic),
    )


def _find_give_back(ctx: PlanContext, scope: looks.Scope) -> Select[Any]:
    """Receivers in the zones looked at whom someone recognised 3+ times in 30 days and who
    never recognised them back, as (team, receiver, giver, "give_back")."""
    pairs = (
        select(
            Kudos.team_id.label("team_id"),
            Kudos.receiver_id.label("user_id"),
            Kudos.giver_id.label("subject"),
        )
        .join(Person, and_(Person.team_id == Kudos.team_id, Person.user_id == Kudos.receiver_id))
        .where(Kudos.created_at >= ctx.now - GIVE_BACK_WINDOW, scope.people())
        .group_by(Kudos.team_id, Kudos.receiver_id, Kudos.giver_id)
        .having(func.count(Kudos.id) >= GIVE_BACK_MIN)
    ).subquery("pairs")
    return select(
        pairs.c.team_id, pairs.c.user_id, pairs.c.subject, literal(GIVE_BACK).label("kind")
    ).where(~_gave_back(pairs.c.team_id, giver=pairs.c.user_id, receiver=pairs.c.subject))


def _gave_back(team: Any, *, giver: Any, receiver: Any) -> ColumnElement[bool]:
    """`giver` ever recognised `receiver`: a look-up in `ix_kudos_pair` for each pair.

    OFFSET 0 keeps PostgreSQL from turning it into an anti-join, which it plans as hashing
    every kudos the workspace ever had (not only the window's) to answer for the few pairs
    with 3+ kudos: 22,204 look-ups against hashing 1,000,000 kudos, 0.25 s of CPU more.
    """
    back = aliased(Kudos)
    return (
        select(back.id)
        .where(back.team_id == team, back.giver_id == giver, back.receiver_id == receiver)
        .offset(0)
        .exists()
    )


def _find_suggestions(ctx: PlanContext, scope: looks.Scope) -> CompoundSelect:
    """Who in the look is due a give-back or a breadth suggestion, as (team, person,
    subject, kind): both kinds' rules over the kudos of the people looked at or, when the
    look holds most of the workspace, over all its recent kudos counted once per pair."""
    if not scope.everyone:
        return union_all(_find_give_back(ctx, scope), _find_breadth(ctx, scope))
    assert GIVE_BACK_WINDOW <= BREADTH_WINDOW  # give-back's kudos are among breadth's
    team = literal(scope.team_id, String()).label("team_id")
    lately = Kudos.created_at >= ctx.now - GIVE_BACK_WINDOW
    # One row per (giver, receiver): kudos in the breadth window, and those in give-back's.
    pairs = (
        select(
            Kudos.giver_id,
            Kudos.receiver_id,
            func.count(Kudos.id).label("times"),
            func.count(Kudos.id).filter(lately).label("lately"),
        )
        .where(Kudos.team_id == scope.team_id, Kudos.created_at >= ctx.now - BREADTH_WINDOW)
        .group_by(Kudos.giver_id, Kudos.receiver_id)
    ).cte("pairs")
    give_back = select(
        team,
        pairs.c.receiver_id.label("user_id"),
        pairs.c.giver_id.label("subject"),
        literal(GIVE_BACK).label("kind"),
    ).where(
        pairs.c.lately >= GIVE_BACK_MIN,
        ~_gave_back(scope.team_id, giver=pairs.c.receiver_id, receiver=pairs.c.giver_id),
    )
    breadth = (
        select(
            team,
            pairs.c.giver_id.label("user_id"),
            literal(BREADTH).label("subject"),
            literal(BREADTH).label("kind"),
        )
        .group_by(pairs.c.giver_id)
        .having(
            func.sum(pairs.c.times) >= BREADTH_MIN_KUDOS,
            func.count() <= BREADTH_MAX_PEOPLE,
        )
    )
    return union_all(give_back, breadth)


async def plan_give_back(session: AsyncSession, ctx: PlanContext) -> int:
    """Someone recognised a person 3+ times in 30 days and was never recognised back:
    one suggestion per pair per quarter. Looked for once per zone and local day."""
    await looks.look(session, ctx)
    cand = SuggestionCandidate
    giver = aliased(Person)
    due = looks.candidates_due(ctx, GIVE_BACK).join(
        giver, and_(giver.team_id == cand.team_id, giver.user_id == cand.subject)
    )
    # The giver still here: nobody left, or erased (an anonymous id has no row).
    return await insert_planned(session, due.where(giver.deleted.is_(False)), ctx.now)


async def render_give_back(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    gave_back = await session.execute(
        select(Kudos.id)
        .where(
            Kudos.team_id == nudge.team_id,
            Kudos.giver_id == nudge.user_id,
            Kudos.receiver_id == nudge.subject,
        )
        .limit(1)
    )
    if gave_back.first() is not None:
        return None  # recognised them back since the day's look
    since = nudge.planned_at - GIVE_BACK_WINDOW
    times = (
        await session.execute(
            select(func.count(Kudos.id)).where(
                Kudos.team_id == nudge.team_id,
                Kudos.giver_id == nudge.subject,
                Kudos.receiver_id == nudge.user_id,
                Kudos.created_at >= since,
            )
        )
    ).scalar_one()
    giver = f"<@{nudge.subject}>"
    return Rendered(
        text=ngettext(
            "{person} has recognised you {n} time this month",
            "{person} has recognised you {n} times this month",
            int(times),
            person=giver,
        ),
        blocks=build_give_back_blocks(nudge.team_id, nudge.subject, int(times)),
    )


def _find_breadth(ctx: PlanContext, scope: looks.Scope) -> Select[Any]:
    """Givers in the zones looked at whose 6+ kudos in 60 days all went to 3 or fewer
    people, as (team, giver, "breadth", "breadth").

    Counted per (giver, receiver) first and then per giver, rather than with
    COUNT(DISTINCT …), which sorts every kudos in the window.
    """
    per_receiver = (
        select(
            Kudos.team_id.label("team_id"),
            Kudos.giver_id.label("user_id"),
            func.count(Kudos.id).label("times"),
        )
        .join(Person, and_(Person.team_id == Kudos.team_id, Person.user_id == Kudos.giver_id))
        .where(Kudos.created_at >= ctx.now - BREADTH_WINDOW, scope.people())
        .group_by(Kudos.team_id, Kudos.giver_id, Kudos.receiver_id)
    ).subquery("per_receiver")
    return (
        select(
            per_receiver.c.team_id,
            per_receiver.c.user_id,
            literal(BREADTH).label("subject"),
            literal(BREADTH).label("kind"),
        )
        .group_by(per_receiver.c.team_id, per_receiver.c.user_id)
        .having(
            func.sum(per_receiver.c.times) >= BREADTH_MIN_KUDOS,
            func.count() <= BREADTH_MAX_PEOPLE,
        )
    )


async def plan_breadth(session: AsyncSession, ctx: PlanContext) -> int:
    """All of someone's 6+ kudos in 60 days went to 3 or fewer people: once a quarter.
    Looked for once per zone and local day."""
    await looks.look(session, ctx)
    return await insert_planned(session, looks.candidates_due(ctx, BREADTH), ctx.now)


async def render_breadth(
    session: AsyncSession, nudge: Nudge, person: Person, record: bool
) -> Rendered | None:
    since = nudge.planned_at - BREADTH_WINDOW
    count, people = (
        await session.execute(
            select(func.count(Kudos.id), func.count(Kudos.receiver_id.distinct())).where(
                Kudos.team_id == nudge.team_id,
                Kudos.giver_id == nudge.user_id,
                Kudos.created_at >= since,
            )
        )
    ).one()
    if count < BREADTH_MIN_KUDOS or people > BREADTH_MAX_PEOPLE:
        return None  # their circle widened since the day's look
    return Rendered(
        text=_("Who else made your work easier lately?"),
        blocks=build_breadth_blocks(int(count), int(people)),
    )


register(
    NudgeKind(
        name=CHECKIN,
        order=30,
        plan=plan_checkins,
        render=render_checkin,
        render_many=render_checkins,
        title=N_("Check-ins due"),
    )
)
register(NudgeKind(name=RESOLVE, order=40, plan=plan_resolve_follow_ups, render=render_resolve))
looks.register("suggestions", _find_suggestions)
register(
    NudgeKind(name=GIVE_BACK, order=50, plan=plan_give_back, render=render_give_back, looks=True)
)
register(NudgeKind(name=BREADTH, order=60, plan=plan_breadth, render=render_breadth, looks=True))
