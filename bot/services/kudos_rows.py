"""The statements every kudos runs (bot.services.kudos.give), built once per backend: the
read behind its rules, and each receiver's row written, on PostgreSQL with the receiver's DM
admitted in the same statement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Boolean,
    Date,
    DateTime,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.models import Ally, Kudos, Person
from bot.on_driver import DIALECTS, OnDriver, among
from bot.services import dm_budget, inbound
from bot.trust_models import PersonDM

# The key a kudos' DM is admitted under (dm_budget), before the delivery's own part.
DM_KEY = "kudos:{id}"

_TABLE = cast(Table, Kudos.__table__)
COLUMNS = [column.key for column in _TABLE.c]
# The columns `kudos.give` gives a row: all but its id and what its delivery marks after.
_MARKED_AFTER = ("id", "post_channel_id", "post_ts", "announced_at", "notified_at")
GIVEN_COLUMNS = tuple(name for name in COLUMNS if name not in _MARKED_AFTER)


def _insert_statement(insert: Any) -> OnDriver:
    """One receiver's row; RETURNING nothing when another run stored it first."""
    return OnDriver(
        insert(_TABLE)
        .on_conflict_do_nothing(index_elements=["team_id", "source_key", "receiver_id"])
        .returning(*_TABLE.c)
    )


def _telling_statement() -> OnDriver:
    """PostgreSQL: one receiver's row and, when it is stored, the DM telling them admitted
    (dm_budget.decision, under DM_KEY then `dm_key_suffix`, in their local day `dm_day`):
    one statement and one trip where there were two. RETURNING the row and the DM's outcome
    (NULL when its key was decided before); nothing when another run stored the row first."""
    row = (
        pg_insert(_TABLE)
        .values({name: bindparam(name, type_=_TABLE.c[name].type) for name in GIVEN_COLUMNS})
        .on_conflict_do_nothing(index_elements=["team_id", "source_key", "receiver_id"])
        .returning(*_TABLE.c)
        .cte("given")
    )
    prefix, suffix = DM_KEY.split("{id}")
    told = dm_budget.decision(
        team=row.c.team_id,
        sender=row.c.giver_id,
        recipient=row.c.receiver_id,
        kind=literal("kudos", String()),
        key=literal(prefix, String())
        + sql_cast(row.c.id, String())
        + literal(suffix, String())
        + bindparam("dm_key_suffix", type_=String()),
        day=bindparam("dm_day", type_=Date()),
        created_at=row.c.created_at,
    ).select_from(row)
    dms = cast(Table, PersonDM.__table__)
    dm = (
        pg_insert(dms)
        .from_select(list(dm_budget.COLUMNS), told)
        .returning(dms.c.outcome)
        .cte("told")
    )
    return OnDriver(select(*row.c, select(dm.c.outcome).scalar_subquery()))


# Built once (per backend): every kudos runs these.
INSERT = {"postgresql": _insert_statement(pg_insert), "sqlite": _insert_statement(sqlite_insert)}
INSERT_TELLING = _telling_statement()


def _given_statement(dialect: str) -> Select[bool, int, str, datetime, str]:
    """The giver's recent kudos (and this source's), each row also saying whether the giver
    and a receiver are allies; one row of NULLs with that answer when there are none."""
    team: BindParameter[str] = bindparam("team_id")
    giver: BindParameter[str] = bindparam("giver_id")
    # Two look-ups, one per direction, each on its own index: one OR under the workspace is
    # read by SQLite as every ally pair of the workspace.
    allied = or_(
        select(Ally.id)
        .where(
            Ally.team_id == team, Ally.user_id == giver, among(Ally.ally_id, "receivers", dialect)
        )
        .exists(),
        select(Ally.id)
        .where(
            Ally.team_id == team, Ally.ally_id == giver, among(Ally.user_id, "receivers", dialect)
        )
        .exists(),
    )
    # How many of the receivers are still stored (an erase deletes the person).
    present = (
        select(func.count())
        .where(Person.team_id == team, among(Person.user_id, "receivers", dialect))
        .scalar_subquery()
    )
    one = select(literal(1).label("one")).subquery("one")
    # Two index look-ups, not one OR: SQLite reads an OR inside the join's condition with the
    # team's prefix of an index alone, every kudos of the workspace (0.4 s a kudos with a
    # million of them; benchmarks/README.md, flat with history). A row found by both comes
    # twice, harmlessly: a source found means a retry, answered before anything is counted.
    columns = (Kudos.receiver_id, Kudos.created_at, Kudos.source_key)
    recent = union_all(
        select(*columns).where(
            Kudos.team_id == team,
            Kudos.giver_id == giver,
            Kudos.created_at >= bindparam("since"),
        ),
        select(*columns).where(Kudos.team_id == team, Kudos.source_key == bindparam("source_key")),
    ).subquery("recent")
    return (
        select(allied, present, recent.c.receiver_id, recent.c.created_at, recent.c.source_key)
        .select_from(one)
        .outerjoin(recent, true())
    )


GIVEN = {dialect: OnDriver(_given_statement(dialect)) for dialect in DIALECTS}


@dataclass
class Marks:
    """What one delivery did for its kudos rows (the post went out, the receiver was told),
    saved with the delivery's outcome, done or failed, so a retry repeats neither (and one
    after a crash first looks in Slack for what it finds unmarked). One UPDATE per row
    whatever the number of steps."""

    announced: dict[int, tuple[str | None, str | None, datetime]] = field(default_factory=dict)
    notified: dict[int, datetime] = field(default_factory=dict)

    def announce(
        self, rows: Sequence[Kudos], *, channel_id: str | None, ts: str | None, now: datetime
    ) -> None:
        for row in rows:
            self.announced[row.id] = (channel_id, ts, now)

    def notify(self, row: Kudos, *, now: datetime) -> None:
        self.notified[row.id] = now

    @classmethod
    def combined(cls, many: Sequence[Marks]) -> Marks:
        """Many deliveries' marks as one (bot.outcomes commits them together)."""
        merged = cls()
        for marks in many:
            merged.announced.update(marks.announced)
            merged.notified.update(marks.notified)
        return merged

    async def __call__(self, session: AsyncSession) -> None:
        await self.save(session)

    async def save(self, session: AsyncSession) -> None:
        both: list[dict[str, Any]] = []
        posted: list[dict[str, Any]] = []
        told: list[dict[str, Any]] = []
        for kid in dict.fromkeys([*self.announced, *self.notified]):
            params: dict[str, Any] = {"kid": kid}
            if kid in self.announced:
                params["pc"], params["pt"], params["aa"] = self.announced[kid]
            if kid in self.notified:
                params["na"] = self.notified[kid]
            (both if len(params) == 5 else posted if "aa" in params else told).append(params)
        for statement, rows in ((_MARK_BOTH, both), (_MARK_POSTED, posted), (_MARK_TOLD, told)):
            if rows:
                await statement.many(session, rows)

    @classmethod
    def fits(cls, steps: Sequence[Sequence[Marks]]) -> bool:
        """Whether `finish_with` can write these deliveries' marks: not when two of them mark
        one kudos row (a kudos reaction and the message shortcut on the same message share
        its source). Its UPDATE writes a row once, from one of them; the transaction's path
        merges them, keeping the post's mark and the receiver's."""
        seen: set[int] = set()
        for marks in steps:
            mine = cls.combined(marks)
            kids = {*mine.announced, *mine.notified}
            if kids & seen:
                return False
            seen |= kids
        return True

    @classmethod
    async def finish_with(
        cls,
        conn: AsyncConnection,
        ending: Sequence[tuple[int, int, Sequence[Marks]]],
        now: datetime,
    ) -> set[tuple[int, int]]:
        """PostgreSQL: the deliveries (id, claim version) marked done and their kudos rows
        marked, in one statement on a connection in autocommit (atomic on its own: no BEGIN
        or COMMIT, one trip); only the marks of a delivery still held are written (one
        taken over meanwhile is its new owner's). Returns the pairs marked done."""
        rows: list[tuple[Any, ...]] = []
        for inbound_id, version, steps in ending:
            mine = cls.combined(steps)
            for kid in dict.fromkeys([*mine.announced, *mine.notified]):
                channel, ts, at = mine.announced.get(kid, (None, None, None))
                posted, told = kid in mine.announced, kid in mine.notified
                rows.append(
                    (
                        kid,
                        inbound_id,
                        version,
                        posted,
                        channel,
                        ts,
                        at,
                        told,
                        mine.notified.get(kid),
                    )
                )
        columns = {name: [row[i] for row in rows] for i, name in enumerate(_MARKING_COLUMNS)}
        pairs = [(inbound_id, version) for inbound_id, version, _ in ending]
        params = {**inbound.held_params(conn, pairs), "now": now, **columns}
        return {(i, v) for i, v in await _FINISH_MARKING.alone(conn, params)}


def _mark(**values: Any) -> OnDriver:
    return OnDriver(update(_TABLE).where(_TABLE.c.id == bindparam("kid")).values(**values))


_POSTED: dict[str, Any] = {"post_channel_id": bindparam("pc"), "post_ts": bindparam("pt")}
_MARK_BOTH = _mark(**_POSTED, announced_at=bindparam("aa"), notified_at=bindparam("na"))
_MARK_POSTED = _mark(**_POSTED, announced_at=bindparam("aa"))
_MARK_TOLD = _mark(notified_at=bindparam("na"))

# A delivery's marks as arrays, one element per kudos row: whose (its delivery, at the claim
# version), whether it was posted (where, when) and whether its receiver was told (when).
_MARKING_COLUMNS = ("kid", "owner", "version", "posted", "pc", "pt", "aa", "told", "na")


def _finish_marking_statement() -> OnDriver:
    """`Marks.finish_with`: the deliveries marked done (inbound.finishing) and, joined to
    those it marked, their kudos rows, in one statement."""
    types: dict[str, Any] = {
        "kid": Integer(),
        "owner": Integer(),
        "version": Integer(),
        "posted": Boolean(),
        "pc": String(),
        "pt": String(),
        "aa": DateTime(timezone=True),
        "told": Boolean(),
        "na": DateTime(timezone=True),
    }
    marks = (
        func.unnest(*(bindparam(n, type_=postgresql.ARRAY(types[n])) for n in _MARKING_COLUMNS))
        .table_valued(*_MARKING_COLUMNS)
        .render_derived(name="marks")
    )
    done = inbound.finishing("postgresql").cte("done")
    c, m = _TABLE.c, marks.c
    marking = (
        update(_TABLE)
        .where(c.id == m.kid, m.owner == done.c.id, m.version == done.c.attempts)
        .values(
            post_channel_id=case((m.posted, m.pc), else_=c.post_channel_id),
            post_ts=case((m.posted, m.pt), else_=c.post_ts),
            announced_at=case((m.posted, m.aa), else_=c.announced_at),
            notified_at=case((m.told, m.na), else_=c.notified_at),
        )
        .cte("marked")
    )
    return OnDriver(select(done.c.id, done.c.attempts).add_cte(marking))


_FINISH_MARKING = _finish_marking_statement()
