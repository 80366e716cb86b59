"""How fast allybot acks `/kudos`, next to a bare Bolt app measured in the same run.

Slack gives an app 3 s to answer a slash command, and allybot does more than Bolt before it
answers: it records every delivery in its database so nothing acked is ever lost (README,
"How it works"). This measures what that costs, against the targets: allybot (plain
`serve`) at 1.0 × bare Bolt's requests/s or better at concurrency 20, and p99 ack under 50 ms
at 200 requests/s, on SQLite and on PostgreSQL (each printed as met or not).

Everything runs on 127.0.0.1 and is stopped on the way out, also on error:

- the Slack double (tests/slack_double.py) in a child process of its own, knowing every
  user the requests name (its command line has no way to add users), and apart from the
  load client so the two never queue behind one interpreter lock;
- ``allybot serve --port 0`` and ``benchmarks/bare_bolt.py --port 0`` as subprocesses;
- the load client (aiohttp) here, signing each request as Slack does (tests/signing.py).

Two modes, each on both apps: a closed loop (N requests, C in flight) for throughput, and an
open loop (R requests/s for D seconds, each sent on schedule whatever the earlier ones did)
for latency at a given load. For allybot it also waits until every delivery is processed and
checks in its database (and in the double's record of posts) that each kudos happened once.

    .venv/bin/python benchmarks/events.py [-n 2000] [--concurrency 20] [--rate 200]
        [--duration 10] [--database-url postgresql://postgres@127.0.0.1:5432/test]
        [--json figures.json] [--logs DIR] [--profile-allybot allybot.prof]
        [--baseline DIR]

`--baseline DIR` also runs `allybot serve` from another checkout (its own database, the
same double), phase by phase beside the others, so a change and the code before it are
measured in one run against the same bare Bolt.

Exit status 0 when every request was acked with 200 and every kudos happened exactly once,
1 otherwise, 130 when interrupted (Ctrl-C or SIGTERM; the clean-up still runs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import platform
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tests` is not installed: take it from this checkout

from benchmarks.double_process import DoubleProcess  # noqa: E402
from tests import payloads  # noqa: E402
from tests.databases import scratch_postgres  # noqa: E402
from tests.signing import signed_headers  # noqa: E402
from tests.slack_double import SlackDouble  # noqa: E402

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
ACK_DEADLINE_S = 3.0  # Slack's limit for answering a slash command
GIVES_PER_GIVER = 4  # under the daily limit of 5, so no kudos is refused for it
RECEIVERS_PER_WORKLOAD = 50
WARMUP_REQUESTS = 20
REQUEST_TIMEOUT_S = 30.0
START_TIMEOUT_S = 60.0
CLOSED_LOOP_LIMIT_S = 600.0
POLL_S = 0.1
SERVING = re.compile(r"serving on (http://[\d.]+:\d+)")
TARGET_THROUGHPUT = 1.0  # allybot / bare Bolt requests/s, closed loop
TARGET_P99_MS = 50.0  # allybot's p99 ack, open loop


# ---------------------------------------------------------------------------
# Workloads


@dataclass(frozen=True)
class Workload:
    """One phase's requests, in a workspace, channel and set of people of its own.

    Phases never share givers (the daily limit is per giver and workspace), and each
    phase's rows, posts and refusals can be counted apart by team, channel and key prefix.
    """

    name: str
    team_id: str
    channel_id: str
    givers: list[str]
    receivers: list[str]
    pairs: list[tuple[str, str]]  # (giver, receiver) of each request
    trigger_ids: list[str]

    @property
    def size(self) -> int:
        return len(self.pairs)

    def users(self) -> list[tuple[str, str]]:
        """(user_id, team_id) of everyone the double must know for users.info."""
        return [(uid, self.team_id) for uid in [*self.givers, *self.receivers]]

    def source_keys(self) -> set[str]:
        """The kudos.source_key allybot stores for each request (handlers/commands.py)."""
        return {f"command:/kudos:{t}" for t in self.trigger_ids}

    def bodies(self, double_origin: str) -> list[str]:
        """Form bodies as Slack posts them: a valid kudos each, with its own trigger_id."""
        return [
            payloads.slash_command(
                command="/kudos",
                text=f"<@{receiver}|{receiver.lower()}> thanks for the calm release, "
                f"request {i} #teamwork",
                user_id=giver,
                user_name=giver.lower(),
                team_id=self.team_id,
                channel_id=self.channel_id,
                response_url=f"{double_origin}/response/{self.team_id}-{i}",
                trigger_id=self.trigger_ids[i],
            )
            for i, (giver, receiver) in enumerate(self.pairs)
        ]


def make_workload(name: str, n: int) -> Workload:
    """n kudos spread over ceil(n/4) givers and 50 receivers, all new to allybot.

    Request i comes from giver i mod G in round i div G and goes to receiver (giver + round)
    mod 50, so no giver names the same person twice (allybot counts a repeat within 10
    minutes once) and every kudos is one allybot must store and post.
    """
    tag = uuid.uuid4().hex[:8].upper()
    givers = [f"U{tag}G{i:05d}" for i in range(max(1, math.ceil(n / GIVES_PER_GIVER)))]
    receivers = [f"U{tag}R{i:03d}" for i in range(RECEIVERS_PER_WORKLOAD)]
    millis = int(time.time() * 1000)
    return Workload(
        name=name,
        team_id=f"T{tag}",
        channel_id=f"C{tag}",
        givers=givers,
        receivers=receivers,
        pairs=[
            (
                givers[i % len(givers)],
                receivers[(i % len(givers) + i // len(givers)) % len(receivers)],
            )
            for i in range(n)
        ],
        trigger_ids=[f"{millis}.{i}.{uuid.uuid4().hex}" for i in range(n)],
    )


# ---------------------------------------------------------------------------
# The Slack double, in a process of its own


def add_users(double: SlackDouble, users: list[tuple[str, str]]) -> None:
    """Every giver and receiver of the workloads, known to the double."""
    for user_id, team_id in users:
        double.add_user(user_id, team_id=team_id)


def _double_stats(double: SlackDouble) -> dict[str, Counter[str]]:
    """Accepted calls by method, accepted posts by channel, and response_url posts by team."""
    ok = [c for c in double.calls if c.ok]
    return {
        "methods": Counter(c.method for c in ok),
        "posts": Counter(str(c.args.get("channel")) for c in ok if c.method == "chat.postMessage"),
        "responses": Counter(
            str(c.args.get("_key", "")).split("-")[0] for c in ok if c.method == "response_url"
        ),
        "response_texts": Counter(
            f"{str(c.args.get('_key', '')).split('-')[0]}|{str(c.args.get('text', ''))[:120]}"
            for c in ok
            if c.method == "response_url"
        ),
    }


# ---------------------------------------------------------------------------
# The two apps, as subprocesses


@dataclass
class App:
    """A running app process and where it listens."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"


def app_env(database_url: str, slack_url: str) -> dict[str, str]:
    """This environment minus any real Slack settings, pointed at the double."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ALLYBOT_")) and k != "DATABASE_URL"
    }
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_url,
        DATABASE_URL=database_url,
        ALLYBOT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


async def start_app(
    name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path = ROOT
) -> App:
    """Start a server on port 0 and return once its log says where it listens."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        match = SERVING.search(log_path.read_text(errors="replace"))
        if match:
            return App(name=name, process=process, url=match.group(1), log_path=log_path)
        await asyncio.sleep(0.05)
    stop_process(process)
    raise RuntimeError(f"{name} did not start:\n" + log_path.read_text(errors="replace"))


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (allybot finishes work in flight), then SIGKILL if it takes too long."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU a process has used so far (Linux), to show where the work goes."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------
# The database


@contextlib.asynccontextmanager
async def fresh_database(
    admin_url: str | None, tmp: Path, name: str = "allybot"
) -> AsyncIterator[str]:
    """A new SQLite file, or a new PostgreSQL database dropped afterwards (as tests do)."""
    if admin_url is None:
        yield f"sqlite:///{tmp / f'{name}.db'}"
        return
    if admin_url.startswith("sqlite"):
        yield admin_url
        return
    async with scratch_postgres(admin_url, prefix="allybot_bench") as url:
        yield url


class Probe:
    """Reads allybot's tables from outside the process, without slowing allybot down.

    SQLite is opened read-only: allybot begins every transaction with BEGIN IMMEDIATE, and a
    poller taking the write lock would queue allybot's own writes behind it.
    """

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    async def rows(self, sql: str, team_id: str) -> list[tuple[Any, ...]]:
        """Rows of a query with one parameter, written `?`."""
        if self.url.startswith("sqlite"):
            return await asyncio.to_thread(self._sqlite_rows, sql, team_id)
        conn = await asyncpg.connect(self.url)
        try:
            return [tuple(r) for r in await conn.fetch(sql.replace("?", "$1"), team_id)]
        finally:
            await conn.close()

    def _sqlite_rows(self, sql: str, team_id: str) -> list[tuple[Any, ...]]:
        path = self.url.removeprefix("sqlite:///")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return list(conn.execute(sql, (team_id,)))
        finally:
            conn.close()

    async def delivery_states(self, team_id: str) -> Counter[str]:
        rows = await self.rows(
            "SELECT status, count(*) FROM inbound WHERE team_id = ? GROUP BY status", team_id
        )
        return Counter({str(status): int(count) for status, count in rows})

    async def reclaimed(self, team_id: str) -> int:
        """Deliveries the scheduler's recovery claimed again (attempts > 1): their lease ran
        out before they were done, so they may have been worked on twice."""
        rows = await self.rows(
            "SELECT count(*) FROM inbound WHERE team_id = ? AND attempts > 1", team_id
        )
        return int(rows[0][0])

    async def kudos(self, team_id: str) -> list[tuple[Any, ...]]:
        return await self.rows(
            "SELECT source_key, receiver_id, announced_at IS NOT NULL, notified_at IS NOT NULL"
            " FROM kudos WHERE team_id = ?",
            team_id,
        )


async def wait_processed(probe: Probe, workload: Workload, timeout: float) -> float | None:
    """perf_counter() when every delivery of the workload is done or failed; None on timeout."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        states = await probe.delivery_states(workload.team_id)
        if states["done"] + states["failed"] >= workload.size:
            return time.perf_counter()
        await asyncio.sleep(POLL_S)
    return None


# ---------------------------------------------------------------------------
# The load client


@dataclass
class LoadResult:
    """What the client saw: latency of each 200, the errors, and when it all happened."""

    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    send_lags: list[float] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    def record(self, outcome: int | str, latency: float) -> None:
        self.sent += 1
        if outcome == 200:
            self.latencies.append(latency)
        else:
            self.errors[f"HTTP {outcome}" if isinstance(outcome, int) else outcome] += 1
        self.finished = max(self.finished, time.perf_counter())


async def post_signed(session: aiohttp.ClientSession, url: str, body: str) -> int | str:
    """POST one body signed as Slack signs it, at send time; the status or the error's name."""
    headers = signed_headers(body, SIGNING_SECRET)
    try:
        async with session.post(url, data=body.encode(), headers=headers) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return type(exc).__name__


def client_session(limit: int) -> aiohttp.ClientSession:
    """Keep-alive connections as Slack uses; limit 0 means as many as the load needs."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    )


async def closed_loop(url: str, bodies: Sequence[str], concurrency: int) -> LoadResult:
    """`concurrency` senders, each posting the next body as soon as its last one is answered."""
    result = LoadResult()
    queue = iter(bodies)  # shared: each body is taken by exactly one sender
    async with client_session(concurrency) as session:
        result.started = time.perf_counter()
        stop_at = result.started + CLOSED_LOOP_LIMIT_S

        async def sender() -> None:
            for body in queue:
                if time.perf_counter() > stop_at:
                    result.errors["not sent (time limit)"] += 1
                    continue
                sent_at = time.perf_counter()
                outcome = await post_signed(session, url, body)
                result.record(outcome, time.perf_counter() - sent_at)

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return result


async def open_loop(url: str, bodies: Sequence[str], rate: float) -> LoadResult:
    """Send body i at start + i/rate whatever the others did, timing from that schedule.

    Latency counts from the scheduled instant, so a client that falls behind shows up as
    latency (and as send lag) instead of silently lowering the load.
    """
    result = LoadResult()
    async with client_session(0) as session:

        async def timed(body: str, due: float) -> None:
            result.send_lags.append(time.perf_counter() - due)
            outcome = await post_signed(session, url, body)
            result.record(outcome, time.perf_counter() - due)

        result.started = time.perf_counter() + 0.05
        tasks: list[asyncio.Task[None]] = []
        for i, body in enumerate(bodies):
            due = result.started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(timed(body, due)))
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 5)
    return result


# ---------------------------------------------------------------------------
# Figures


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; NaN when nothing was measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Figures:
    """One app in one mode, as printed and written to --json."""

    app: str
    mode: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_kinds: dict[str, int]
    within_3s: float
    max_send_lag_ms: float | None = None
    app_cpu_ms_per_request: float | None = None
    processed_s: float | None = None
    drain_s: float | None = None
    stored: dict[str, Any] | None = None


def figures(app: str, mode: str, result: LoadResult) -> Figures:
    acked = len(result.latencies)
    span = max(result.finished - result.started, 1e-9)
    return Figures(
        app=app,
        mode=mode,
        requests=result.sent + result.errors["not sent (time limit)"],
        rps=acked / span,
        p50_ms=percentile(result.latencies, 0.50) * 1000,
        p99_ms=percentile(result.latencies, 0.99) * 1000,
        errors=sum(result.errors.values()),
        error_kinds=dict(result.errors),
        within_3s=sum(1 for x in result.latencies if x <= ACK_DEADLINE_S) / max(result.sent, 1),
        max_send_lag_ms=max(result.send_lags) * 1000 if result.send_lags else None,
    )


def check_stored(
    workload: Workload, rows: list[tuple[Any, ...]], double: dict[str, Counter[str]]
) -> dict[str, Any]:
    """Each request stored once, posted once in the channel and DMed once to its receiver."""
    expected_keys = workload.source_keys()
    keys = Counter(str(row[0]) for row in rows)
    expected_dms = Counter(receiver for _, receiver in workload.pairs)
    report: dict[str, Any] = {
        "rows": len(rows),
        "missing": len(expected_keys - keys.keys()),
        "unexpected": len(keys.keys() - expected_keys),
        "duplicated": sum(1 for n in Counter((r[0], r[1]) for r in rows).values() if n > 1),
        "receivers_match": Counter(str(r[1]) for r in rows) == expected_dms,
        "announced": sum(1 for r in rows if r[2]),
        "notified": sum(1 for r in rows if r[3]),
        "channel_posts": double["posts"][workload.channel_id],
        "dms": sum(double["posts"][r] for r in workload.receivers),
        "dms_match": all(double["posts"][r] == n for r, n in expected_dms.items()),
        "refusals": double["responses"][workload.team_id],
        "refusal_examples": [
            key.split("|", 1)[1]
            for key, _ in double["response_texts"].most_common()
            if key.startswith(workload.team_id + "|")
        ][:3],
    }
    report["exactly_once"] = (
        report["rows"] == workload.size
        and report["missing"] == report["unexpected"] == report["duplicated"] == 0
        and report["receivers_match"]
        and report["announced"] == report["notified"] == workload.size
        and report["channel_posts"] == workload.size
        and report["dms_match"]
        and report["refusals"] == 0
    )
    return report


# ---------------------------------------------------------------------------
# A run


MODES = ("warm-up", "closed", "open")
APPS = ("bare bolt", "allybot")
BASE = "base"  # allybot from the --baseline checkout


def apps_of(args: argparse.Namespace) -> tuple[str, ...]:
    return (*APPS, BASE) if args.baseline else APPS


def make_plan(args: argparse.Namespace) -> dict[str, dict[str, Workload]]:
    """Every workload of the run by mode and app, made up front so the double knows all users."""
    sizes = {
        "warm-up": WARMUP_REQUESTS,
        "closed": args.n,
        "open": max(1, round(args.rate * args.duration)),
    }
    return {
        mode: {app: make_workload(f"{mode} {app}", sizes[mode]) for app in apps_of(args)}
        for mode in MODES
    }


def users_of(plan: dict[str, dict[str, Workload]]) -> list[tuple[str, str]]:
    return [user for by_app in plan.values() for w in by_app.values() for user in w.users()]


Load = Callable[[str, Sequence[str], Any], Awaitable[LoadResult]]
WARMUP_CONCURRENCY = 10


def load_for(mode: str, args: argparse.Namespace) -> tuple[Load, Any]:
    """The load of a mode and its knob: closed loops take a concurrency, the open loop a rate."""
    if mode == "open":
        return open_loop, args.rate
    if mode == "closed":
        return closed_loop, args.concurrency
    return closed_loop, WARMUP_CONCURRENCY


@dataclass
class Bench:
    """What the phases share: the apps, the double, and a reader of allybot's database."""

    apps: dict[str, App]
    double: DoubleProcess
    double_origin: str
    probes: dict[str, Probe]  # each allybot's database, by app
    checked: list[tuple[Figures, Workload]] = field(default_factory=list)

    async def run_phase(
        self, app_name: str, mode: str, workload: Workload, load: Load, knob: Any
    ) -> Figures:
        """One load on one app; for allybot, until every delivery is processed, too."""
        app = self.apps[app_name]
        bodies = workload.bodies(self.double_origin)
        cpu_before = cpu_seconds(app.process.pid)
        note(f"{mode}: {app_name}, {len(bodies)} requests")
        result = await load(app.events_url, bodies, knob)
        figs = figures(app_name, mode, result)
        if app_name in self.probes:
            done = await wait_processed(self.probes[app_name], workload, 120 + workload.size / 10)
            if done is not None:
                figs.processed_s = done - result.started
                figs.drain_s = max(0.0, done - result.finished)
            self.checked.append((figs, workload))
        cpu_after = cpu_seconds(app.process.pid)
        if cpu_before is not None and cpu_after is not None:
            figs.app_cpu_ms_per_request = (cpu_after - cpu_before) / max(result.sent, 1) * 1000
        if app.process.poll() is not None:
            raise RuntimeError(f"{app_name} exited during {mode}:\n{app.log_path.read_text()}")
        return figs

    async def check_all(self) -> dict[str, int]:
        """Check every allybot phase against its database and the double's record of posts.

        Returns the Slack calls the double accepted by method, plus the posts that were not
        a kudos post or DM (the scheduler's), which compete with kudos for allybot's time.
        """
        stats = await self.double.stats()
        kudos_posts = 0
        for figs, workload in self.checked:
            probe = self.probes[figs.app]
            rows = await probe.kudos(workload.team_id)
            figs.stored = check_stored(workload, rows, stats)
            figs.stored["reclaimed"] = await probe.reclaimed(workload.team_id)
            kudos_posts += figs.stored["channel_posts"] + figs.stored["dms"]
        calls = dict(stats["methods"])
        calls["other chat.postMessage"] = calls.get("chat.postMessage", 0) - kudos_posts
        return calls


def note(message: str) -> None:
    """Progress on stderr, so stdout holds only the results."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def server_commands(profile: str | None, baseline: Path | None) -> dict[str, list[str]]:
    """How each app is started: the same way, as a subprocess on port 0."""
    serve = ["-m", "allybot.cli", "serve", "--host", "127.0.0.1", "--port", "0"]
    allybot = serve
    if profile:
        allybot = ["-m", "cProfile", "-o", str(Path(profile).resolve()), *serve]
    commands = {
        "bare bolt": [sys.executable, str(ROOT / "benchmarks" / "bare_bolt.py"), "--port", "0"],
        "allybot": [sys.executable, *allybot],
    }
    if baseline is not None:  # run from there, its packages first on the path
        commands[BASE] = [sys.executable, *serve]
    return commands


async def start_everything(
    stack: contextlib.AsyncExitStack, args: argparse.Namespace, users: list[tuple[str, str]]
) -> tuple[Bench, str]:
    """The double, allybot's database and both apps, each undone by `stack` on the way out."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="allybot-bench-")))
    double = DoubleProcess(
        functools.partial(add_users, users=users), _double_stats, bot_token=BOT_TOKEN
    )
    stack.callback(double.stop)
    slack_url = await double.start()
    apps: dict[str, App] = {}
    databases = {
        name: await stack.enter_async_context(fresh_database(args.database_url, tmp, name))
        for name in ("allybot", BASE)[: 2 if args.baseline else 1]
    }
    for name, argv in server_commands(args.profile_allybot, args.baseline).items():
        cwd = args.baseline.resolve() if name == BASE else ROOT
        env = app_env(databases.get(name, databases["allybot"]), slack_url)
        if name == BASE:
            env["PYTHONPATH"] = str(cwd)
        log_dir = args.logs or tmp
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{name.replace(' ', '_')}.log"
        apps[name] = await start_app(name, argv, env, log_path, cwd)
        stack.callback(stop_process, apps[name].process)
    note(f"double at {slack_url}; " + ", ".join(f"{a.name} at {a.url}" for a in apps.values()))
    probes = {name: Probe(url) for name, url in databases.items()}
    bench = Bench(apps, double, slack_url.removesuffix("/api/"), probes)
    return bench, "postgresql" if databases["allybot"].startswith("postgresql") else "sqlite"


def stop_on_sigterm() -> None:
    """SIGTERM (from `timeout`, say) cancels the run like Ctrl-C, so the exit stack still
    stops every process and drops the database it made."""
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then the closed loop on both apps, then the open loop on both apps."""
    stop_on_sigterm()
    plan = make_plan(args)
    results: list[Figures] = []
    load_at_start = os.getloadavg()[0]
    async with contextlib.AsyncExitStack() as stack:
        bench, backend = await start_everything(stack, args, users_of(plan))
        for mode in MODES:
            load, knob = load_for(mode, args)
            for app in apps_of(args):
                figs = await bench.run_phase(app, mode, plan[mode][app], load, knob)
                if mode != "warm-up":
                    results.append(figs)
        double_calls = await bench.check_all()
    return {
        "config": {
            "n": args.n,
            "concurrency": args.concurrency,
            "rate": args.rate,
            "duration": args.duration,
            "database": backend,
            "profiled": bool(args.profile_allybot),
            "baseline": str(args.baseline) if args.baseline else None,
        },
        "machine": {**machine(), "loadavg_at_start": load_at_start},
        "results": [asdict(f) for f in results],
        "ratios": {mode: ratios(results, mode) for mode in ("closed", "open")},
        "base_ratios": {mode: ratios(results, mode, BASE) for mode in ("closed", "open")}
        if args.baseline
        else None,
        "double_calls": double_calls,
    }


def machine() -> dict[str, Any]:
    """Enough to tell runs on different hosts, code or background load apart."""
    return {
        "revision": revision(),
        "nproc": os.cpu_count(),
        "loadavg_at_end": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def revision() -> str:
    """The commit measured, and whether the work tree differed from it (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "diff-index", "--name-only", "HEAD", "--"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.split()
    except OSError:
        return "unknown"
    return f"{head} + {len(changed)} changed files" if changed else head


def ratios(results: Sequence[Figures], mode: str, app: str = "allybot") -> dict[str, float]:
    """allybot (or the baseline's) / bare Bolt, from the same run."""
    by_app = {f.app: f for f in results if f.mode == mode}
    ally, bare = by_app[app], by_app["bare bolt"]
    return {
        "throughput": ally.rps / bare.rps if bare.rps else math.nan,
        "p50": ally.p50_ms / bare.p50_ms if bare.p50_ms else math.nan,
        "p99": ally.p99_ms / bare.p99_ms if bare.p99_ms else math.nan,
    }


# ---------------------------------------------------------------------------
# Output


def print_report(report: dict[str, Any]) -> None:
    config, m = report["config"], report["machine"]
    print(
        f"allybot vs bare Bolt, /kudos, database {config['database']}; "
        f"{m['nproc']} CPUs, load average {m['loadavg_at_start']:.2f} at start,"
        f" {m['loadavg_at_end'][0]:.2f} at end; "
        f"code {m['revision']}" + ("; allybot under cProfile" if config["profiled"] else "")
    )
    results = [Figures(**r) for r in report["results"]]
    titles = {
        "closed": f"closed loop: {config['n']} requests, concurrency {config['concurrency']}",
        "open": f"open loop: {config['rate']:g} requests/s for {config['duration']:g} s",
    }
    for mode, title in titles.items():
        print(f"\n{title}")
        print(
            f"{'app':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'≤3 s':>7} {'errors':>7}"
            f" {'CPU ms/req':>10}" + (f" {'max lag ms':>10}" if mode == "open" else "")
        )
        for f in (r for r in results if r.mode == mode):
            cpu = f.app_cpu_ms_per_request
            line = (
                f"{f.app:<10} {f.rps:>8.1f} {f.p50_ms:>8.1f} {f.p99_ms:>8.1f}"
                f" {f.within_3s:>7.1%} {f.errors:>7d} {'-' if cpu is None else f'{cpu:.2f}':>10}"
            )
            if mode == "open":
                line += f" {f.max_send_lag_ms or 0:>10.1f}"
            print(line)
            if f.error_kinds:
                print(f"{'':<10} errors: {f.error_kinds}")
        for app, key in (("allybot", "ratios"), (BASE, "base_ratios")):
            if not report.get(key):
                continue
            r = report[key][mode]
            print(
                f"{app}/bare: throughput {r['throughput']:.2f}x, p50 {r['p50']:.2f}x,"
                f" p99 {r['p99']:.2f}x"
            )
            for f in (r for r in results if r.mode == mode and r.app == app):
                print(target_line(mode, f, r["throughput"]))
                print(processing_line(f))
    calls = ", ".join(f"{k} {v}" for k, v in sorted(report["double_calls"].items()))
    print(f"\nSlack calls the double accepted in the whole run: {calls}")


def target_line(mode: str, f: Figures, throughput: float) -> str:
    """The closed loop against the throughput target, the open loop against the p99 one."""
    if mode == "closed":
        met = throughput >= TARGET_THROUGHPUT
        return (
            f"target: requests/s >= {TARGET_THROUGHPUT:g}x bare Bolt: {'met' if met else 'NOT met'}"
        )
    met = f.p99_ms < TARGET_P99_MS
    return (
        f"target: p99 ack < {TARGET_P99_MS:g} ms: {'met' if met else 'NOT met'} ({f.p99_ms:.1f} ms)"
    )


def processing_line(f: Figures) -> str:
    if f.processed_s is None or f.drain_s is None:
        return f"{f.app}: NOT all {f.requests} deliveries were processed in time"
    s = f.stored or {}
    verdict = "yes" if s.get("exactly_once") else "NO"
    return (
        f"{f.app}: all {f.requests} processed {f.processed_s:.1f} s after the first request"
        f" ({f.drain_s:.1f} s after the last ack); stored exactly once: {verdict}"
        f" ({s.get('rows')} rows, {s.get('missing')} missing, {s.get('duplicated')} duplicated,"
        f" receivers match: {s.get('receivers_match')}; {s.get('channel_posts')} channel posts,"
        f" {s.get('dms')} DMs, {s.get('refusals')} refusals)"
        + (
            f"; {s['reclaimed']} re-run by recovery after their lease ran out"
            if s.get("reclaimed")
            else ""
        )
        + "".join(f"\n  refused: {text!r}" for text in s.get("refusal_examples") or [])
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="closed loop: requests (2000)")
    parser.add_argument("--concurrency", type=int, default=20, help="closed loop: in flight (20)")
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: requests/s (200)")
    parser.add_argument("--duration", type=float, default=10.0, help="open loop: seconds (10)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server to create (and drop) a fresh database on, e.g. "
        "postgresql://postgres@127.0.0.1:5432/test; default: a new SQLite file",
    )
    parser.add_argument("--warmup-concurrency", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="DIR",
        help="also run allybot from this checkout (as 'base'), for before/after in one run",
    )
    parser.add_argument(
        "--logs", type=Path, default=None, help="keep the apps' logs in this directory"
    )
    parser.add_argument(
        "--profile-allybot",
        default=None,
        metavar="FILE",
        help="run allybot under cProfile and write its stats here (slows allybot down)",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.concurrency < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("-n, --concurrency, --rate and --duration must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = asyncio.run(run(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; every process this run started was stopped", file=sys.stderr)
        return 130
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    ok = all(
        r["errors"] == 0 and (r["app"] == "bare bolt" or (r["stored"] or {}).get("exactly_once"))
        for r in report["results"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
