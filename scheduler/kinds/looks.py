"""Kinds whose condition aggregates weeks of kudos (give-back, breadth) look for who is due
once per workspace, zone and local day instead of on every pass.

The first pass of a zone's working day (at or after its local midnight) claims the look with
a unique key, so one replica does it, and stores the candidates every registered kind finds
there; every pass that day plans the candidates who may be messaged at that moment, a join
as cheap as any other kind's. Kudos given after a zone's look count from its next local day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from bot.db import UTCDateTime, insert_for
from bot.models import Person, Workspace
from bot.suggestion_models import SuggestionCandidate, SuggestionLook
from scheduler.kinds import PlanContext
from scheduler.zones import deliverable

# A zone's local day is at most a day behind or ahead of UTC's: older rows are never read.
KEEP = timedelta(days=2)

# Given the pass and a condition on `Person` (in a zone looked at now, joined to the
# pass's clocks on the zone), selects who is due as (team_id, local_day, tz, user_id, subject).
FindFn = Callable[[PlanContext, ColumnElement[bool]], Select[Any]]

_FINDERS: dict[str, FindFn] = {}


def register(kind: str, find: FindFn) -> None:
    _FINDERS[kind] = find


async def look(session: AsyncSession, ctx: PlanContext) -> int:
    """Claim the looks not yet taken today (each workspace's zones on a working day) and
    store what every kind finds there; returns how many this pass took. Once per pass."""
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
    columns = ["team_id", "local_day", "tz", "user_id", "subject", "kind"]
    for team, team_zones in sorted(zones_of.items()):
        # One workspace at a time: `tz IN (…)` is a hashed lookup, a list of pairs is not.
        looked_at = and_(Person.team_id == team, Person.tz.in_(sorted(team_zones)))
        for kind, find in sorted(_FINDERS.items()):
            await session.execute(
                insert_for(session, SuggestionCandidate)
                .from_select(columns, find(ctx, looked_at).add_columns(literal(kind)))
                .on_conflict_do_nothing(
                    index_elements=["team_id", "kind", "local_day", "user_id", "subject"]
                )
            )
    old = ctx.now.date() - KEEP
    for model in (SuggestionCandidate, SuggestionLook):
        await session.execute(delete(model).where(model.local_day < old))
    return len(claimed)


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
