"""Kinds whose condition aggregates weeks of kudos (give-back, breadth) look for who is due
once per workspace, zone and local day instead of on every pass.

The first pass of a zone's working day (at or after its local midnight) claims the look with
a unique key, so one replica does it, and stores the candidates every registered finder finds
there; every pass that day plans the candidates who may be messaged at that moment, a join
as cheap as any other kind's. Kudos given after a zone's look count from its next local day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect

from bot.db import UTCDateTime, insert_for
from bot.models import Person, Workspace
from bot.suggestion_models import SuggestionCandidate, SuggestionLook
from scheduler.kinds import PlanContext
from scheduler.zones import deliverable

# A zone's local day is at most a day behind or ahead of UTC's: older rows are never read.
KEEP = timedelta(days=2)

# A look whose zones hold at least this share of its workspace's people reads all the
# workspace's recent kudos once (a scan and one aggregate for every kind), rather than
# those of its people one by one: what the first pass after an install or an outage does.
EVERYONE = 0.5


@dataclass(frozen=True)
class Scope:
    """What one look covers: a workspace's people in some of its zones."""

    team_id: str
    zones: tuple[str, ...]
    # The zones hold most of the workspace's people (see EVERYONE).
    everyone: bool

    def people(self) -> ColumnElement[bool]:
        """`Person` is one of the people looked at."""
        # `tz IN (…)` is a hashed lookup, a list of (team, zone) pairs is not.
        return and_(Person.team_id == self.team_id, Person.tz.in_(self.zones))


# Given the pass and a look, selects who is due as (team_id, user_id, subject, kind): at
# least everyone in the look's zones who is due; with `everyone`, it may find the whole
# workspace's (the look keeps those in its zones).
FindFn = Callable[[PlanContext, Scope], Select[Any] | CompoundSelect]

_FINDERS: dict[str, FindFn] = {}


def register(name: str, find: FindFn) -> None:
    _FINDERS[name] = find


async def look(session: AsyncSession, ctx: PlanContext) -> int:
    """Claim the looks not yet taken today (each workspace's zones on a working day) and
    store what every finder finds there; returns how many this pass took. Once per pass."""
    if ctx.looked:
        return 0
    ctx.looked.add("suggestions")
    c = ctx.clocks
    zones = (
        select(Person.team_id, c.c.tz, c.c.local_day, literal(ctx.now, UTCDateTime()))
        .join(c, c.c.tz == Person.tz)
        .where(c.c.weekday < 5)
        .distinct()
    )
    if ctx.team_id:
        zones = zones.where(Person.team_id == ctx.team_id)
    claimed = (
        await session.execute(
            insert_for(session, SuggestionLook)
            .from_select(["team_id", "tz", "local_day", "looked_at"], zones)
            .on_conflict_do_nothing(index_elements=["team_id", "tz", "local_day"])
            .returning(SuggestionLook.team_id, SuggestionLook.tz)
        )
    ).all()
    if not claimed:
        return 0
    zones_of: dict[str, list[str]] = {}
    for team, tz in claimed:
        zones_of.setdefault(str(team), []).append(str(tz))
    for team, team_zones in sorted(zones_of.items()):
        scope = Scope(team, tuple(sorted(team_zones)), await _holds_most(session, team, team_zones))
        for _, find in sorted(_FINDERS.items()):
            # No ON CONFLICT (which doubles the cost of each row): the look is this
            # transaction's alone, and its key (workspace, zone, day) is in every row's.
            await session.execute(
                insert(SuggestionCandidate).from_select(
                    ["team_id", "local_day", "tz", "user_id", "subject", "kind"],
                    _in_scope(ctx, scope, find(ctx, scope).subquery("found")),
                )
            )
    old = ctx.now.date() - KEEP
    for model in (SuggestionCandidate, SuggestionLook):
        await session.execute(delete(model).where(model.local_day < old))
    return len(claimed)


async def _holds_most(session: AsyncSession, team: str, zones: list[str]) -> bool:
    """Whether `zones` hold at least EVERYONE of the workspace's people."""
    in_zones = func.coalesce(func.sum(case((Person.tz.in_(zones), 1), else_=0)), 0)
    counted = select(func.count(), in_zones).where(Person.team_id == team)
    total, looked_at = (await session.execute(counted)).one()
    return bool(total) and int(looked_at) >= EVERYONE * int(total)


def _in_scope(ctx: PlanContext, scope: Scope, found: Any) -> Select[Any]:
    """(team, day, zone, person, subject, kind) of those found in the look's zones, on their
    zone's local day."""
    c = ctx.clocks
    return (
        select(
            found.c.team_id, c.c.local_day, c.c.tz, found.c.user_id, found.c.subject, found.c.kind
        )
        .join(Person, and_(Person.team_id == found.c.team_id, Person.user_id == found.c.user_id))
        .join(c, c.c.tz == Person.tz)
        .where(scope.people())
    )


def candidates_due(ctx: PlanContext, kind: str) -> Select[Any]:
    """Rows of (team, person, kind, subject, quarter, today, today) for today's candidates
    of `kind` who may be messaged now; a kind adds its own conditions.

    Joined to the clocks on the candidate's own zone and day (someone who moved zone since
    the look waits for the next one), which keeps the join small however few rows the
    database expects in a table filled moments ago.
    """
    c = ctx.clocks
    cand = SuggestionCandidate
    stmt = (
        select(
            cand.team_id,
            cand.user_id,
            literal(kind),
            cand.subject,
            c.c.quarter,
            c.c.local_day,
            c.c.local_day,
        )
        .join(c, and_(c.c.tz == cand.tz, c.c.local_day == cand.local_day))
        .join(Person, and_(Person.team_id == cand.team_id, Person.user_id == cand.user_id))
        .join(Workspace, Workspace.team_id == cand.team_id)
        .where(
            cand.kind == kind,
            Person.tz == cand.tz,
            Person.engaged_at.is_not(None),
            deliverable(c, ctx.now),
        )
    )
    return stmt.where(cand.team_id == ctx.team_id) if ctx.team_id else stmt
