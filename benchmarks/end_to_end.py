"""End to end: how many kudos per second allybot posts and DMs, against the floor, in one run.

The floor (benchmarks/floor_bot.py) is the least work a Bolt kudos bot can do: record the
command's trigger_id, ack, then users.info (cached), one INSERT, the channel post, the DM,
one UPDATE. allybot does more (limits, tags, contact for check-ins, Home, every step
recorded so a crash repeats nothing); this measures what that "more" costs per kudos.

For each database (SQLite, PostgreSQL) and round, each server gets a fresh database and the
same load from the same Slack double (benchmarks/double_process.py): a warm-up, an idle
window, then N signed `/kudos` at concurrency C (closed loop). Per server it prints

- acks/s: requests answered 200 over first send → last answer;
- kudos/s: N over first request → last receiver DM (the double's clock, CLOCK_MONOTONIC);
- CPU ms/kudos: the server's whole process group (serve and its workers), from /proc,
  from the first request until every kudos is done, per kudos;
- tx/kudos (PostgreSQL): pg_stat_database.xact_commit of the server's database over the
  same span (read after the server stopped, so every backend flushed its counters), less
  the benchmark's own polls;
- idle: the process group's CPU and (PostgreSQL) its transactions per second while nothing
  happens, after the warm-up (on PostgreSQL the window opens SETTLE_PG_S after it, once the
  backends have reported the warm-up's commits: an idle backend flushes its counters up to
  10 s late, which counted the warm-up's last commits as idle ones);
- RSS: the process group's resident memory idle and after the load;
- exactly once: one channel post per kudos and one DM per receiver and kudos in the
  double's record (and, for allybot, one kudos row per request, each announced and
  notified, no refusal).

Medians over the rounds, and ratios against the floor's median from the same run.

    .venv/bin/python benchmarks/end_to_end.py [-n 1000] [--concurrency 20] [--rounds 2]
        [--databases sqlite,postgresql] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
        [--servers floor,serve,workers] [--idle 5] [--json FILE] [--logs DIR] [--profile DIR]
        [--seed-kudos 1000000 --seed-people 100000]

`--profile DIR` runs plain `allybot serve` (every step in one process) under cProfile from
the end of the warm-up on (benchmarks/profile_serve.py) and prints where its time went, by
package and by function; the other servers run as usual.

`--seed-kudos N --seed-people M` also runs each allybot server (`serve +history`, `workers
+history`) on a copy of a database that already holds N kudos among M people in the load's
workspace (benchmarks/seed_history.py: bulk INSERT … SELECT into a template, seeded once per
backend and timed), next to the empty run, and prints CPU per kudos with history / empty.

Exit status 1 when a request was not acked or a kudos was not posted and DMed exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import pstats
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.double_process import DoubleProcess  # noqa: E402
from benchmarks.events import (  # noqa: E402
    BOT_TOKEN,
    SERVING,
    START_TIMEOUT_S,
    Probe,
    Workload,
    add_users,
    app_env,
    check_stored,
    closed_loop,
    make_workload,
    note,
    revision,
    stop_on_sigterm,
)
from benchmarks.seed_history import TEAM as HISTORY_TEAM  # noqa: E402
from benchmarks.seed_history import Templates  # noqa: E402
from tests.databases import scratch_postgres  # noqa: E402
from tests.slack_double import SlackDouble  # noqa: E402

WARMUP = 20
SETTLE_PG_S = 11.0  # PostgreSQL 15 flushes an idle backend's counters within 10 s
POLL_S = 0.05
SERVERS = {
    "floor": [sys.executable, str(ROOT / "benchmarks" / "floor_bot.py"), "--port", "0"],
    "serve": [sys.executable, "-m", "allybot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
    "workers": [
        *[sys.executable, "-m", "allybot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        *["--workers", "1"],
    ],
}
HISTORY = " +history"  # a server run on a copy of the seeded template
LABELS = {
    "floor": "floor (bare Bolt, benchmarks/floor_bot.py)",
    "serve": "allybot serve",
    "workers": "allybot serve --workers 1",
}


# ---------------------------------------------------------------------------
# The process group, from /proc


def group_pids(pgid: int) -> list[int]:
    """Every live process in a process group (serve and the workers it started)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def group_cpu(pgid: int) -> float:
    """User + system CPU seconds of the group's live processes, plus what their children
    that already exited left them (cutime, cstime)."""
    total = 0
    for pid in group_pids(pgid):
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total / os.sysconf("SC_CLK_TCK")


def group_rss_mb(pgid: int) -> float:
    total = 0
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


# ---------------------------------------------------------------------------
# The double: which posts went where, and when


def _posts(double: SlackDouble) -> dict[str, Any]:
    """Accepted chat.postMessage by channel argument: how many, and the last one's time."""
    count: Counter[str] = Counter()
    last: dict[str, float] = {}
    responses: Counter[str] = Counter()
    methods: Counter[str] = Counter()
    for call in double.calls:
        methods[call.method] += 1
        if not call.ok:
            continue
        if call.method == "chat.postMessage":
            channel = str(call.args.get("channel"))
            count[channel] += 1
            last[channel] = max(last.get(channel, 0.0), call.at)
        elif call.method == "response_url":
            responses[str(call.args.get("_key", "")).split("-")[0]] += 1
    return {"count": count, "last": last, "responses": responses, "methods": methods}


# ---------------------------------------------------------------------------
# One server, one round


@dataclass
class Result:
    server: str
    database: str
    round: int
    acks_per_s: float = 0.0
    kudos_per_s: float = 0.0
    cpu_ms_per_kudos: float = 0.0
    tx_per_kudos: float | None = None
    idle_cpu_pct: float = 0.0
    idle_tx_per_s: float | None = None
    rss_idle_mb: float = 0.0
    rss_end_mb: float = 0.0
    errors: int = 0
    exactly_once: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


class Counts:
    """pg_stat_database.xact_commit of one database, read from the server's admin db."""

    def __init__(self, admin_url: str | None, database_url: str) -> None:
        self.admin_url = admin_url
        self.name = database_url.rsplit("/", 1)[1]

    async def commits(self) -> int | None:
        if self.admin_url is None:
            return None
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            value = await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", self.name
            )
            return int(value)
        finally:
            await conn.close()


class DoneProbe:
    """Counts finished kudos in the server's database with one connection, counting its own
    transactions so they can be taken out of the server's."""

    def __init__(self, server: str, database_url: str) -> None:
        self.sql = (
            "SELECT count(*) FROM floor_kudos WHERE done = 1"
            if server == "floor"
            else "SELECT count(*) FROM inbound WHERE status IN ('done', 'failed')"
        )
        self.url = database_url
        self.queries = 0
        self._pg: asyncpg.Connection | None = None

    async def done(self) -> int:
        self.queries += 1
        if self.url.startswith("sqlite"):
            return await asyncio.to_thread(self._sqlite_done)
        if self._pg is None:
            self._pg = await asyncpg.connect(self.url)
            self.queries += 1  # asyncpg's own introspection on connect
        return int(await self._pg.fetchval(self.sql))

    def _sqlite_done(self) -> int:
        """Read-only, so the probe never takes the write lock the server wants."""
        path = self.url.removeprefix("sqlite:///")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return int(conn.execute(self.sql).fetchone()[0])
        except sqlite3.OperationalError:  # the table is not there yet
            return 0
        finally:
            conn.close()

    async def wait(self, target: int, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.done() >= target:
                return time.monotonic()
            await asyncio.sleep(POLL_S)
        return None

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
            self._pg = None


async def start_server(
    argv: list[str], env: dict[str, str], log_path: Path, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Start a server in a process group of its own; return once it says where it listens."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        if SERVING.search(log_path.read_text(errors="replace")):
            return process
        await asyncio.sleep(0.05)
    stop_group(process)
    raise RuntimeError(f"{argv} did not start:\n" + log_path.read_text(errors="replace"))


def url_of(log_path: Path) -> str:
    match = SERVING.search(log_path.read_text(errors="replace"))
    assert match is not None
    return match.group(1) + "/slack/events"


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server (it stops its workers), SIGKILL to the group if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 9)  # a worker left behind


@dataclass
class Run:
    args: argparse.Namespace
    double: DoubleProcess
    slack_url: str
    tmp: Path
    templates: Templates

    @property
    def origin(self) -> str:
        return self.slack_url.removesuffix("/api/")

    async def one(
        self, server: str, database: str, rnd: int, warm: Workload, load: Workload
    ) -> Result:
        async with self.database(database, server.endswith(HISTORY)) as url:
            return await self._measure(server, database, rnd, url, warm, load)

    @contextlib.asynccontextmanager
    async def database(self, database: str, history: bool) -> Any:
        if history:
            async with self.templates.copy(database, app_env("", self.slack_url)) as url:
                yield url
            return
        if database == "sqlite":
            with tempfile.TemporaryDirectory(dir=self.tmp) as d:
                yield f"sqlite:///{d}/bench.db"
            return
        async with scratch_postgres(self.args.postgres_url, prefix="allybot_e2e") as url:
            yield url

    async def _measure(
        self, server: str, database: str, rnd: int, url: str, warm: Workload, load: Workload
    ) -> Result:
        result = Result(server=server, database=database, round=rnd)
        env = app_env(url, self.slack_url)
        argv = list(SERVERS[server.removeprefix("base ").removesuffix(HISTORY)])
        cwd = ROOT
        if server.startswith("base "):  # the same server from another checkout
            cwd = self.args.baseline
            env["PYTHONPATH"] = str(cwd)
        profile: Path | None = None
        if self.args.profile and server == "serve":
            profile = self.args.profile / f"serve-{database}-{rnd}.prof"
            runner = str(ROOT / "benchmarks" / "profile_serve.py")
            out = ["--out", str(profile.resolve()), "--after", str(WARMUP)]
            argv = [sys.executable, runner, *out, *argv[3:]]
        logs = self.args.logs or self.tmp
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{server.replace(' ', '-')}-{database}-{rnd}.log"
        counts = Counts(self.args.postgres_url if database == "postgresql" else None, url)
        probe = DoneProbe(server, url)
        process = await start_server(argv, env, log_path, cwd)
        pgid = process.pid
        try:
            events_url = url_of(log_path)
            warmed = await closed_loop(events_url, warm.bodies(self.origin), 10)
            if await probe.wait(warm.size, 120) is None:
                raise RuntimeError(f"{server}: warm-up not done")
            await asyncio.sleep(SETTLE_PG_S if database == "postgresql" else 1.0)
            # Idle: nothing arrives; what does the server do on its own?
            tx0, cpu0, t0 = await counts.commits(), group_cpu(pgid), time.monotonic()
            q0 = probe.queries
            await asyncio.sleep(self.args.idle)
            tx1, cpu1, t1 = await counts.commits(), group_cpu(pgid), time.monotonic()
            result.idle_cpu_pct = (cpu1 - cpu0) / (t1 - t0) * 100
            if tx0 is not None and tx1 is not None:
                result.idle_tx_per_s = (tx1 - tx0 - (probe.queries - q0)) / (t1 - t0)
            result.rss_idle_mb = group_rss_mb(pgid)
            # The load.
            q1 = probe.queries
            before = (await self.double.stats())["methods"]
            cpu_start, first = group_cpu(pgid), time.monotonic()
            acks = await closed_loop(events_url, load.bodies(self.origin), self.args.concurrency)
            acked = len(acks.latencies)
            result.acks_per_s = acked / max(acks.finished - acks.started, 1e-9)
            result.errors = sum(acks.errors.values()) + sum(warmed.errors.values())
            done_at = await probe.wait(warm.size + load.size, 120 + load.size / 5)
            cpu_end = group_cpu(pgid)
            result.rss_end_mb = group_rss_mb(pgid)
            result.cpu_ms_per_kudos = (cpu_end - cpu_start) / load.size * 1000
            result.detail["finished"] = done_at is not None
            await probe.close()
            rows = []
            if server != "floor":
                rows = await Probe(url).kudos(load.team_id)
                rows = [r for r in rows if not str(r[0]).startswith("seed:")]  # the history
        finally:
            await probe.close()
            stop_group(process)
        if counts.admin_url is not None:
            await asyncio.sleep(0.5)
            tx2 = await counts.commits()
            if tx2 is not None and tx1 is not None:
                own = probe.queries - q1
                result.tx_per_kudos = (tx2 - tx1 - own) / load.size
        posts = await self.double.stats()
        last_dm = max((posts["last"].get(r, 0.0) for r in load.receivers), default=0.0)
        result.kudos_per_s = load.size / max(last_dm - first, 1e-9)
        expected_dms = Counter(receiver for _, receiver in load.pairs)
        once = (
            result.errors == 0
            and posts["count"][load.channel_id] == load.size
            and all(posts["count"][r] == n for r, n in expected_dms.items())
        )
        if server != "floor":
            stored = check_stored(
                load,
                rows,
                {
                    "posts": posts["count"],
                    "responses": posts["responses"],
                    "response_texts": Counter(),
                },
            )
            result.detail["stored"] = stored
            once = once and stored["exactly_once"]
        result.exactly_once = once
        result.detail["channel_posts"] = posts["count"][load.channel_id]
        calls = posts["methods"] - before
        result.detail["calls_per_kudos"] = {m: n / load.size for m, n in calls.most_common()}
        if profile is not None:
            result.detail["profile"] = str(profile)
        return result


def median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summarise(results: list[Result]) -> list[dict[str, Any]]:
    """Medians per database and server, with ratios against the floor's medians."""
    rows = []
    for database in dict.fromkeys(r.database for r in results):
        floor: dict[str, Any] = {}
        for server in dict.fromkeys(r.server for r in results):
            mine = [r for r in results if r.database == database and r.server == server]
            if not mine:
                continue
            row: dict[str, Any] = {"database": database, "server": server, "rounds": len(mine)}
            for name in (
                "acks_per_s",
                "kudos_per_s",
                "cpu_ms_per_kudos",
                "tx_per_kudos",
                "idle_cpu_pct",
                "idle_tx_per_s",
                "rss_idle_mb",
                "rss_end_mb",
            ):
                row[name] = median([getattr(r, name) for r in mine])
                row[name + "_each"] = [getattr(r, name) for r in mine]
            row["exactly_once"] = all(r.exactly_once for r in mine)
            row["errors"] = sum(r.errors for r in mine)
            if server == "floor":
                floor = row
            if floor:
                row["kudos_ratio"] = row["kudos_per_s"] / floor["kudos_per_s"]
                row["cpu_ratio"] = row["cpu_ms_per_kudos"] / floor["cpu_ms_per_kudos"]
            rows.append(row)
    return rows


def label(server: str) -> str:
    if server.endswith(HISTORY):
        return label(server.removesuffix(HISTORY)) + ", history seeded"
    if server.startswith("base "):
        return LABELS[server.removeprefix("base ")] + " (baseline)"
    return LABELS[server]


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace, meta: dict[str, Any]) -> None:
    print(
        f"end to end: {args.n} signed /kudos at concurrency {args.concurrency}, medians of"
        f" {args.rounds} rounds; {meta['nproc']} CPUs, load average {meta['load_start']:.2f}"
        f" → {meta['load_end']:.2f}; code {meta['revision']}"
    )
    head = (
        "| database | server | acks/s | kudos posted and DMed, per s | × floor |"
        " CPU ms/kudos (process group) | × floor | tx/kudos | idle CPU % | idle tx/s |"
        " RSS idle → end MB | exactly once |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        ratio_k = r.get("kudos_ratio")
        ratio_c = r.get("cpu_ratio")
        each = ", ".join(fmt(v, ".0f") for v in r["kudos_per_s_each"])
        print(
            f"| {r['database']} | {label(r['server'])} | {fmt(r['acks_per_s'], '.0f')} |"
            f" {fmt(r['kudos_per_s'], '.1f')} [{each}] | {fmt(ratio_k, '.2f')} |"
            f" {fmt(r['cpu_ms_per_kudos'], '.2f')} | {fmt(ratio_c, '.2f')} |"
            f" {fmt(r['tx_per_kudos'], '.1f')} | {fmt(r['idle_cpu_pct'], '.1f')} |"
            f" {fmt(r['idle_tx_per_s'], '.1f')} |"
            f" {fmt(r['rss_idle_mb'], '.0f')} → {fmt(r['rss_end_mb'], '.0f')} |"
            f" {'yes' if r['exactly_once'] else 'NO'} |"
        )
    if meta.get("seed_seconds"):
        seeded = ", ".join(f"{db} {t:.0f} s" for db, t in meta["seed_seconds"].items())
        print(
            f"\nhistory: {args.seed_kudos:,} kudos and {args.seed_people:,} people seeded"
            f" ({seeded}); CPU per kudos with history / empty, same run:"
        )
    empty = {(r["database"], r["server"]): r for r in rows}
    for r in rows:
        base = empty.get((r["database"], r["server"].removesuffix(HISTORY)))
        if not r["server"].endswith(HISTORY) or base is None:
            continue
        cpus = ", ".join(fmt(v, ".2f") for v in r["cpu_ms_per_kudos_each"])
        base_cpus = ", ".join(fmt(v, ".2f") for v in base["cpu_ms_per_kudos_each"])
        print(
            f"  {r['database']}, {label(base['server'])}: {fmt(r['cpu_ms_per_kudos'], '.2f')}"
            f" [{cpus}] / {fmt(base['cpu_ms_per_kudos'], '.2f')} [{base_cpus}] ms ="
            f" {r['cpu_ms_per_kudos'] / base['cpu_ms_per_kudos']:.2f}x; kudos/s"
            f" {r['kudos_per_s'] / base['kudos_per_s']:.2f}x; tx/kudos"
            f" {fmt(r['tx_per_kudos'], '.1f')} vs {fmt(base['tx_per_kudos'], '.1f')}"
        )


# Waiting for the next event, and a loopback send descheduled on a busy machine: not CPU.
WAITING = (
    "<method 'poll' of 'select.epoll' objects>",
    "<method 'send' of '_socket.socket' objects>",
)


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time by package (site-packages name, allybot's folders, the standard library's
    modules, built-ins), leaving out `WAITING`."""
    totals: dict[str, float] = {}
    for (file, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name in WAITING:
            continue
        if "site-packages/" in file:
            package = file.split("site-packages/")[1].split("/")[0]
        elif file.startswith(str(ROOT)):
            package = "allybot " + file[len(str(ROOT)) + 1 :].split("/")[0] + "/"
        elif "/lib/python3" in file:
            package = "stdlib " + file.split("/lib/python3")[1].split("/")[1].removesuffix(".py")
        else:
            package = "built-ins"
        totals[package] = totals.get(package, 0.0) + own
    return sorted(totals.items(), key=lambda item: -item[1])


def print_profile(path: str, limit: int = 30) -> None:
    print(f"\nwhere plain `allybot serve` spent its time under load ({path}):")
    stats = pstats.Stats(path, stream=sys.stdout)
    packages = by_package(stats)
    total = sum(t for _, t in packages) or 1.0
    print(f"own time by package, {total:.2f} s in all (waiting in epoll and send left out):")
    for package, own in packages[:15]:
        print(f"  {package:32s} {own:7.2f} s {100 * own / total:5.1f} %")
    print("by own time:")
    stats.sort_stats("tottime").print_stats(limit)
    print("by cumulative time, allybot's own code:")
    stats.sort_stats("cumulative").print_stats(r"/(bot|handlers|scheduler)/", limit)


async def run(args: argparse.Namespace) -> tuple[list[Result], dict[str, Any]]:
    stop_on_sigterm()
    meta: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "load_start": os.getloadavg()[0],
        "revision": revision(),
    }
    plan = {
        (db, server, rnd): (
            make_workload(f"warm {db} {server} {rnd}", WARMUP),
            make_workload(f"{db} {server} {rnd}", args.n),
        )
        for rnd in range(args.rounds)
        for db in args.databases
        for server in args.servers
    }
    for key, (warm, load) in plan.items():
        if key[1].endswith(HISTORY):  # the load goes to the workspace that has the history
            plan[key] = (warm, replace(load, team_id=HISTORY_TEAM))
    users = [u for pair in plan.values() for w in pair for u in w.users()]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="allybot-e2e-") as tmp:
        double = DoubleProcess(
            functools.partial(add_users, users=users), _posts, bot_token=BOT_TOKEN
        )
        try:
            slack_url = await double.start()
            templates = Templates(args.seed_kudos, args.seed_people, args.postgres_url, Path(tmp))
            bench = Run(args, double, slack_url, Path(tmp), templates)
            for rnd in range(args.rounds):
                for db in args.databases:
                    # Alternate the order each round, so no server always runs first.
                    order = args.servers if rnd % 2 == 0 else list(reversed(args.servers))
                    for server in order:
                        note(f"round {rnd + 1}/{args.rounds}: {server} on {db}")
                        warm, load = plan[(db, server, rnd)]
                        r = await bench.one(server, db, rnd, warm, load)
                        note(
                            f"  acks/s {r.acks_per_s:.0f}, kudos/s {r.kudos_per_s:.1f}, "
                            f"CPU {r.cpu_ms_per_kudos:.2f} ms/kudos, "
                            f"tx/kudos {fmt(r.tx_per_kudos, '.1f')}, "
                            f"exactly once {r.exactly_once}"
                        )
                        results.append(r)
            meta["seed_seconds"] = templates.seconds
        finally:
            await templates.close()
            await double.close()
    meta["load_end"] = os.getloadavg()[0]
    return results, meta


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="kudos per server and round (1000)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--servers", default="floor,serve,workers")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="DIR",
        help="also run `base serve` / `base workers` from this checkout, for before/after",
    )
    parser.add_argument("--idle", type=float, default=5.0, help="idle window, seconds (5)")
    parser.add_argument(
        "--seed-kudos",
        type=int,
        default=0,
        metavar="N",
        help="also run each allybot server on a database already holding N kudos (and"
        " --seed-people people) in the load's workspace, next to the empty one",
    )
    parser.add_argument("--seed-people", type=int, default=0, metavar="M")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--logs", type=Path, default=None, help="keep the servers' logs here")
    parser.add_argument(
        "--profile", type=Path, default=None, metavar="DIR", help="cProfile plain serve into DIR"
    )
    args = parser.parse_args(argv)
    args.databases = [d for d in args.databases.split(",") if d]
    args.servers = [s for s in args.servers.split(",") if s]
    if args.seed_kudos or args.seed_people:
        if args.seed_people < 2 or args.seed_kudos < 0:
            parser.error("--seed-people must be at least 2 (givers and receivers differ)")
        args.servers = [
            v for s in args.servers for v in ([s] if s == "floor" else [s, s + HISTORY])
        ]
    known = set(SERVERS) | {f"base {s}" for s in SERVERS if s != "floor"}
    known |= {s + HISTORY for s in known if s != "floor"}
    if set(args.databases) - {"sqlite", "postgresql"} or set(args.servers) - known:
        parser.error("--databases: sqlite, postgresql; --servers: floor, serve, workers")
    if any(s.startswith("base ") for s in args.servers) and args.baseline is None:
        parser.error("base servers need --baseline DIR")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        results, meta = asyncio.run(run(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; every process this run started was stopped", file=sys.stderr)
        return 130
    rows = summarise(results)
    print_table(rows, args, meta)
    for r in results:
        if not r.exactly_once:
            print(f"NOT exactly once: {r.server} on {r.database}, round {r.round}: {r.detail}")
    profiles = [r.detail["profile"] for r in results if "profile" in r.detail]
    if profiles:
        print_profile(profiles[0])
    if args.json:
        args.json.write_text(
            json.dumps(
                {"meta": meta, "summary": rows, "runs": [asdict(r) for r in results]}, indent=2
            )
            + "\n"
        )
    return 0 if all(r.exactly_once for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
