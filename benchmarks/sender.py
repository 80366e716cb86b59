"""How fast one replica sends daily messages, and that Slack's limits never double one.

The issue's target: against a Slack double with no limits, at least 100 daily messages a
second from one replica on PostgreSQL, at no more than 5 ms of CPU per message, so that
across many workspaces allybot is never the bottleneck below Slack's own limits; with
Slack's limits and 5 % of 429s simulated, every message exactly once.

Each round seeds a fresh database with ``--workspaces`` workspaces (each installed through
OAuth, with its own bot token, as many workspaces are in production) of ``--people`` people
each, every one due a daily tip at the busiest instant of 2026-11-26 (their zones inside the
09:00-17:00 window; see benchmarks/planner.py), plans the nudges (untimed), then times
``scheduler.sender.send_due`` alone, in this process, against the double in a child process
of its own (benchmarks/double_process.py), with allybot's production retry settings.

1. **No limits.** The double accepts every post at once. Messages/s is the sent messages
   over the wall time of ``send_due``; CPU ms/message is this process's user + system CPU
   (from /proc/self/stat, every thread, the SQLite driver's included) over the same span;
   statements and transactions per message are counted on the engine. The double and the
   PostgreSQL server are other processes: their CPU is not counted.
2. **Slack's limits.** The double limits each channel to 1 message/s and answers 5 % of
   posts with 429 (Retry-After: 1), so each 429 costs the real wait.

After each round, the checks: every person got exactly one accepted chat.postMessage in
the double's record, nobody else got one, and the database holds one ``sent`` daily
message per person, each with its own ts.

    .venv/bin/python benchmarks/sender.py [--workspaces 50] [--people 100] [--rounds 2]
        [--backends postgresql,sqlite] [--phases free,limits] [--limits-people 20]
        [--pg-admin postgresql://postgres@127.0.0.1:5432/test] [--profile FILE] [--json FILE]

``--profile FILE`` runs the first no-limits round under cProfile, writes the stats to FILE
and prints the top functions by cumulative and by own time on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import json
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import event, insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tests` is not installed: take it from this checkout

from allybot.app import create_app  # noqa: E402
from benchmarks.double_process import DoubleProcess  # noqa: E402
from benchmarks.planner import (  # noqa: E402
    PG_ADMIN_DSN,
    busiest_instant,
    fresh_database,
    maintain,
    migrated,
    open_zones,
    pick_zones,
    revision,
)
from bot.db import Database  # noqa: E402
from bot.models import OutboxMessage, Person, Workspace  # noqa: E402
from bot.oauth import installation_store  # noqa: E402
from bot.settings import Settings  # noqa: E402
from scheduler.planner import plan  # noqa: E402
from scheduler.sender import send_due  # noqa: E402
from tests.slack_double import SlackDouble  # noqa: E402

CLIENT_ID = "1111.2222"
BOT_USER = "UBENCHBOT"
PHASES = ("free", "limits")


def team_ids(count: int) -> list[str]:
    return [f"TS{i:07d}" for i in range(count)]


def token_of(team_id: str) -> str:
    return f"xoxb-bench-{team_id}"


def people_of(teams: Sequence[str], per_team: int) -> list[tuple[str, str]]:
    """(team, user) for every person."""
    return [(team, f"U{team[2:]}{i:05d}") for team in teams for i in range(per_team)]


def configure_double(double: SlackDouble, teams: Sequence[str], limits: bool) -> None:
    """Each workspace's bot token known; with `limits`, Slack's per-channel limit and a
    reproducible 5 % of 429s."""
    for team in teams:
        double.add_token(token_of(team), team, BOT_USER)
    if limits:
        double.channel_rate_limit(1.0)
        double.random_429(0.05, seed=1)


def double_stats(double: SlackDouble) -> dict[str, Any]:
    posts = [c for c in double.calls if c.method == "chat.postMessage"]
    return {
        "methods": Counter(c.method for c in double.calls),
        "post_status": Counter(c.status for c in posts),
        "accepted": Counter((str(c.token), str(c.args.get("channel"))) for c in posts if c.ok),
    }


def settings_for(database_url: str, slack_url: str) -> Settings:
    """OAuth mode (each workspace's own token, from its installation), never a stray .env."""
    return Settings(
        _env_file=None,
        slack_client_id=CLIENT_ID,
        slack_client_secret="bench-client-secret",
        slack_signing_secret="bench-signing-secret",
        slack_api_url=slack_url,
        database_url=database_url,
    )


async def seed(
    db: Database,
    settings: Settings,
    people: Sequence[tuple[str, str]],
    zones: Sequence[str],
    instant: datetime,
) -> None:
    """Workspaces, their installations, people who want a tip every day (profiles fresh,
    so sending asks Slack nothing but chat.postMessage), and each person's daily message of
    the day before, sent: a replica in its steady state, whose tables PostgreSQL has
    analysed (as autovacuum has by then), not a database created a moment ago."""
    now = datetime.now(UTC)
    teams = sorted({team for team, _ in people})
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(Workspace), [{"team_id": t, "name": t, "custom_tags": []} for t in teams]
        )
        rows = [
            {
                "team_id": team,
                "user_id": user,
                "name": user.lower(),
                "tz": zones[i % len(zones)],
                "is_bot": False,
                "deleted": False,
                "is_admin": False,
                "is_owner": False,
                "profile_refreshed_at": now,
                "tips_cadence": "daily",
                "window_start": 9 * 60,
                "window_end": 17 * 60,
                "opted_out": False,
                "engaged_at": now,
                "created_at": now,
            }
            for i, (team, user) in enumerate(people)
        ]
        sent = [
            {
                "team_id": team,
                "user_id": user,
                "local_day": yesterday(instant),
                "kind": "daily",
                "status": "sent",
                "claim_token": "yesterday",
                "lease_until": instant - timedelta(days=1),
                "attempts": 1,
                "channel_id": f"D{user}",
                "ts": f"{i}.000000",
                "created_at": instant - timedelta(days=1),
                "sent_at": instant - timedelta(days=1),
            }
            for i, (team, user) in enumerate(people)
        ]
        for start in range(0, len(rows), 5_000):
            await conn.execute(insert(Person), rows[start : start + 5_000])
            await conn.execute(insert(OutboxMessage), sent[start : start + 5_000])
    store = installation_store(settings, db.engine)
    for team in teams:
        await store.async_save(
            Installation(
                app_id="ABENCH",
                team_id=team,
                bot_token=token_of(team),
                bot_id=f"B{team}",
                bot_user_id=BOT_USER,
                bot_scopes=["chat:write", "im:write", "users:read"],
                user_id="UINSTALLER",
                installed_at=now.timestamp(),
            )
        )


def yesterday(instant: datetime) -> date:
    return instant.date() - timedelta(days=1)


def cpu_seconds() -> float:
    """This process's user + system CPU, every thread, from /proc/self/stat."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Counting:
    """Statements and commits on an engine, while attached."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.statements = self.commits = 0

    def _statement(self, *args: Any) -> None:
        self.statements += 1

    def _commit(self, *args: Any) -> None:
        self.commits += 1

    def __enter__(self) -> Counting:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)


@dataclass
class Round:
    backend: str
    phase: str
    workspaces: int
    people: int
    wall_s: float
    cpu_s: float
    sent: int
    retry: int
    failed: int
    cancelled: int
    statements: int
    commits: int
    posts: int
    status_429: int
    lost: int
    doubled: int
    unexpected: int
    rows: int
    rows_sent: int
    distinct_ts: int
    load: float

    @property
    def per_second(self) -> float:
        return self.sent / self.wall_s if self.wall_s else float("nan")

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / self.sent if self.sent else float("nan")

    @property
    def exactly_once(self) -> bool:
        return (
            self.lost == self.doubled == self.unexpected == 0
            and self.rows == self.rows_sent == self.distinct_ts == self.people
        )


async def one_round(
    backend: str, phase: str, args: argparse.Namespace, tmp: Path, profile: Path | None
) -> Round:
    zones = pick_zones()
    instant = busiest_instant(zones)
    per_team = args.people if phase == "free" else args.limits_people
    teams = team_ids(args.workspaces)
    people = people_of(teams, per_team)
    double = DoubleProcess(
        functools.partial(configure_double, teams=teams, limits=phase == "limits"),
        double_stats,
        bot_token="xoxb-unused",
        team_id="TUNUSED",
    )
    async with fresh_database(backend, tmp, args.pg_admin) as url, migrated(url) as db:
        slack_url = await double.start()
        try:
            settings = settings_for(url, slack_url)
            await seed(db, settings, people, open_zones(zones, instant), instant)
            bot = create_app(settings)
            await bot.start()
            try:
                result, ctx = await plan(bot, now=instant)
                assert ctx is not None and sum(result.planned.values()) == len(people)
                await maintain(db, "ANALYZE")
                profiler = cProfile.Profile() if profile else None
                load = os.getloadavg()[0]
                with Counting(bot.db) as counted:
                    cpu, started = cpu_seconds(), time.perf_counter()
                    if profiler:
                        profiler.enable()
                    sent = await send_due(bot, clocks=ctx.clocks, now=instant)
                    if profiler:
                        profiler.disable()
                    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
                if profiler and profile:
                    profiler.dump_stats(profile)
                    show_profile(profiler)
                async with bot.db.session() as session:
                    stored = (
                        await session.execute(
                            select(OutboxMessage.status, OutboxMessage.ts).where(
                                OutboxMessage.local_day != yesterday(instant)
                            )
                        )
                    ).all()
            finally:
                await bot.close()
            stats = await double.stats()
        finally:
            await double.close()
    accepted: Counter[tuple[str, str]] = stats["accepted"]
    wanted = {(token_of(team), user) for team, user in people}
    return Round(
        backend=backend,
        phase=phase,
        workspaces=len(teams),
        people=len(people),
        wall_s=wall,
        cpu_s=cpu,
        sent=sent.sent,
        retry=sent.retry,
        failed=sent.failed,
        cancelled=sent.cancelled,
        statements=counted.statements,
        commits=counted.commits,
        posts=sum(stats["post_status"].values()),
        status_429=stats["post_status"].get(429, 0),
        lost=len(wanted - set(accepted)),
        doubled=sum(1 for key in wanted if accepted[key] > 1),
        unexpected=len(set(accepted) - wanted),
        rows=len(stored),
        rows_sent=sum(1 for status, _ in stored if status == "sent"),
        distinct_ts=len({ts for _, ts in stored if ts}),
        load=load,
    )


def show_profile(profiler: cProfile.Profile) -> None:
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
        print(out.getvalue(), file=sys.stderr)


def note(message: str) -> None:
    print(f"[sender] {message}", file=sys.stderr, flush=True)


def mmm(values: Sequence[float], fmt: str) -> str:
    low, mid, high = (fmt.format(v) for v in (min(values), statistics.median(values), max(values)))
    return f"{mid} ({low}-{high})"


def report(rounds: Sequence[Round]) -> str:
    lines = [
        "| backend | phase | workspaces × people | messages/s | CPU ms/message | "
        "statements/msg | commits/msg | 429s | sent/retry/failed | exactly once | rounds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in dict.fromkeys((r.backend, r.phase) for r in rounds):
        rs = [r for r in rounds if (r.backend, r.phase) == key]
        first = rs[0]
        lines.append(
            f"| {key[0]} | {key[1]} | {first.workspaces} × {first.people // first.workspaces} "
            f"| {mmm([r.per_second for r in rs], '{:.0f}')} "
            f"| {mmm([r.cpu_ms for r in rs], '{:.2f}')} "
            f"| {statistics.median(r.statements / max(r.sent, 1) for r in rs):.1f} "
            f"| {statistics.median(r.commits / max(r.sent, 1) for r in rs):.2f} "
            f"| {'/'.join(str(r.status_429) for r in rs)} "
            f"| {'; '.join(f'{r.sent}/{r.retry}/{r.failed}' for r in rs)} "
            f"| {'yes' if all(r.exactly_once for r in rs) else 'NO'} | {len(rs)} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> list[Round]:
    rounds: list[Round] = []
    profile = args.profile
    with tempfile.TemporaryDirectory(prefix="allybot-sender-") as tmp_dir:
        for backend in args.backends:
            for phase in args.phases:
                for i in range(args.rounds):
                    r = await one_round(backend, phase, args, Path(tmp_dir), profile)
                    profile = None
                    note(
                        f"{backend} {phase} round {i + 1}: {r.sent} sent in {r.wall_s:.2f} s "
                        f"({r.per_second:.0f}/s), CPU {r.cpu_ms:.2f} ms/message, "
                        f"{r.statements / max(r.sent, 1):.1f} statements and "
                        f"{r.commits / max(r.sent, 1):.2f} commits/message, {r.status_429} × 429, "
                        f"exactly once: {r.exactly_once}, load {r.load:.2f}"
                    )
                    rounds.append(r)
    return rounds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--people", type=int, default=100, help="per workspace, no limits")
    parser.add_argument("--limits-people", type=int, default=20, help="per workspace, limits")
    parser.add_argument("--rounds", type=int, default=2)
    split = functools.partial(lambda s: [b.strip() for b in s.split(",") if b.strip()])
    parser.add_argument("--backends", type=split, default=["postgresql", "sqlite"])
    parser.add_argument("--phases", type=split, default=list(PHASES))
    parser.add_argument("--pg-admin", default=PG_ADMIN_DSN)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if set(args.phases) - set(PHASES):
        parser.error(f"phases are {PHASES}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    started_load = os.getloadavg()
    rounds = asyncio.run(run(args))
    print(
        f"revision {revision()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average "
        f"{started_load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    )
    print(report(rounds))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rounds], indent=2) + "\n")
    return 0 if all(r.exactly_once for r in rounds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
