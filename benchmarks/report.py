"""How long `allybot report --html` takes, and how much memory it needs, on a large workspace.

The issue's target: a workspace of 20,000 people with 1,000,000 kudos and 200,000
commitments, on PostgreSQL, in under 10 s and under 1 GB.

The workspace is loaded with COPY (asyncpg ``copy_records_to_table``) into a scratch
PostgreSQL database migrated by allybot's own migrations, then ANALYZEd:

- 20,000 people (``--people``) in 200 teams, each team with its own channel.
- 1,000,000 kudos (``--kudos``) over the last 365 days: givers uniform, receivers skewed
  (weight 1/rank^0.8, so recognition is concentrated as in real workspaces), 80% given in
  the giver's team channel and the rest in another team's; plus 10 planted closed groups of
  4 people who recognise only each other, which the report must find.
- 200,000 commitments (``--commitments``) over the same year: 70% done (80% of those on
  time), 10% dropped, 5% cancelled, 15% open; and 50,000 check-ins.

Then ``allybot report --html FILE --team T`` runs ``--repeat`` times as a subprocess; wall
time is measured around it and peak memory is ``ru_maxrss`` of the children
(``resource.getrusage(RUSAGE_CHILDREN)``). Its progress lines on stderr give the time at
which each stage started. Finally the report's queries are captured in this process and
each is run under ``EXPLAIN (ANALYZE, BUFFERS)``, printed slowest first.

    .venv/bin/python benchmarks/report.py [--people 20000] [--kudos 1000000]
        [--commitments 200000] [--repeat 3] [--pg-admin postgresql://postgres@127.0.0.1:5432/test]
        [--json figures.json] [--database-url URL (a database loaded before: load nothing)]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tests` is not installed: take it from this checkout

from bot.db import Database  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.services import report  # noqa: E402
from tests.databases import scratch_postgres  # noqa: E402

PG_ADMIN_DSN = os.environ.get("ALLYBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TEAM = "TBENCH0001"
TEAMS = 200
CLIQUES, CLIQUE_SIZE = 10, 4
TARGET_SECONDS, TARGET_MB = 10.0, 1024.0


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def load(url: str, args: argparse.Namespace, now: datetime) -> dict[str, float]:
    """Bulk-load the workspace with COPY; returns seconds per table."""
    rng = random.Random(20261126)
    people = [f"U{i:08d}" for i in range(args.people)]
    planted = people[-CLIQUES * CLIQUE_SIZE :]
    open_people = people[: -CLIQUES * CLIQUE_SIZE]
    weights = list(accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(open_people))))
    receivers_by_rank = open_people[:]
    rng.shuffle(receivers_by_rank)
    team_of = {p: i % TEAMS for i, p in enumerate(people)}
    position = {p: i for i, p in enumerate(open_people)}
    year = 365 * 86400
    timings: dict[str, float] = {}
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        started = time.perf_counter()
        await conn.execute(
            "INSERT INTO workspaces (team_id, kudos_emoji, daily_kudos_limit, custom_tags, "
            "installed_at) VALUES ($1, 'raised_hands', 5, '[]', $2)",
            TEAM,
            now,
        )
        await conn.copy_records_to_table(
            "people",
            columns=[
                "team_id",
                "user_id",
                "name",
                "tz",
                "is_bot",
                "deleted",
                "is_admin",
                "is_owner",
                "tips_cadence",
                "opted_out",
                "created_at",
            ],
            records=[
                (TEAM, p, f"person {i}", "UTC", False, False, False, False, "weekly", False, now)
                for i, p in enumerate(people)
            ],
        )
        timings["people"] = time.perf_counter() - started

        started = time.perf_counter()
        givers = rng.choices(open_people, k=args.kudos)
        receivers = rng.choices(receivers_by_rank, cum_weights=weights, k=args.kudos)
        rows = []
        for n, (giver, receiver) in enumerate(zip(givers, receivers, strict=True)):
            if giver == receiver:
                receiver = open_people[(position[giver] + 1) % len(open_people)]
            team = team_of[giver] if rng.random() < 0.8 else rng.randrange(TEAMS)
            at = now - timedelta(seconds=rng.randrange(year))
            rows.append(
                (TEAM, giver, receiver, f"C{team:05d}", "thanks", "[]", "command", f"k{n}", at)
            )
        for c in range(CLIQUES):
            group = planted[c * CLIQUE_SIZE : (c + 1) * CLIQUE_SIZE]
            for a in group:
                for b in group:
                    if a != b:
                        at = now - timedelta(days=rng.randrange(1, 80))
                        rows.append(
                            (TEAM, a, b, "C00000", "thanks", "[]", "command", f"q{a}{b}", at)
                        )
        await conn.copy_records_to_table(
            "kudos",
            columns=[
                "team_id",
                "giver_id",
                "receiver_id",
                "channel_id",
                "text",
                "tags",
                "source",
                "source_key",
                "created_at",
            ],
            records=rows,
        )
        timings["kudos"] = time.perf_counter() - started
        del rows, givers, receivers

        started = time.perf_counter()
        commitments = []
        for n in range(args.commitments):
            created = now - timedelta(seconds=rng.randrange(year))
            due = created + timedelta(days=rng.randint(1, 14))
            roll = rng.random()
            status, closed, kept = "open", None, None
            if roll < 0.70:
                status = "done"
                on_time = rng.random() < 0.8
                closed = (
                    due - timedelta(hours=rng.randint(1, 20))
                    if on_time
                    else due + timedelta(days=rng.randint(1, 5))
                )
                kept = on_time
            elif roll < 0.80:
                status, closed, kept = "dropped", due - timedelta(hours=2), False
            elif roll < 0.85:
                status, closed = "cancelled", created
            if closed is not None and closed > now:
                status, closed, kept = "open", None, None
            commitments.append(
                (
                    TEAM,
                    rng.choice(open_people),
                    "a promise",
                    due,
                    due.date(),
                    created.date(),
                    status,
                    created,
                    closed,
                    kept,
                    0,
                    f"c{n}",
                )
            )
        await conn.copy_records_to_table(
            "commitments",
            columns=[
                "team_id",
                "owner_id",
                "text",
                "due_at",
                "due_day",
                "created_day",
                "status",
                "created_at",
                "closed_at",
                "kept_on_time",
                "overdue_count",
                "source_key",
            ],
            records=commitments,
        )
        timings["commitments"] = time.perf_counter() - started

        started = time.perf_counter()
        await conn.copy_records_to_table(
            "check_ins",
            columns=["team_id", "user_id", "ally_id", "at", "source"],
            records=[
                (
                    TEAM,
                    rng.choice(open_people),
                    rng.choice(open_people),
                    now - timedelta(seconds=rng.randrange(year)),
                    "command",
                )
                for _ in range(args.commitments // 4)
            ],
        )
        timings["check_ins"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("ANALYZE")
        timings["analyze"] = time.perf_counter() - started
    finally:
        await conn.close()
    return timings


def run_report(url: str, page: Path) -> dict[str, Any]:
    """One `allybot report --html` in a child process: wall time, exit, progress lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALLYBOT_"))}
    env["DATABASE_URL"] = url
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "allybot.cli", "report", "--team", TEAM, "--html", str(page)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"allybot report failed:\n{done.stderr}")
    return {
        "seconds": wall,
        "cpu_seconds": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "load_average": (load_before + os.getloadavg()[0]) / 2,
        "stdout": done.stdout.strip(),
        "progress": [line for line in done.stderr.splitlines() if "allybot report:" in line],
    }


async def explain(url: str, now: datetime) -> list[dict[str, Any]]:
    """Each query the report runs, under EXPLAIN ANALYZE, slowest first."""
    db = Database(url)
    captured: list[tuple[str, Any]] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    try:
        async with db.session() as session:
            await report.build(session, team_id=TEAM, until=now)
    finally:
        await db.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    plans = []
    try:
        for statement, parameters in captured:
            rows = await conn.fetch(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, *tuple(parameters or ())
            )
            plan = json.loads(rows[0][0])[0]
            plans.append(
                {
                    "ms": plan["Execution Time"],
                    "query": " ".join(statement.split())[:160],
                    "top_node": plan["Plan"]["Node Type"],
                    "plan": plan,
                }
            )
    finally:
        await conn.close()
    return sorted(plans, key=lambda p: -p["ms"])


def plan_outline(plan: dict[str, Any], depth: int = 0, out: list[str] | None = None) -> list[str]:
    """Node type, relation and index, actual time and rows, one line per node."""
    out = [] if out is None else out
    name = plan["Node Type"]
    if "Index Name" in plan:
        name += f" using {plan['Index Name']}"
    elif "Relation Name" in plan:
        name += f" on {plan['Relation Name']}"
    out.append(
        f"{'  ' * depth}{name}  (actual {plan.get('Actual Total Time', 0):.0f} ms, "
        f"{plan.get('Actual Rows', 0):,} rows)"
    )
    for child in plan.get("Plans", []):
        plan_outline(child, depth + 1, out)
    return out


@contextlib.asynccontextmanager
async def workspace(
    args: argparse.Namespace, now: datetime
) -> AsyncIterator[tuple[str, dict[str, float]]]:
    """A scratch database loaded with the workspace (dropped afterwards), or `--database-url`,
    one loaded before, used as it is."""
    if args.database_url:
        yield args.database_url, {}
        return
    async with scratch_postgres(args.pg_admin, prefix="allybot_bench") as url:
        db = Database(url)
        await upgrade(db)
        await db.dispose()
        print(
            f"loading {args.people:,} people, {args.kudos:,} kudos, "
            f"{args.commitments:,} commitments …",
            flush=True,
        )
        load_seconds = await load(url, args, now)
        print("loaded: " + ", ".join(f"{k} {v:.1f} s" for k, v in load_seconds.items()))
        yield url, load_seconds


async def run(args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with workspace(args, now) as (url, load_seconds):
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.repeat):
                result = run_report(url, Path(tmp) / f"report-{i}.html")
                runs.append(result)
                print(
                    f"run {i + 1}: {result['seconds']:.2f} s wall, {result['cpu_seconds']:.2f} s "
                    f"CPU, load average {result['load_average']:.1f} · {result['stdout']}"
                )
                for line in result["progress"]:
                    print(f"    {line}")
            page_bytes = (Path(tmp) / "report-0.html").stat().st_size
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        plans = await explain(url, now)
    seconds = [r["seconds"] for r in runs]
    figures = {
        "people": args.people,
        "kudos": args.kudos + CLIQUES * CLIQUE_SIZE * (CLIQUE_SIZE - 1),
        "commitments": args.commitments,
        "load_seconds": load_seconds,
        "report_seconds": seconds,
        "median_seconds": statistics.median(seconds),
        "cpu_seconds": [r["cpu_seconds"] for r in runs],
        "load_average": [r["load_average"] for r in runs],
        "peak_rss_mb": peak_mb,
        "html_bytes": page_bytes,
        "progress": runs[-1]["progress"],
        "queries": [{k: v for k, v in p.items() if k != "plan"} for p in plans],
    }
    print(
        f"\nmedian {figures['median_seconds']:.2f} s (target < {TARGET_SECONDS:.0f} s), "
        f"peak RSS {peak_mb:.0f} MB (target < {TARGET_MB:.0f} MB), page {page_bytes:,} bytes"
    )
    print("\nqueries, slowest first (EXPLAIN ANALYZE):")
    for p in plans:
        print(f"{p['ms']:9.1f} ms  {p['query']}")
    for p in plans[:3]:
        print(f"\n{p['ms']:.0f} ms:")
        print("\n".join("    " + line for line in plan_outline(p["plan"]["Plan"])))
    return figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--kudos", type=int, default=1_000_000)
    parser.add_argument("--commitments", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-admin", default=PG_ADMIN_DSN)
    parser.add_argument("--json", default=None, help="write the figures to this file")
    parser.add_argument(
        "--database-url", default=None, help="a database loaded before: measure, load nothing"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    ok = figures["median_seconds"] < TARGET_SECONDS and figures["peak_rss_mb"] < TARGET_MB
    print("\nwithin the targets" if ok else "\nOUTSIDE the targets")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
