"""The statements every kudos runs (bot.services.kudos.give), built once per backend: the
read behind its rules, and each receiver's row written, on PostgreSQL with the receiver's DM
admitted in the same statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Date,
    Select,
    String,
    Table,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.models import Ally, Kudos, Person
from bot.on_driver import DIALECTS, OnDriver, among
from bot.services import dm_budget
from bot.trust_models import PersonDM

# The key a kudos' DM is admitted under (dm_budget), before the delivery's own part.
DM_KEY = "kudos:{id}"

_TABLE = cast(Table, Kudos.__table__)
COLUMNS = [column.key for column in _TABLE.c]
# The columns `kudos.give` gives a row; the others start empty (or numbered).
GIVEN_COLUMNS = (
    "team_id",
    "giver_id",
    "receiver_id",
    "channel_id",
    "text",
    "tags",
    "source",
    "source_key",
    "private_by",
    "created_at",
)


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
