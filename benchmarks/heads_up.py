"""How long the scheduler takes to plan the heads-ups before an intros round, and to leave
out who skipped it, at scale.

One workspace with ``--people`` members of intros (default 20,000) spread over 200 real
IANA zones, seeded with bulk Core INSERTs, in opt-in mode (all joined) and in opt-out mode
(no one joined; all placed in ``--rounds`` past rounds, default 20, pairs). At the busiest
UTC quarter-hour of the heads-up day (most zones inside the default 09:00-17:00 window):

1. ``scheduler.kinds.heads_up.plan`` (the heads-up kind's planner, as every pass runs it);
   then the same plan again at the same instant, which must plan nothing;
2. with a tenth of the members answering *Skip this round*, ``rounds.build_pool`` for the
   round (the pool without them), as the scheduler runs it after fetching the channel.

Each on SQLite and PostgreSQL, ``--repeat`` times (the planned nudges deleted between).

    .venv/bin/python benchmarks/heads_up.py [--people 20000] [--rounds 20] [--repeat 3]
        [--backends sqlite,postgresql] [--pg-admin postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import delete, insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tests` is not installed: take it from this checkout

from bot.db import Database  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.models import (  # noqa: E402
    IntroMatch,
    IntroMatchMember,
    IntroMember,
    IntroRound,
    IntroSkip,
    Nudge,
    Person,
    Workspace,
)
from bot.services.intros import rounds as intro_rounds  # noqa: E402
from bot.services.intros import skips  # noqa: E402
from scheduler.kinds import PlanContext  # noqa: E402
from scheduler.kinds import heads_up as heads_up_kind  # noqa: E402
from scheduler.zones import LocalClock, clock_table  # noqa: E402
from tests.databases import scratch_postgres  # noqa: E402

PG_ADMIN_DSN = os.environ.get("ALLYBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TEAM = "TBENCHHEADS"
ROUND_DAY = date(2026, 12, 14)  # a Monday round (every 2 weeks from 2024-01-01)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def zones(count: int = 200) -> list[str]:
    """Real zones, spread over the world's offsets."""
    names = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
    return names[:: max(1, len(names) // count)][:count]


def busiest(tzs: list[str], day: date) -> datetime:
    """The UTC quarter-hour of `day` at which most zones are inside 09:00-17:00 locally."""

    def inside(at: datetime) -> int:
        return sum(9 <= at.astimezone(ZoneInfo(tz)).hour < 17 for tz in tzs)

    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return max((start + timedelta(minutes=15 * q) for q in range(96)), key=inside)


async def seed(db: Database, people: list[str], tzs: list[str], mode: str, rounds: int) -> None:
    async with db.session() as session:
        session.add(
            Workspace(team_id=TEAM, custom_tags=[], intros_channel_id="CINTROS", intros_mode=mode)
        )
        await session.flush()
        await session.execute(
            insert(Person),
            [
                {
                    "team_id": TEAM,
                    "user_id": u,
                    "tz": tzs[i % len(tzs)],
                    "engaged_at": None,  # never seen acting: not "inactive" for the pool
                    "profile_refreshed_at": LONG_AGO,
                    "created_at": LONG_AGO,
                }
                for i, u in enumerate(people)
            ],
        )
        if mode == "opt_in":
            await session.execute(
                insert(IntroMember),
                [
                    {"team_id": TEAM, "user_id": u, "status": "joined", "updated_at": LONG_AGO}
                    for u in people
                ],
            )
    for r in range(rounds if mode == "opt_out" else 0):
        async with db.session() as session:
            round_id = (
                await session.execute(
                    insert(IntroRound)
                    .values(
                        team_id=TEAM,
                        period=f"2026-W{r + 1:02d}",
                        channel_id="CINTROS",
                        seed=r,
                        status="matched",
                    )
                    .returning(IntroRound.id)
                )
            ).scalar_one()
            pairs = [people[i : i + 2] for i in range(0, len(people), 2)]
            ids = list(
                await session.scalars(
                    insert(IntroMatch).returning(IntroMatch.id, sort_by_parameter_order=True),
                    [
                        {"round_id": round_id, "team_id": TEAM, "size": 2, "starter_id": "s"}
                        for _ in pairs
                    ],
                )
            )
            await session.execute(
                insert(IntroMatchMember),
                [
                    {"match_id": m, "round_id": round_id, "team_id": TEAM, "user_id": u}
                    for m, pair in zip(ids, pairs, strict=True)
                    for u in pair
                ],
            )


async def bench(db: Database, people: list[str], tzs: list[str], repeat: int) -> None:
    now = busiest(tzs, skips.heads_up_day(ROUND_DAY))
    async with db.session() as session:
        workspace = await session.get(Workspace, TEAM)
        assert workspace is not None and skips.is_round_day(workspace, ROUND_DAY)
    ctx = PlanContext(now=now, clocks=clock_table([LocalClock.at(tz, now) for tz in tzs]))
    plans: list[float] = []
    agains: list[float] = []
    planned = 0
    for _ in range(repeat):
        async with db.session() as session:
            await session.execute(delete(Nudge).where(Nudge.team_id == TEAM))
        async with db.session() as session:
            started = time.perf_counter()
            planned = await heads_up_kind.plan(session, ctx)
            plans.append(time.perf_counter() - started)
        async with db.session() as session:
            started = time.perf_counter()
            again = await heads_up_kind.plan(session, ctx)
            agains.append(time.perf_counter() - started)
        assert again == 0, f"a second plan planned {again}"
    print(
        f"    heads-up plan: {planned} planned, median {statistics.median(plans):.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in plans)}); the same again plans 0 in "
        f"{statistics.median(agains):.2f} s"
    )
    async with db.session() as session:
        await session.execute(
            insert(IntroSkip),
            [
                {
                    "team_id": TEAM,
                    "user_id": u,
                    "round_day": ROUND_DAY,
                    "choice": skips.SKIP,
                    "chosen_at": now,
                }
                for u in people[::10]
            ],
        )
    at_round = datetime(2026, 12, 14, 9, 30, tzinfo=UTC)
    pools: list[float] = []
    size = 0
    for _ in range(repeat):
        async with db.session() as session:
            workspace = await session.get(Workspace, TEAM)
            assert workspace is not None
            started = time.perf_counter()
            pool = await intro_rounds.build_pool(
                session, workspace=workspace, channel_members=people, bot_user_id=None, now=at_round
            )
            pools.append(time.perf_counter() - started)
            size = len(pool.people)
    assert size == len(people) - len(people[::10]), size
    assert planned > len(people) // 3, planned
    print(
        f"    build_pool with {len(people[::10])} skipping: pool {size}, "
        f"median {statistics.median(pools):.2f} s (runs {', '.join(f'{t:.2f}' for t in pools)})"
    )


@asynccontextmanager
async def database(backend: str, pg_admin: str) -> AsyncIterator[Database]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/heads_up.db")
            try:
                yield db
            finally:
                await db.dispose()
        return
    async with scratch_postgres(pg_admin, prefix="allybot_bench") as url:
        db = Database(url)
        try:
            yield db
        finally:
            await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-admin", default=PG_ADMIN_DSN)
    args = parser.parse_args()
    people = [f"U{i:07d}" for i in range(args.people)]
    tzs = zones()
    print(f"load average {os.getloadavg()[0]:.2f}; {len(people)} people in {len(tzs)} zones")
    for backend in filter(None, args.backends.split(",")):
        for mode in ("opt_in", "opt_out"):
            async with database(backend, args.pg_admin) as db:
                await upgrade(db)
                await seed(db, people, tzs, mode, args.rounds)
                print(f"{backend}, {mode}:")
                await bench(db, people, tzs, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
