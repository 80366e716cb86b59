"""The table of local clocks every planning statement joins (scheduler/zones.py): on
PostgreSQL one array a column, so a statement that joins it has eight parameters whatever
the number of zones and compiles once a process; on SQLite one-row selects. Both hold each
zone's clock. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from bot.db import Database
from bot.models import Person
from scheduler.zones import CUSTOM_PLANS, LocalClock, clock_table

# Whole hours, half and quarter hours off UTC, either side of the date line, and a name
# that is no zone (planned as UTC).
ZONES = (
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/St_Johns",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Not/A_Zone",
)
NOW = datetime(2026, 12, 31, 23, 45, tzinfo=UTC)  # a new year and quarter in some zones


def as_rows(clocks: list[LocalClock]) -> list[tuple[object, ...]]:
    return sorted(
        (c.tz, c.local_day, c.day, c.minute, c.weekday, c.week, c.week_end, c.quarter)
        for c in clocks
    )


async def test_the_clock_table_holds_each_zones_clock(db: Database) -> None:
    clocks = [LocalClock.at(tz, NOW) for tz in ZONES]
    arrays = db.dialect == "postgresql"  # as the planner builds it on each
    async with db.session() as session:
        for some in (clocks, clocks[:1]):
            table = clock_table(some, arrays=arrays)
            rows = (await session.execute(select(table))).all()
            assert sorted(tuple(row) for row in rows) == as_rows(some)
        if arrays:
            # Each statement planned for the arrays it is given: PostgreSQL counts their
            # rows then, where a plan for any arrays expects 10.
            await session.execute(text(CUSTOM_PLANS))
            mode = await session.execute(text("SELECT current_setting('plan_cache_mode')"))
            assert mode.scalar_one() == "force_custom_plan"
            joined = select(func.count()).select_from(clock_table(clocks, arrays=True))
            assert (await session.execute(joined)).scalar_one() == len(ZONES)


def test_a_statement_joining_the_arrays_compiles_once_for_every_pass() -> None:
    """Its cache key is the same at every instant and for any number of zones, and it
    binds eight parameters."""

    def statement(now: datetime, zones: tuple[str, ...]) -> object:
        clocks = clock_table([LocalClock.at(tz, now) for tz in zones], arrays=True)
        return select(Person.user_id, clocks.c.local_day).join(clocks, clocks.c.tz == Person.tz)

    first = statement(NOW, ZONES)
    later = statement(NOW + timedelta(minutes=1), ZONES[:3])
    first_key, later_key = first._generate_cache_key(), later._generate_cache_key()  # type: ignore[attr-defined]
    assert first_key is not None and later_key is not None
    assert first_key.key == later_key.key
    compiled = first.compile(dialect=postgresql.asyncpg.dialect())  # type: ignore[attr-defined]
    assert len(compiled.params) == 8
