"""How long one scheduler planning pass takes at scale, and how fast due nudges go out.

The issue's targets: one planning pass over 100,000 people in 200 time zones in under 5 s
and under 300 MB on PostgreSQL, and sending that survives Slack's 429s without losing or
doubling a message. Two measurements, each on SQLite and on PostgreSQL:

1. **Planning.** 100,000 people (``--people``) with daily tips, spread evenly over 200 real
   IANA zones, in one workspace, seeded with bulk Core INSERTs (not through the app, which
   would measure the seeding instead). The instant is the busiest one of 2026-11-26 (a
   Thursday): the UTC quarter-hour at which most of the 200 zones are inside the default
   09:00-17:00 window. ``scheduler.planner.plan`` runs once at that instant in a fresh child
   process (this script with ``--child-plan``), so ``ru_maxrss`` is the pass's peak and not
   this process's seeding; the child also reports its RSS before the pass, and then runs
   the same pass again, which must plan nothing. Repeated ``--repeat`` times after deleting
   the nudges, so every pass plans the full set.

   With ``--at INSTANT`` (UTC, e.g. ``2026-11-29T20:00:00Z``) the measured passes are at
   that instant instead, each child first running the pass at the busiest instant (the
   day's busy pass, reported as "busy pass before"), so the instant meets what a running
   deployment leaves: the allies of owners inside their window moved on, the others' due
   allies waiting. The seed is the same (allies due as of the busy day); the tips expected
   are those of the zones inside their window at INSTANT that the busy pass did not plan
   for the same local day. A quiet instant (few zones inside their window) is what every
   tick of a quiet hour costs.
2. **Sending.** 5,000 due people (``--send``) in zones inside their window, planned, then
   ``scheduler.sender.send_due`` against the Slack double with 1 message/s per channel and
   5 % random 429s (Retry-After: 1), with allybot's production retry settings
   (``allybot.app.create_app`` as ``allybot serve`` builds it), so each 429 costs a real wait.
   The double runs in a child process (``--double child``, the default), so it does not
   share this interpreter with the sender; its record of calls comes back over a pipe and
   is checked: every person got exactly one accepted chat.postMessage. The database must
   then hold one ``sent`` daily message per person, each with its own ts.

Everything is on 127.0.0.1; PostgreSQL databases (``allybot_bench_<random>``) and child
processes are removed on the way out, also on error and on the global ``--timeout``.

With ``--baseline DIR`` (another checkout of allybot, e.g. ``git worktree add --detach DIR
<commit>``), planning is measured for both in the same run: a database of each, migrated
by its own code and seeded alike, and their passes interleaved (baseline, this, baseline,
this, ...), each child running this script with the other checkout's code first on its
path, so both are measured the same way on the same machine at nearly the same time.
Each pass also reports the CPU seconds of its PostgreSQL backend (from /proc, when the
server runs on this machine), which a busy machine inflates far less than wall time.

    .venv/bin/python benchmarks/planner.py [--people 100000] [--send 5000] [--repeat 3]
        [--backends sqlite,postgresql] [--pg-admin postgresql://postgres@127.0.0.1:5432/test]
        [--double child|inproc] [--timeout 1800] [--json figures.json] [--baseline DIR]
        [--at 2026-11-29T20:00:00Z]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import os
import platform
import random
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import available_timezones

import asyncpg
from sqlalchemy import delete, func, insert, select, text, update

ROOT = Path(__file__).resolve().parents[1]
# `tests` is not installed: take it from this checkout, or from the one a --baseline child
# is told to measure (allybot's own modules from there too).
CODE = Path(os.environ.get("ALLYBOT_BENCH_CODE") or ROOT)
sys.path.insert(0, str(CODE))

from allybot.app import AllyBot, create_app  # noqa: E402
from benchmarks.double_process import DoubleProcess  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.models import Ally, Kudos, Nudge, OutboxMessage, Person, Workspace  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.suggestion_models import SuggestionCandidate, SuggestionLook  # noqa: E402
from scheduler.kinds.tips import KIND as TIP_KIND  # noqa: E402
from scheduler.planner import plan  # noqa: E402
from scheduler.sender import send_due  # noqa: E402
from scheduler.zones import LocalClock  # noqa: E402
from tests.databases import scratch_postgres  # noqa: E402
from tests.slack_double import SlackDouble  # noqa: E402

PG_ADMIN_DSN = os.environ.get("ALLYBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BOT_TOKEN = "xoxb-bench"
TEAM_ID = "TBENCH00001"
BUSY_DAY = date(2026, 11, 26)  # a Thursday: every zone's local day is a working day
STEP = timedelta(minutes=15)  # some zones are :30 or :45 off UTC
WINDOW = (9 * 60, 17 * 60)  # the default window of Person
ZONES = 200
REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)
CHUNK = 5_000
CHILD_TIMEOUT_S = 600.0
START_TIMEOUT_S = 60.0
UNREACHABLE_SLACK = "http://127.0.0.1:9/api/"  # planning makes no Slack calls
BACKENDS = ("sqlite", "postgresql")

logger = logging.getLogger("benchmarks.planner")


# ---------------------------------------------------------------------------
# Zones and the busy instant


def pick_zones(count: int = ZONES) -> list[str]:
    """`count` real zones, evenly spaced over the sorted geographic IANA names.

    Evenly spaced rather than the first `count`, so every continent is in (the first 200
    would be Africa and the Americas only); aliases such as US/Eastern and Etc/GMT+5 are left
    out because people's Slack profiles carry the geographic names.
    """
    names = sorted(z for z in available_timezones() if z.startswith(REGIONS))
    if len(names) < count:
        raise SystemExit(f"only {len(names)} geographic time zones on this machine")
    return [names[i * len(names) // count] for i in range(count)]


def open_zones(zones: Sequence[str], instant: datetime) -> list[str]:
    """Zones where `instant` is on a working day inside the default window, as the planner
    sees it (scheduler.zones.LocalClock)."""
    opened = []
    for tz in zones:
        clock = LocalClock.at(tz, instant)
        if clock.weekday < 5 and WINDOW[0] <= clock.minute < WINDOW[1]:
            opened.append(tz)
    return opened


def busiest_instant(zones: Sequence[str], day: date = BUSY_DAY) -> datetime:
    """The earliest quarter-hour of `day` (UTC) with the most zones inside their window."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    instants = [start + i * STEP for i in range(int(timedelta(days=1) / STEP))]
    return max(instants, key=lambda t: (len(open_zones(zones, t)), -t.timestamp()))


def newly_open(zones: Sequence[str], instant: datetime, before: datetime | None) -> list[str]:
    """Zones inside their window at `instant` that were not on the same local day at
    `before` (whose people the pass at `before` planned already)."""
    if before is None or before == instant:
        return open_zones(zones, instant)
    planned = {(tz, LocalClock.at(tz, before).local_day) for tz in open_zones(zones, before)}
    return [
        tz
        for tz in open_zones(zones, instant)
        if (tz, LocalClock.at(tz, instant).local_day) not in planned
    ]


def spread(count: int, zones: Sequence[str], prefix: str = "U") -> list[tuple[str, str]]:
    """(user_id, tz) for `count` people, dealt round-robin over the zones."""
    return [(f"{prefix}{i:09d}", zones[i % len(zones)]) for i in range(count)]


# ---------------------------------------------------------------------------
# Databases


@contextlib.asynccontextmanager
async def fresh_database(backend: str, tmp: Path, admin_dsn: str) -> AsyncIterator[str]:
    """A new SQLite file, or a new PostgreSQL database that is always dropped afterwards."""
    if backend == "sqlite":
        path = tmp / f"allybot-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    async with scratch_postgres(admin_dsn, prefix="allybot_bench") as url:
        yield url


@contextlib.asynccontextmanager
async def migrated(url: str) -> AsyncIterator[Database]:
    """The database at head, through allybot's own migrations, disposed afterwards."""
    db = Database(url)
    try:
        await upgrade(db)
        yield db
    finally:
        await db.dispose()


def person_row(user_id: str, tz: str, now: datetime) -> dict[str, Any]:
    """A person who uses allybot and wants a tip every day, with a fresh cached profile
    (so sending makes no users.info call, as for anyone seen in the last day)."""
    return {
        "team_id": TEAM_ID,
        "user_id": user_id,
        "name": user_id.lower(),
        "tz": tz,
        "is_bot": False,
        "deleted": False,
        "is_admin": False,
        "is_owner": False,
        "profile_refreshed_at": now,
        "tips_cadence": "daily",
        "window_start": WINDOW[0],
        "window_end": WINDOW[1],
        "opted_out": False,
        "engaged_at": now,
        "created_at": now,
    }


async def seed(
    db: Database,
    people: Sequence[tuple[str, str]],
    *,
    allies: int = 0,
    kudos: int = 0,
    instant: datetime | None = None,
) -> float:
    """Insert the workspace, people, and (for the allies scenario) their allies and kudos in
    bulk; returns seconds taken.

    Core executemany in chunks, because the ORM would spend minutes building objects that
    the planner never sees.
    """
    started = time.perf_counter()
    now = datetime.now(UTC)
    ids = [uid for uid, _ in people]
    async with db.engine.begin() as conn:
        await conn.execute(insert(Workspace).values(team_id=TEAM_ID, name="Bench", custom_tags=[]))
        for i in range(0, len(people), CHUNK):
            rows = [person_row(uid, tz, now) for uid, tz in people[i : i + CHUNK]]
            await conn.execute(insert(Person), rows)
        when = instant or now
        if allies:
            await insert_chunks(conn, Ally, ally_rows(ids, allies, when))
        if kudos:
            await insert_chunks(conn, Kudos, kudos_rows(ids, kudos, when))
    await maintain(db, "ANALYZE people, workspaces, allies, kudos")
    return time.perf_counter() - started


async def insert_chunks(conn: Any, model: Any, rows: Iterator[dict[str, Any]]) -> None:
    """Executemany in CHUNK-sized batches, never holding every row in memory at once."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            await conn.execute(insert(model), batch)
            batch = []
    if batch:
        await conn.execute(insert(model), batch)


ALLY_STRIDE = 4_999  # allies spread over the whole workspace, not neighbours only
CADENCES = (7, 14, 14, 30)


def ally_rows(ids: Sequence[str], per_person: int, instant: datetime) -> Iterator[dict[str, Any]]:
    """`per_person` allies each, with cadences of a week to a month and last contact spread
    so that roughly one ally in ten is due at `instant` (a realistic day, not a backlog).

    Days are UTC days; the planner compares them with each owner's local day, so a few
    owners east or west of UTC see them a day apart, which changes nothing at this scale.
    """
    rng = random.Random(5)
    today = instant.date()
    n = len(ids)
    for i, owner in enumerate(ids):
        for k in range(per_person):
            cadence = CADENCES[(i + k) % len(CADENCES)]
            since = rng.randint(0, cadence + cadence // 4)
            last = today - timedelta(days=since)
            yield {
                "team_id": TEAM_ID,
                "user_id": owner,
                "ally_id": ids[(i + 1 + k * ALLY_STRIDE) % n],
                "cadence_days": cadence,
                "created_at": instant - timedelta(days=120),
                "last_contact_at": datetime.combine(last, datetime.min.time(), tzinfo=UTC),
                "last_contact_day": last,
                "due_day": last + timedelta(days=cadence),
                "next_nudge_day": None,
            }


def kudos_rows(ids: Sequence[str], total: int, instant: datetime) -> Iterator[dict[str, Any]]:
    """`total` kudos over the 90 days before `instant`, each giver recognising a circle of
    2, 3, 5 or 10 colleagues: the narrow circles make breadth and give-back suggestions
    due for some people, as in a real workspace, and the wide ones do not."""
    rng = random.Random(7)
    n = len(ids)
    for j in range(total):
        giver = j % n
        circle = (2, 3, 5, 10)[giver % 4]
        receiver = (giver + 1 + rng.randrange(circle) * 7) % n
        yield {
            "team_id": TEAM_ID,
            "giver_id": ids[giver],
            "receiver_id": ids[receiver],
            "channel_id": "CBENCH",
            "text": "thanks for the review",
            "tags": [],
            "source": "command",
            "source_key": f"bench-{j}",
            "created_at": instant - timedelta(seconds=rng.randrange(90 * 86_400)),
        }


async def maintain(db: Database, sql: str) -> None:
    """VACUUM or ANALYZE on PostgreSQL (outside a transaction, as they must run).

    Only the tables the benchmark bulk-loads are analysed, as autovacuum soon would: the
    nudges and daily_messages tables keep whatever statistics allybot's own use gives
    them. Analysing nudges while it is empty makes claim_new's plan degenerate on PostgreSQL
    (see benchmarks/README.md), which would measure the benchmark rather than allybot.
    SQLite is left as allybot leaves it (never analysed).
    """
    if db.dialect != "postgresql":
        return
    async with db.engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text(sql))


async def forget_nudges(db: Database, *, looks: bool = True) -> int:
    """Delete every nudge and undo the check-in reminders' progress, so the next pass plans
    the full set again (and vacuum the dead rows away, so each pass starts from the same
    state). With `looks`, the day's give-back and breadth looks go too, so the next pass
    is the day's first and looks at every zone."""
    async with db.session() as session:
        result = await session.execute(delete(Nudge))
        gone = int(getattr(result, "rowcount", 0) or 0)
        # A planned check-in moves its ally's next reminder a rhythm on: undo that too, on
        # those rows only (rewriting all 2,000,000 would leave a table twice its size,
        # which no day of allybot's own does, for every later pass to read).
        await session.execute(
            update(Ally).where(Ally.next_nudge_day.is_not(None)).values(next_nudge_day=None)
        )
        if looks:
            await session.execute(delete(SuggestionCandidate))
            await session.execute(delete(SuggestionLook))
    # The looks' tables too: the next pass stores the very keys just deleted, and each
    # would first be checked against its dead copy (a day of allybot never repeats a key).
    await maintain(db, "VACUUM nudges, allies, suggestion_candidates, suggestion_looks")
    return gone


async def count_rows(db: Database, model: Any) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def bench_settings(database_url: str, slack_api_url: str = UNREACHABLE_SLACK) -> Settings:
    """Settings as `allybot serve` would read them, but never from a stray .env file."""
    return Settings(
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret="bench-signing-secret",
        slack_api_url=slack_api_url,
        database_url=database_url,
    )


# ---------------------------------------------------------------------------
# One planning pass, in a child process of its own


def rss_mb() -> float:
    """This process's resident set now, from /proc (ru_maxrss only knows the peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident set of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed_plan(
    bot: AllyBot,
    instant: datetime,
    seconds: dict[str, float] | None = None,
    cpu: list[float] | None = None,
) -> tuple[dict[str, int], float]:
    """One planning pass: how many nudges it planned of each kind, and its wall seconds
    (each kind's own seconds into `seconds`, and this process's CPU seconds into `cpu`,
    when given: allybot's own side of the pass, which a busy machine hardly inflates)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    result, _ = await plan(bot, now=instant)
    if seconds is not None:
        seconds.update(result.plan_seconds)
    if cpu is not None:
        cpu.append(time.process_time() - started_cpu)
    return dict(result.planned), time.perf_counter() - started


async def child_plan(
    database_url: str, instant: datetime, prior: datetime | None = None
) -> dict[str, Any]:
    """Run in the child: the pass cold (first in the process, as `allybot tick` and the
    first pass of `serve` run it, and the day's first: it looks at every zone for
    give-back and breadth), the same pass again (must plan nothing), and the pass warm
    (statements compiled and prepared, as every later pass of `serve` runs it, with the
    day's looks stored as every pass after a zone's first of the day finds them).

    With `prior` (--at), each of the cold and warm passes follows a pass at `prior`."""
    bot = create_app(bench_settings(database_url))
    prior_s: list[float] = []
    prior_kinds: dict[str, float] = {}
    try:
        async with bot.db.session() as session:  # connect first: the pool is warm in serve
            await session.execute(text("SELECT 1"))
        before, peak_before = rss_mb(), peak_rss_mb()
        if prior is not None:
            prior_s.append((await timed_plan(bot, prior, prior_kinds))[1])
        cold_kinds: dict[str, float] = {}
        rerun_kinds: dict[str, float] = {}
        own_cpu: list[float] = []  # this process: the pass, the re-run, the warm pass
        server = await ServerCpu.of(bot.db)
        planned, wall = await timed_plan(bot, instant, cold_kinds, own_cpu)
        cold_cpu = await server.seconds()
        peak = peak_rss_mb()
        rerun_planned, rerun = await timed_plan(bot, instant, rerun_kinds, own_cpu)
        await forget_nudges(bot.db, looks=False)
        if prior is not None:
            prior_s.append((await timed_plan(bot, prior))[1])
        warm_kinds: dict[str, float] = {}
        server = await ServerCpu.of(bot.db)
        warm_planned, warm = await timed_plan(bot, instant, warm_kinds, own_cpu)
        warm_cpu = await server.seconds()
    finally:
        await bot.close()
    return {
        "planned": sum(planned.values()),
        "planned_by_kind": planned,
        "tips": planned.get(TIP_KIND, 0),
        "wall_s": wall,
        "rss_before_mb": before,
        "peak_before_mb": peak_before,
        "peak_rss_mb": peak,
        "rerun_planned": sum(rerun_planned.values()),
        "rerun_s": rerun,
        "warm_planned": sum(warm_planned.values()),
        "warm_s": warm,
        "code": str(Path(sys.modules[plan.__module__].__file__ or "").resolve().parents[1]),
        "pg_cpu_s": cold_cpu,
        "warm_pg_cpu_s": warm_cpu,
        "cpu_s": round(own_cpu[0], 3),
        "rerun_cpu_s": round(own_cpu[1], 3),
        "warm_cpu_s": round(own_cpu[2], 3),
        "kind_s": {k: round(v, 3) for k, v in cold_kinds.items()},
        "rerun_kind_s": {k: round(v, 3) for k, v in rerun_kinds.items()},
        "warm_kind_s": {k: round(v, 3) for k, v in warm_kinds.items()},
        "peak_rss_end_mb": peak_rss_mb(),
        "prior_s": prior_s,
        "prior_kind_s": {k: round(v, 3) for k, v in prior_kinds.items()},
    }


class ServerCpu:
    """CPU seconds the database's PostgreSQL backends spent since `of` (user + system, from
    /proc/<pid>/stat), those connected since counted whole (a pass may open a connection);
    None on SQLite, or when the server's processes are not readable here (another machine,
    another container)."""

    def __init__(self, db: Database, pids: list[int]) -> None:
        self.db = db
        self.start = {pid: self._read(pid) for pid in pids}

    @classmethod
    async def of(cls, db: Database) -> ServerCpu:
        return cls(db, await cls._backends(db))

    @staticmethod
    async def _backends(db: Database) -> list[int]:
        if db.dialect != "postgresql":
            return []
        async with db.session() as session:
            sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            return [int(pid) for pid in (await session.execute(text(sql))).scalars()]

    @staticmethod
    def _read(pid: int) -> float | None:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def seconds(self) -> float | None:
        for pid in await self._backends(self.db):
            self.start.setdefault(pid, 0.0)
        spent = [
            (now - was)
            for pid, was in self.start.items()
            if was is not None and (now := self._read(pid)) is not None
        ]
        return round(sum(spent), 2) if spent else None


def child_env(code: Path) -> dict[str, str]:
    """The environment of a child that measures the checkout at `code`."""
    return {**os.environ, "ALLYBOT_BENCH_CODE": str(code)}


async def run_child(args: list[str], code: Path) -> str:
    """This script in a fresh interpreter with `code` first on its path; its last line."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).resolve()),
        *args,
        cwd=code,
        env=child_env(code),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CHILD_TIMEOUT_S)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed ({proc.returncode}):\n{err.decode()}")
    return out.decode().strip().splitlines()[-1]


async def run_child_plan(
    database_url: str, instant: datetime, code: Path, prior: datetime | None = None
) -> dict[str, Any]:
    """One --child-plan of the checkout at `code`; killed if it outlives its time."""
    args = ["--child-plan", "--database-url", database_url, "--now", instant.isoformat()]
    if prior is not None:
        args += ["--prior", prior.isoformat()]
    result: dict[str, Any] = json.loads(await run_child(args, code))
    return result


async def child_migrate(database_url: str) -> None:
    """Run in the child: bring the database to this code's newest schema."""
    db = Database(database_url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@dataclass
class PlanFigures:
    """Planning on one backend: what was seeded and each pass's figures."""

    backend: str
    people: int
    allies: int
    kudos: int
    zones: int
    open_zones: int
    instant: str
    deliverable: int
    seed_s: float
    runs: list[dict[str, Any]]
    code: str = "this"
    prior: str | None = None  # the busy instant planned before each measured pass (--at)


async def bench_plan(
    backend: str,
    args: argparse.Namespace,
    tmp: Path,
    busy: datetime,
    zones: list[str],
) -> list[PlanFigures]:
    """Seed once (a database for each checkout measured), then `--repeat` passes, each
    after the previous pass's nudges are gone; with a baseline, its passes and this
    checkout's take turns. The seed is as of the busy instant; the passes are at `--at`
    (after one at the busy instant) when given."""
    instant = args.at or busy
    prior = busy if instant != busy else None
    opened = set(newly_open(zones, instant, prior))
    people = spread(args.people, zones)
    deliverable = sum(1 for _, tz in people if tz in opened)
    codes = [(f"baseline {revision(args.baseline)}", args.baseline)] if args.baseline else []
    codes.append((f"this {revision()}", ROOT))
    async with contextlib.AsyncExitStack() as stack:
        dbs: dict[str, tuple[str, Database, float]] = {}
        for label, code in codes:
            url = await stack.enter_async_context(fresh_database(backend, tmp, args.pg_admin))
            await run_child(["--child-migrate", "--database-url", url], code)
            db = Database(url)
            stack.push_async_callback(db.dispose)
            seed_s = await seed(db, people, allies=args.allies, kudos=args.kudos, instant=busy)
            note(
                f"{backend} ({label}): seeded {len(people):,} people, "
                f"{len(people) * args.allies:,} allies, {args.kudos:,} kudos in {seed_s:.1f} s"
            )
            dbs[label] = (url, db, seed_s)
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in codes}
        for i in range(args.repeat):
            for label, code in codes:
                url, db, _ = dbs[label]
                if i:
                    await forget_nudges(db)
                run = await run_child_plan(url, instant, code, prior)
                run["nudges_in_db"] = await count_rows(db, Nudge)
                run["loadavg"] = os.getloadavg()[0]
                note(
                    f"{backend} ({label}): pass {i + 1}: planned {run['planned']:,} in "
                    f"{run['wall_s']:.2f} s (warm {run['warm_s']:.2f} s; PostgreSQL CPU "
                    f"{run['pg_cpu_s']} / {run['warm_pg_cpu_s']} s; allybot CPU "
                    f"{run['cpu_s']} / {run['warm_cpu_s']} s, re-run {run['rerun_cpu_s']} s), peak "
                    f"{run['peak_rss_mb']:.0f} MB; re-run {run['rerun_s']:.2f} s; "
                    f"load {run['loadavg']:.1f}; by kind {run['planned_by_kind']}; "
                    f"seconds by kind {run['kind_s']}, re-run {run['rerun_kind_s']}, "
                    f"warm {run['warm_kind_s']}"
                    + (
                        f"; busy pass before {run['prior_s']} s, by kind {run['prior_kind_s']}"
                        if prior
                        else ""
                    )
                )
                runs[label].append(run)
    return [
        PlanFigures(
            backend,
            len(people),
            len(people) * args.allies,
            args.kudos,
            len(zones),
            len(opened),
            instant.isoformat(),
            deliverable,
            dbs[label][2],
            runs[label],
            label,
            prior.isoformat() if prior else None,
        )
        for label, _ in codes
    ]


# ---------------------------------------------------------------------------
# The Slack double, in a child process or in this one


class Double(Protocol):
    """The Slack double wherever it runs: its URL, what it recorded, and stopping it."""

    async def start(self) -> str: ...
    async def stats(self) -> dict[str, Any]: ...
    async def close(self) -> None: ...


def configure_double(double: SlackDouble, users: Sequence[tuple[str, str]]) -> None:
    """Every person known, Slack's per-channel limit, and a reproducible 5 % of 429s."""
    for user_id, tz in users:
        double.add_user(user_id, team_id=TEAM_ID, tz=tz)
    double.channel_rate_limit(1.0)
    double.random_429(0.05, seed=1)


def double_stats(double: SlackDouble) -> dict[str, Any]:
    """What the double recorded, boiled down to what the checks need."""
    posts = [c for c in double.calls if c.method == "chat.postMessage"]
    return {
        "methods": Counter(c.method for c in double.calls),
        "post_status": Counter(c.status for c in posts),
        "post_errors": Counter(c.error for c in posts if not c.ok),
        "accepted_by_channel": Counter(str(c.args.get("channel")) for c in posts if c.ok),
    }


class DoubleInProcess:
    """The double on this event loop, as tests/helpers.running_bot runs it: simpler, but it
    shares one core with the sender, so the figure is lower than allybot's own."""

    def __init__(self, users: list[tuple[str, str]]) -> None:
        self.double = SlackDouble(bot_token=BOT_TOKEN, team_id=TEAM_ID)
        configure_double(self.double, users)

    async def start(self) -> str:
        await self.double.start()
        return self.double.url

    async def stats(self) -> dict[str, Any]:
        return double_stats(self.double)

    async def close(self) -> None:
        await self.double.stop()


# ---------------------------------------------------------------------------
# Sending


@dataclass
class SendFigures:
    """Sending on one backend: time, rate, 429s, and the exactly-once checks."""

    backend: str
    double: str
    people: int
    planned: int
    wall_s: float
    per_second: float
    sent: int
    retry: int
    failed: int
    cancelled: int
    posts: int
    status_429: int
    users_info_calls: int
    lost: int
    doubled: int
    unexpected: int
    rows: int
    rows_sent: int
    distinct_ts: int

    @property
    def exactly_once(self) -> bool:
        return (
            self.lost == 0
            and self.doubled == 0
            and self.unexpected == 0
            and self.rows == self.rows_sent == self.distinct_ts == self.people
        )


@dataclass(frozen=True)
class Stored:
    rows: int
    rows_sent: int
    distinct_ts: int


async def stored_messages(db: Database) -> Stored:
    """daily_messages as the sender left them: how many, how many sent, how many ts."""
    async with db.session() as session:
        rows = (await session.execute(select(OutboxMessage.status, OutboxMessage.ts))).all()
    return Stored(
        rows=len(rows),
        rows_sent=sum(1 for status, _ in rows if status == "sent"),
        distinct_ts=len({ts for _, ts in rows if ts}),
    )


async def send_through(
    bot: AllyBot, double: Double, instant: datetime
) -> tuple[int, float, Any, dict[str, Any]]:
    """Plan, then time send_due alone; returns planned, seconds, result, double's stats."""
    result, ctx = await plan(bot, now=instant)
    if ctx is None:
        raise RuntimeError("nothing to plan: no people in the database")
    started = time.perf_counter()
    sent = await send_due(bot, clocks=ctx.clocks, now=instant)
    wall = time.perf_counter() - started
    return sum(result.planned.values()), wall, sent, await double.stats()


async def bench_send(
    backend: str, args: argparse.Namespace, tmp: Path, instant: datetime, zones: list[str]
) -> SendFigures:
    """5,000 due people, the double with its limits, allybot with production retries."""
    users = spread(args.send, open_zones(zones, instant), prefix="W")
    double: Double = (
        DoubleProcess(
            functools.partial(configure_double, users=users),
            double_stats,
            bot_token=BOT_TOKEN,
            team_id=TEAM_ID,
        )
        if args.double == "child"
        else DoubleInProcess(users)
    )
    async with (
        fresh_database(backend, tmp, args.pg_admin) as url,
        migrated(url) as db,
    ):
        await seed(db, users)
        try:
            slack_url = await double.start()
            bot = create_app(bench_settings(url, slack_url))
            await bot.start()
            try:
                planned, wall, sent, stats = await send_through(bot, double, instant)
                stored = await stored_messages(bot.db)
            finally:
                await bot.close()
        finally:
            await double.close()
    accepted: Counter[str] = stats["accepted_by_channel"]
    ids = {uid for uid, _ in users}
    figures = SendFigures(
        backend=backend,
        double=args.double,
        people=len(users),
        planned=planned,
        wall_s=wall,
        per_second=sent.sent / wall if wall else float("nan"),
        sent=sent.sent,
        retry=sent.retry,
        failed=sent.failed,
        cancelled=sent.cancelled,
        posts=sum(stats["post_status"].values()),
        status_429=stats["post_status"].get(429, 0),
        users_info_calls=stats["methods"].get("users.info", 0),
        lost=len(ids - set(accepted)),
        doubled=sum(1 for uid in ids if accepted[uid] > 1),
        unexpected=len(set(accepted) - ids),
        **asdict(stored),
    )
    note(
        f"{backend}: sent {figures.sent:,} in {wall:.1f} s ({figures.per_second:.0f}/s), "
        f"{figures.status_429} × 429, exactly once: {figures.exactly_once}"
    )
    return figures


# ---------------------------------------------------------------------------
# Report


def note(message: str) -> None:
    """Progress on stderr, so stdout stays the tables."""
    print(f"[planner] {message}", file=sys.stderr, flush=True)


def spread_of(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, min and max: the machine is shared and noisy, so the median is the figure."""
    return statistics.median(values), min(values), max(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width table that reads in a terminal and pastes into Markdown."""
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def mmm(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    median, low, high = spread_of(values)
    return f"{fmt.format(median)} ({fmt.format(low)}-{fmt.format(high)})"


def plan_table(results: Sequence[PlanFigures]) -> str:
    headers = [
        "backend",
        "code",
        "people",
        "allies",
        "kudos",
        "tips due",
        "planned (all kinds)",
        "pass s: median (min-max)",
        "warm pass s (looks stored)",
        "re-run s (planned)",
        "PostgreSQL CPU s: pass / warm",
        "allybot CPU s: pass / re-run / warm",
        "check-ins s: pass / re-run / warm",
        "RSS before MB",
        "peak RSS MB",
        "passes",
    ]
    rows = []
    for r in results:
        planned = sorted({run["planned"] for run in r.runs})
        rerun_planned = sorted({run["rerun_planned"] for run in r.runs})
        rows.append(
            [
                r.backend,
                r.code,
                f"{r.people:,}",
                f"{r.allies:,}",
                f"{r.kudos:,}",
                f"{r.deliverable:,}",
                "/".join(f"{p:,}" for p in planned),
                mmm([run["wall_s"] for run in r.runs]),
                mmm([run["warm_s"] for run in r.runs]),
                f"{mmm([run['rerun_s'] for run in r.runs])} ({'/'.join(map(str, rerun_planned))})",
                f"{median_of(r.runs, 'pg_cpu_s')} / {median_of(r.runs, 'warm_pg_cpu_s')}",
                " / ".join(median_of(r.runs, key) for key in OWN_CPU_KEYS),
                " / ".join(kind_median(r.runs, key) for key in KIND_KEYS),
                mmm([run["rss_before_mb"] for run in r.runs], "{:.0f}"),
                mmm([run["peak_rss_end_mb"] for run in r.runs], "{:.0f}"),
                len(r.runs),
            ]
        )
    return table(headers, rows)


KIND_KEYS = ("kind_s", "rerun_kind_s", "warm_kind_s")
OWN_CPU_KEYS = ("cpu_s", "rerun_cpu_s", "warm_cpu_s")


def kind_median(runs: Sequence[dict[str, Any]], key: str, kind: str = "checkin") -> str:
    """The median seconds of one kind in one of a run's passes."""
    values = [run[key][kind] for run in runs if kind in run.get(key, {})]
    return f"{statistics.median(values):.2f}" if values else "-"


def median_of(runs: Sequence[dict[str, Any]], key: str) -> str:
    """The median of a figure the runs may lack (CPU of a server not on this machine)."""
    values = [run[key] for run in runs if run.get(key) is not None]
    return f"{statistics.median(values):.2f}" if values else "-"


def send_table(results: Sequence[SendFigures]) -> str:
    headers = [
        "backend",
        "double",
        "people",
        "wall s",
        "messages/s",
        "posts",
        "429s",
        "sent/retry/failed",
        "lost",
        "doubled",
        "rows sent/total",
        "distinct ts",
        "exactly once",
    ]
    rows = [
        [
            r.backend,
            r.double,
            f"{r.people:,}",
            f"{r.wall_s:.1f}",
            f"{r.per_second:.0f}",
            f"{r.posts:,}",
            r.status_429,
            f"{r.sent}/{r.retry}/{r.failed}",
            r.lost,
            r.doubled,
            f"{r.rows_sent}/{r.rows}",
            r.distinct_ts,
            "yes" if r.exactly_once else "NO",
        ]
        for r in results
    ]
    return table(headers, rows)


def targets(results: Sequence[PlanFigures]) -> list[str]:
    """The issue's targets, on PostgreSQL, from the medians."""
    lines = []
    for r in results:
        if r.backend != "postgresql":
            continue
        wall = statistics.median(run["wall_s"] for run in r.runs)
        warm = statistics.median(run["warm_s"] for run in r.runs)
        peak = max(run["peak_rss_end_mb"] for run in r.runs)
        seconds, megabytes = 5, 300  # tips alone, or every kind over allies and kudos
        lines.append(
            f"target on PostgreSQL ({r.code}): pass < {seconds} s: cold {wall:.2f} s, "
            f"warm {warm:.2f} s "
            f"({'met' if max(wall, warm) < seconds else 'MISSED'}); peak < {megabytes} MB: "
            f"{peak:.0f} MB ({'met' if peak < megabytes else 'MISSED'})"
        )
        kinds = Counter[str]()
        for run in r.runs:
            kinds.update(run["planned_by_kind"])
        lines.append(
            "planned per pass by kind: "
            + ", ".join(f"{k} {v // len(r.runs):,}" for k, v in sorted(kinds.items()))
        )
    return lines + ratios(results)


def ratios(results: Sequence[PlanFigures]) -> list[str]:
    """This checkout's medians over the baseline's, per backend, when both were measured."""
    lines = []
    for backend in sorted({r.backend for r in results}):
        pair = [r for r in results if r.backend == backend]
        if len(pair) != 2:
            continue
        base, this = pair
        parts = []
        for key, name in (
            ("wall_s", "pass"),
            ("warm_s", "warm pass"),
            ("rerun_s", "re-run"),
            ("pg_cpu_s", "PostgreSQL CPU of the pass"),
            ("warm_pg_cpu_s", "PostgreSQL CPU of the warm pass"),
            ("cpu_s", "allybot CPU of the pass"),
            ("rerun_cpu_s", "allybot CPU of the re-run"),
            ("warm_cpu_s", "allybot CPU of the warm pass"),
        ):
            was = [run[key] for run in base.runs if run.get(key) is not None]
            now = [run[key] for run in this.runs if run.get(key) is not None]
            if was and now and statistics.median(was) > 0:
                parts.append(f"{name} {statistics.median(now) / statistics.median(was):.2f}x")
        for key, name in zip(KIND_KEYS, ("pass", "re-run", "warm pass"), strict=True):
            was = [run[key]["checkin"] for run in base.runs if "checkin" in run[key]]
            now = [run[key]["checkin"] for run in this.runs if "checkin" in run[key]]
            if was and now and statistics.median(was) > 0:
                ratio = statistics.median(now) / statistics.median(was)
                parts.append(f"check-ins of the {name} {ratio:.2f}x")
        lines.append(f"{backend}, this over baseline (medians): " + ", ".join(parts))
    return lines


def send_summary(results: Sequence[SendFigures]) -> list[str]:
    """Median rate per backend and double, when a run was repeated."""
    lines = []
    for key in sorted({(r.backend, r.double) for r in results}):
        runs = [r for r in results if (r.backend, r.double) == key]
        if len(runs) > 1:
            lines.append(
                f"{key[0]} (double {key[1]}): {len(runs)} runs, messages/s "
                + mmm([r.per_second for r in runs], "{:.0f}")
                + ", wall s "
                + mmm([r.wall_s for r in runs], "{:.1f}")
            )
    return lines


def machine(pg_version: str | None, load_at_start: float) -> dict[str, Any]:
    """Enough to tell runs on different hosts, code or background load apart."""
    return {
        "revision": revision(),
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "loadavg_at_start": load_at_start,
        "loadavg_at_end": os.getloadavg()[0],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
    }


def revision(root: Path = ROOT) -> str:
    """The commit measured and whether the work tree differed (read-only git commands)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    if head.returncode != 0:  # e.g. a `git archive` snapshot: say which one in the environment
        return os.environ.get("ALLYBOT_REVISION", "unknown (not a git checkout)")
    edits = len(changed.stdout.splitlines())
    return f"{head.stdout.strip()} + {edits} changed files" if edits else head.stdout.strip()


async def pg_version(admin_dsn: str) -> str | None:
    """The server's version, or None when PostgreSQL is not reachable."""
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        conn = await asyncpg.connect(admin_dsn)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()
    return None


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(
        f"revision {m['revision']}; nproc {m['nproc']}, python {m['python']}, "
        f"sqlite {m['sqlite']}, postgresql {m['postgresql']}; "
        f"load average {m['loadavg_at_start']:.2f} at start, {m['loadavg_at_end']:.2f} at end"
    )
    if report["plan"]:
        first = report["plan"][0]
        print(
            f"\nPlanning pass: {first['people']:,} people in {first['zones']} zones, "
            f"at {first['instant']} ({first['open_zones']} zones inside 09:00-17:00"
            + (f" not planned by the busy pass at {first['prior']})" if first.get("prior") else ")")
        )
        print(plan_table([PlanFigures(**p) for p in report["plan"]]))
        for line in targets([PlanFigures(**p) for p in report["plan"]]):
            print(line)
    if report["send"]:
        print("\nSending through the Slack double (1 msg/s per channel, 5 % random 429):")
        sends = [SendFigures(**s) for s in report["send"]]
        print(send_table(sends))
        for line in send_summary(sends):
            print(line)


# ---------------------------------------------------------------------------
# Entry points


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Planning then sending on each backend, one database at a time."""
    load_at_start = os.getloadavg()[0]
    zones = pick_zones()
    instant = busiest_instant(zones)
    note(f"busy instant {instant.isoformat()}: {len(open_zones(zones, instant))} of 200 zones")
    if args.at and args.at != instant:
        note(
            f"passes at {args.at.isoformat()}: {len(open_zones(zones, args.at))} of 200 zones "
            f"inside their window, {len(newly_open(zones, args.at, instant))} not planned by "
            "the busy pass"
        )
    plans: list[PlanFigures] = []
    sends: list[SendFigures] = []
    with tempfile.TemporaryDirectory(prefix="allybot-planner-") as tmp_dir:
        tmp = Path(tmp_dir)
        for backend in args.backends:
            if args.people:
                plans.extend(await bench_plan(backend, args, tmp, instant, zones))
            for _ in range(args.send_repeat if args.send else 0):
                sends.append(await bench_send(backend, args, tmp, instant, zones))
    return {
        "config": {
            "people": args.people,
            "allies": args.allies,
            "kudos": args.kudos,
            "send": args.send,
            "repeat": args.repeat,
            "send_repeat": args.send_repeat,
            "double": args.double,
            "backends": args.backends,
            "at": args.at.isoformat() if args.at else None,
        },
        "machine": machine(await pg_version(args.pg_admin), load_at_start),
        "plan": [asdict(p) for p in plans],
        "send": [asdict(s) for s in sends],
    }


def utc_instant(value: str) -> datetime:
    """An ISO 8601 instant with its offset (Z for UTC), in UTC."""
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no offset: add Z for UTC")
    return instant.astimezone(UTC)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000, help="0 skips planning")
    parser.add_argument("--allies", type=int, default=20, help="allies per person (planning)")
    parser.add_argument("--kudos", type=int, default=1_000_000, help="kudos seeded (planning)")
    parser.add_argument("--send", type=int, default=5_000, help="0 skips sending")
    parser.add_argument("--repeat", type=int, default=3, help="planning passes per backend")
    parser.add_argument("--send-repeat", type=int, default=1, help="sending runs per backend")
    parser.add_argument(
        "--backends",
        type=lambda s: [b.strip() for b in s.split(",") if b.strip()],
        default=list(BACKENDS),
    )
    parser.add_argument("--pg-admin", default=PG_ADMIN_DSN, help="where to create databases")
    parser.add_argument("--double", choices=("child", "inproc"), default="child")
    parser.add_argument("--timeout", type=float, default=1800.0, help="for the whole run, s")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--baseline",
        type=lambda p: Path(p).resolve(),
        help="another allybot checkout to measure planning against, in the same run",
    )
    parser.add_argument(
        "--at",
        type=utc_instant,
        help="plan at this UTC instant (e.g. 2026-11-29T20:00:00Z), after a pass at the busiest",
    )
    parser.add_argument("--child-plan", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-migrate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--now", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--prior", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if unknown := set(args.backends) - set(BACKENDS):
        parser.error(f"unknown backends: {sorted(unknown)}")
    if min(args.people, args.send, args.allies, args.kudos) < 0:
        parser.error("--people, --allies, --kudos and --send must be >= 0")
    if args.repeat < 1 or args.send_repeat < 1:
        parser.error("--repeat and --send-repeat must be >= 1")
    return args


def exit_status(report: dict[str, Any]) -> int:
    """Non-zero when a pass planned other than expected or a message was lost or doubled."""
    ok = all(
        run["tips"] == p["deliverable"]
        and run["planned"] == run["warm_planned"]
        and run["rerun_planned"] == 0
        for p in report["plan"]
        for run in p["runs"]
    ) and all(SendFigures(**s).exactly_once for s in report["send"])
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Warnings and errors only, on stderr: a message given up on would show here.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.child_plan:
        result = asyncio.run(child_plan(args.database_url, args.now, args.prior))
        print(json.dumps(result), flush=True)
        return 0
    if args.child_migrate:
        asyncio.run(child_migrate(args.database_url))
        print("migrated", flush=True)
        return 0
    # The timeout cancels the run, so every `finally` (drop databases, stop children) runs;
    # the alarm is the backstop should that cleanup itself hang.
    signal.alarm(int(args.timeout) + 120)
    try:
        report = asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except TimeoutError:
        note(f"gave up after --timeout {args.timeout:.0f} s; databases and children removed")
        return 2
    finally:
        signal.alarm(0)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return exit_status(report)


if __name__ == "__main__":
    raise SystemExit(main())
