"""Nudge kinds: each turns database state into planned nudges and renders one item.

A kind is a small module with `plan` (set-based SQL: select who and what is due at `now`,
insert nudges with ON CONFLICT DO NOTHING) and `render` (the blocks for one item of a
person's daily message). Kinds register here in the order their items appear in a bundle.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from slack_sdk.models.blocks import Block
from sqlalchemy import Select, and_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import Subquery

from bot.db import UTCDateTime, insert_for
from bot.models import Nudge, Person, Workspace
from scheduler.zones import LocalClock, clock_table, deliverable

ID_BATCH = 5_000  # ids per IN (...): PostgreSQL's protocol allows 32,767 parameters


T = TypeVar("T")


def batches(ids: Sequence[T], size: int = ID_BATCH) -> Iterator[list[T]]:
    """`ids` in slices small enough for one statement's parameters on every backend."""
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


@dataclass(frozen=True)
class PlanContext:
    """What a planner needs: the instant, each zone's local clock, an optional workspace."""

    now: datetime
    clocks: Subquery
    team_id: str | None = None
    # What this pass has done once for several kinds (see scheduler/kinds/looks.py).
    looked: set[str] = field(default_factory=set, compare=False)
    # The latest local day of any zone: nothing later is due, a bound an index can use.
    last_day: date | None = None

    @classmethod
    def at(
        cls,
        now: datetime,
        clocks: Sequence[LocalClock],
        *,
        team_id: str | None = None,
        arrays: bool = False,
    ) -> PlanContext:
        """The context of a pass at `now` over these zones' clocks (`arrays`: see
        `clock_table`)."""
        return cls(
            now=now,
            clocks=clock_table(clocks, arrays=arrays),
            team_id=team_id,
            last_day=max(c.local_day for c in clocks),
        )


@dataclass(frozen=True)
class Rendered:
    """One item of a daily message: a plain-text line for notifications, and its blocks."""

    text: str
    blocks: list[Block]


PlanFn = Callable[[AsyncSession, PlanContext], Awaitable[int]]
RenderFn = Callable[[AsyncSession, Nudge, Person, bool], Awaitable[Rendered | None]]
RenderManyFn = Callable[[AsyncSession, list[Nudge], Person, bool], Awaitable[Rendered | None]]
# Items of many people at once: (item, its person, the language they read), by item id.
RenderGroupFn = Callable[
    [AsyncSession, list[tuple[Nudge, Person, str]], bool], Awaitable[dict[int, Rendered | None]]
]


@dataclass(frozen=True)
class NudgeKind:
    """A kind of nudge. `render_many`, when set, renders all of a person's items of this
    kind in one section (several allies due the same day read as one line). `render_group`,
    when set, renders the items of many people's messages at once (the sender sends them in
    groups), each in its reader's language, with a few reads for all instead of some for
    each. `title` is its short name, marked with `N_`: shown as `_(kind.title)`, in the
    reader's language. `looks` marks a kind planned from the day's look
    (scheduler/kinds/looks.py): those kinds plan together, in the look's transaction."""

    name: str
    order: int
    plan: PlanFn
    render: RenderFn
    title: str = ""
    render_many: RenderManyFn | None = None
    render_group: RenderGroupFn | None = None
    looks: bool = False


_KINDS: dict[str, NudgeKind] = {}


def register(kind: NudgeKind) -> NudgeKind:
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def all_kinds() -> list[NudgeKind]:
    """Every registered kind, in bundle order."""
    _load_builtin()
    return sorted(_KINDS.values(), key=lambda k: k.order)


def get(name: str) -> NudgeKind | None:
    _load_builtin()
    return _KINDS.get(name)


def _load_builtin() -> None:
    for module in (
        "allies",
        "commitments",
        "heads_up",
        "held",
        "intros",
        "tips",
        "welcome",
    ):  # each registers its kinds
        importlib.import_module(f"scheduler.kinds.{module}")


def due_for_owner(
    ctx: PlanContext, *, team_col: Any, user_col: Any, kind: str, subject: Any
) -> Select[Any]:
    """Rows of (team, person, kind, subject, today) for owners who may be messaged now;
    a kind adds its own conditions. The period is the person's local day."""
    c = ctx.clocks
    stmt = (
        select(team_col, user_col, literal(kind), subject, c.c.day, c.c.local_day, c.c.local_day)
        .join(Person, and_(Person.team_id == team_col, Person.user_id == user_col))
        .join(c, c.c.tz == Person.tz)
        .join(Workspace, Workspace.team_id == team_col)
        .where(deliverable(c, ctx.now))
    )
    return stmt.where(team_col == ctx.team_id) if ctx.team_id else stmt


PLANNED_COLUMNS = ["team_id", "user_id", "kind", "subject", "period", "local_day", "expires_day"]


def _insert_planned(session: AsyncSession, rows: Select[Any], now: datetime) -> Any:
    source = rows.add_columns(
        literal("planned").label("status"), literal(now, UTCDateTime()).label("planned_at")
    )
    return (
        insert_for(session, Nudge)
        .from_select([*PLANNED_COLUMNS, "status", "planned_at"], source)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "kind", "subject", "period"])
    )


async def insert_planned(session: AsyncSession, rows: Select[Any], now: datetime) -> int:
    """INSERT … SELECT the due rows as planned nudges; a key planned before is skipped.
    Returns how many it planned (the statement's row count: a pass planning tens of
    thousands brings none of them back).

    `rows` selects (team_id, user_id, kind, subject, period, local_day, expires_day).
    """
    result = await session.execute(_insert_planned(session, rows, now))
    return int(getattr(result, "rowcount", 0) or 0)


async def insert_planned_returning(
    session: AsyncSession, rows: Select[Any], now: datetime
) -> list[tuple[str, date]]:
    """Like `insert_planned`, returning (subject, local_day) of each nudge it planned."""
    stmt = _insert_planned(session, rows, now).returning(Nudge.subject, Nudge.local_day)
    return [(row[0], row[1]) for row in await session.execute(stmt)]
