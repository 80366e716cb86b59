"""An intros round for 5,000 people with 50 past rounds of history: wall time and the share
of pairs that are new.

Two measurements:

1. **Pairing alone** (`bot.pairing.pair_people`, pure Python): 5,000 people (``--people``)
   whose 50 past rounds (``--rounds``) were paired by the same function round after round,
   plus contact between 20,000 random pairs; the median of ``--repeat`` runs with different
   seeds. Then the same with every rule of `bot.pairing.Fit` on (`fit_for`: seven zones,
   four working windows, 50 teams, 10,000 close pairs, one in five in person at one of
   five offices), in groups of 2, 3 and 4, with how many groups still misfit.
2. **The round in the database**, on SQLite and PostgreSQL: the same people and history (with
   their working hours, teams, places and close pairs: `profiles_for`, `fit_for`)
   seeded with bulk Core INSERTs (2,500 matches and 5,000 members per past round, 10,000
   kudos for contact), then `rounds.build_pool` and `rounds.match_round` on a claimed round,
   as the scheduler runs them after fetching the channel's members: load members, activity,
   full pair history, contact and never lists, pair, and store 2,500 matches, their members,
   5,000 group posts and the notices. The round is then undone and matched again,
   ``--repeat`` times. Slack's side (users.info for stale profiles, conversations.open and
   chat.postMessage per group) is not in these figures: it is bound by Slack's rate limits.

    .venv/bin/python benchmarks/intros.py [--people 5000] [--rounds 50] [--repeat 3]
        [--backends sqlite,postgresql] [--pg-admin postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tests` is not installed: take it from this checkout

from bot import hours  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.fit_models import IntroProfile  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.models import (  # noqa: E402
    IntroMatch,
    IntroMatchMember,
    IntroMember,
    IntroPair,
    IntroRound,
    Kudos,
    Nudge,
    OutboxMessage,
    Person,
    Workspace,
)
from bot.pairing import Fit, Pair, pair_of, pair_people  # noqa: E402
from bot.services.intros import rounds as intro_rounds  # noqa: E402
from bot.services.intros import rules as intro_rules  # noqa: E402
from tests.databases import scratch_postgres  # noqa: E402

PG_ADMIN_DSN = os.environ.get("ALLYBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TEAM = "TBENCHINTRO"
NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def past_rounds(people: list[str], rounds: int) -> list[list[tuple[str, ...]]]:
    """Each past round paired by allybot itself, knowing the rounds before it."""
    history: Counter[Pair] = Counter()
    out = []
    for r in range(rounds):
        result = pair_people(people, history=history, seed=10_000 + r)
        history.update(result.pairs())
        out.append(result.groups)
    return out


def share_new(groups: list[tuple[str, ...]], history: Counter[Pair]) -> float:
    pairs = [pair_of(a, b) for g in groups for a, b in itertools.combinations(g, 2)]
    return sum(1 for p in pairs if not history.get(p)) / len(pairs)


def bench_pure(people: list[str], past: list[list[tuple[str, ...]]], repeat: int) -> None:
    history: Counter[Pair] = Counter()
    for groups in past:
        history.update(pair_of(a, b) for g in groups for a, b in itertools.combinations(g, 2))
    rng = random.Random(7)
    contact = Counter(pair_of(*rng.sample(people, 2)) for _ in range(20_000))
    times, shares = [], []
    for seed in range(repeat):
        started = time.perf_counter()
        result = pair_people(people, history=history, contact=contact, seed=seed)
        times.append(time.perf_counter() - started)
        shares.append(share_new(result.groups, history))
        assert not result.left_out
    print(
        f"pairing alone: {len(people)} people, {len(past)} past rounds: median "
        f"{statistics.median(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}), "
        f"new pairs {min(shares):.1%}"
    )


ZONES = (
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
)
WINDOWS = ((9 * 60, 17 * 60), (8 * 60, 16 * 60), (10 * 60, 18 * 60), (7 * 60, 15 * 60))


def profiles_for(
    people: list[str], *, seed: int = 11
) -> dict[str, tuple[str, tuple[int, int], str, str | None]]:
    """Each person's zone (seven), working window (four), team (50) and, for one in five,
    the place they meet in person at (five)."""
    rng = random.Random(seed)
    return {
        p: (
            rng.choice(ZONES),
            rng.choice(WINDOWS),
            f"team{rng.randrange(50)}",
            f"office{rng.randrange(5)}" if rng.random() < 0.2 else None,
        )
        for p in people
    }


def fit_for(people: list[str], *, seed: int = 11) -> Fit:
    """`profiles_for` as the pairing sees it, and 10,000 pairs sharing many channels."""
    shapes = {(z, w): hours.working_hours(z, w[0], w[1], since=NOW) for z in ZONES for w in WINDOWS}
    profiles = profiles_for(people, seed=seed)
    rng = random.Random(seed + 1)
    return Fit(
        hours={p: shapes[(z, w)] for p, (z, w, _, _) in profiles.items()},
        teams={p: team for p, (_, _, team, _) in profiles.items()},
        close=frozenset(pair_of(*rng.sample(people, 2)) for _ in range(10_000)),
        places={p: place for p, (_, _, _, place) in profiles.items() if place},
    )


def misfits(groups: list[tuple[str, ...]], fit: Fit) -> str:
    """How many groups share under an hour, hold teammates or close pairs, or mix places."""
    short = apart = mixed = 0
    for g in groups:
        shared = hours.common_all(fit.hours.get(p) for p in g)
        short += shared is not None and hours.longest(shared) < hours.GOOD
        pairs = list(itertools.combinations(g, 2))
        apart += any(
            fit.teams.get(a) == fit.teams.get(b) or pair_of(a, b) in fit.close for a, b in pairs
        )
        mixed += len({fit.places.get(p) for p in g}) > 1
    return (
        f"groups: {len(groups)}, under an hour in common {short}, with teammates or close "
        f"pairs {apart}, mixing places or modes {mixed}"
    )


def bench_fit(people: list[str], past: list[list[tuple[str, ...]]], repeat: int) -> None:
    """Pairing alone with every `Fit` rule on, for groups of 2, 3 and 4."""
    history: Counter[Pair] = Counter()
    for groups in past:
        history.update(pair_of(a, b) for g in groups for a, b in itertools.combinations(g, 2))
    rng = random.Random(7)
    contact = Counter(pair_of(*rng.sample(people, 2)) for _ in range(20_000))
    fit = fit_for(people)
    for size in (2, 3, 4):
        times, shares = [], []
        for seed in range(repeat):
            started = time.perf_counter()
            result = pair_people(
                people, group_size=size, history=history, contact=contact, seed=seed, fit=fit
            )
            times.append(time.perf_counter() - started)
            shares.append(share_new(result.groups, history))
        print(
            f"pairing with working hours, teams, shared channels and places, groups of {size}: "
            f"{len(people)} people, {len(past)} past rounds: median "
            f"{statistics.median(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}), "
            f"new pairs {min(shares):.1%}, left out {len(result.left_out)}; "
            f"{misfits(result.groups, fit)}"
        )


async def seed(db: Database, people: list[str], past: list[list[tuple[str, ...]]]) -> Counter[Pair]:
    """People, members, kudos and the past rounds; returns the pair history."""
    history: Counter[Pair] = Counter()
    last_round: dict[Pair, int] = {}
    long_ago = NOW - timedelta(days=400)
    async with db.session() as session:
        session.add(
            Workspace(
                team_id=TEAM,
                custom_tags=[],
                intros_channel_id="CINTROS",
                intros_team_field="Team",
                intros_shared_channels=3,
            )
        )
        await session.flush()
        profiles = profiles_for(people)
        await session.execute(
            insert(Person),
            [
                {
                    "team_id": TEAM,
                    "user_id": u,
                    "tz": profiles[u][0],
                    "window_start": profiles[u][1][0],
                    "window_end": profiles[u][1][1],
                    "engaged_at": NOW - timedelta(days=1),
                    "profile_refreshed_at": NOW,
                    "created_at": long_ago,
                }
                for u in people
            ],
        )
        await session.execute(
            insert(IntroProfile),
            [
                {"team_id": TEAM, "user_id": u, "team_value": profiles[u][2], "read_at": NOW}
                for u in people
            ],
        )
        await session.execute(
            insert(IntroMember),
            [
                {
                    "team_id": TEAM,
                    "user_id": u,
                    "status": "joined",
                    "meet_mode": "in_person" if profiles[u][3] else "remote",
                    "location": profiles[u][3],
                    "joined_at": long_ago,
                    "last_active_at": NOW - timedelta(days=2),
                    "updated_at": NOW,
                }
                for u in people
            ],
        )
        rng = random.Random(3)
        await session.execute(
            insert(Kudos),
            [
                {
                    "team_id": TEAM,
                    "giver_id": a,
                    "receiver_id": b,
                    "text": "thanks",
                    "tags": [],
                    "source": "command",
                    "source_key": f"k{i}",
                    "created_at": NOW - timedelta(days=rng.randint(1, 170)),
                }
                for i, (a, b) in enumerate(rng.sample(people, 2) for _ in range(10_000))
            ],
        )
    for r, groups in enumerate(past):
        async with db.session() as session:
            when = NOW - timedelta(days=14 * (len(past) - r))
            round_id = (
                await session.execute(
                    insert(IntroRound)
                    .values(
                        team_id=TEAM,
                        period=f"P{r:04d}",
                        channel_id="CINTROS",
                        group_size=2,
                        seed=r,
                        status="matched",
                        attempts=1,
                        planned_at=when,
                        matched_at=when,
                        pool_size=len(people),
                        matched=len(people),
                        left_out=0,
                    )
                    .returning(IntroRound.id)
                )
            ).scalar_one()
            ids = list(
                await session.scalars(
                    insert(IntroMatch).returning(IntroMatch.id, sort_by_parameter_order=True),
                    [
                        {
                            "round_id": round_id,
                            "team_id": TEAM,
                            "size": len(g),
                            "starter_id": "s01",
                            "created_at": when,
                        }
                        for g in groups
                    ],
                )
            )
            await session.execute(
                insert(IntroMatchMember),
                [
                    {"match_id": mid, "round_id": round_id, "team_id": TEAM, "user_id": u}
                    for mid, g in zip(ids, groups, strict=True)
                    for u in g
                ],
            )
            history.update(pair_of(a, b) for g in groups for a, b in itertools.combinations(g, 2))
            last_round.update(
                {pair_of(a, b): round_id for g in groups for a, b in itertools.combinations(g, 2)}
            )
    async with db.session() as session:
        await session.execute(
            insert(IntroPair),
            [
                {
                    "team_id": TEAM,
                    "user_a": min(p),
                    "user_b": max(p),
                    "times": n,
                    "last_round_id": last_round[p],
                }
                for p, n in history.items()
            ],
        )
    return history


async def bench_round(
    db: Database, people: list[str], history: Counter[Pair], repeat: int
) -> list[float]:
    async with db.session() as session:
        round_id = (
            await session.execute(
                insert(IntroRound)
                .values(
                    team_id=TEAM,
                    period="2026-W49",
                    channel_id="CINTROS",
                    group_size=2,
                    seed=intro_rules.round_seed(TEAM, "2026-W49"),
                    status="pending",
                    attempts=0,
                    planned_at=NOW,
                    pool_size=0,
                    matched=0,
                    left_out=0,
                )
                .returning(IntroRound.id)
            )
        ).scalar_one()
    times, cpu, shares = [], [], []
    fit = fit_for(people)  # its `close` stands in for the channels read from Slack
    for _ in range(repeat):
        token = str(uuid.uuid4())
        async with db.session() as session:
            await session.execute(
                update(IntroRound)
                .where(IntroRound.id == round_id)
                .values(status="pending", claim_token=token)
            )
        started, started_cpu = time.perf_counter(), time.process_time()
        async with db.session() as session:
            workspace = await session.get(Workspace, TEAM)
            assert workspace is not None
            pool = await intro_rounds.build_pool(
                session, workspace=workspace, channel_members=people, bot_user_id=None, now=NOW
            )
            result = await intro_rounds.match_round(
                session, round_id=round_id, token=token, pool=pool, now=NOW, close=fit.close
            )
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert result is not None and len(pool.people) == len(people)
        shares.append(share_new(result.groups, history))
        async with db.session() as session:  # undo the round, to match it again
            await session.execute(delete(IntroMatch).where(IntroMatch.round_id == round_id))
            await session.execute(delete(IntroPair).where(IntroPair.last_round_id == round_id))
            await session.execute(delete(Nudge).where(Nudge.team_id == TEAM))
            await session.execute(delete(OutboxMessage).where(OutboxMessage.team_id == TEAM))
    assert result is not None
    print(
        f"    new pairs {min(shares):.1%}; this process's CPU: median "
        f"{statistics.median(cpu):.2f} s; left out {len(result.left_out)}; "
        f"{misfits(result.groups, fit)}"
    )
    return times


@asynccontextmanager
async def database(backend: str, pg_admin: str) -> AsyncIterator[Database]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/intros.db")
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
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-admin", default=PG_ADMIN_DSN)
    args = parser.parse_args()
    people = [f"U{i:07d}" for i in range(args.people)]
    print(f"load average {os.getloadavg()[0]:.2f}; building {args.rounds} past rounds…")
    started = time.perf_counter()
    past = past_rounds(people, args.rounds)
    print(f"  ({args.rounds} rounds paired in {time.perf_counter() - started:.1f} s)")
    bench_pure(people, past, args.repeat)
    bench_fit(people, past, args.repeat)
    for backend in filter(None, args.backends.split(",")):
        async with database(backend, args.pg_admin) as db:
            await upgrade(db)
            history = await seed(db, people, past)
            print(f"{backend}: round in the database")
            times = await bench_round(db, people, history, args.repeat)
            print(
                f"    median {statistics.median(times):.2f} s "
                f"(runs {', '.join(f'{t:.2f}' for t in times)})"
            )


if __name__ == "__main__":
    asyncio.run(main())
