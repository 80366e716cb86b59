"""allybot as 1, 2 and 4 replicas on one PostgreSQL, under a fixed rate of kudos.

A company runs allybot as several `allybot serve` processes behind a load balancer on one
database. This sends the same bounded open-loop load to 1, 2 and 4 of them in turn: signed
`/kudos` slash commands and channel `message` events that say "kudos <@U…>", half and half,
with some Slack retries (an event sent again, same event_id, with X-Slack-Retry-Num, to
another replica) mixed in. It measures the acks (requests/s, p50/p99, errors), waits until
every replica has finished the work after its acks, and checks that every kudos was stored,
posted and DMed exactly once, however many replicas saw it. The issue's target: 0 errors and
p99 ack < 250 ms at 200 requests/s for 60 s with 2 replicas.

Everything runs on 127.0.0.1. Per replica count: a fresh PostgreSQL database (dropped
afterwards), the Slack double (tests/slack_double.py) in a child process knowing every user
the requests name, N `allybot serve --port 0 --tick-seconds T` subprocesses started together
(each migrates on start, behind its advisory lock), and the load client here, which picks the
replica of each request round-robin (request i goes to replica i mod N, a retry to the
replica after its original's), as a round-robin load balancer would, without a proxy of its
own competing for the two CPUs.

    .venv/bin/python benchmarks/replicas.py [--replicas 1,2,4] [--rate 200] [--duration 60]
        [--retry-share 0.05] [--message-share 0.5] [--tick-seconds 60]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--json FILE] [--logs DIR]

Exit status 0 when every request was acked with a 2xx and every kudos happened exactly once
at every replica count, 1 otherwise, 130 when interrupted (Ctrl-C or SIGTERM; the clean-up
still runs: every process is stopped and every database dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `benchmarks` and `tests` are not installed

from benchmarks.double_process import DoubleProcess  # noqa: E402
from benchmarks.events import (  # noqa: E402
    ACK_DEADLINE_S,
    BOT_TOKEN,
    GIVES_PER_GIVER,
    POLL_S,
    RECEIVERS_PER_WORKLOAD,
    SIGNING_SECRET,
    START_TIMEOUT_S,
    App,
    add_users,
    app_env,
    cpu_seconds,
    note,
    percentile,
    revision,
    start_app,
    stop_on_sigterm,
    stop_process,
)
from bot.services.kudos import message_source_key  # noqa: E402
from tests import payloads  # noqa: E402
from tests.databases import scratch_postgres  # noqa: E402
from tests.signing import signed_post  # noqa: E402
from tests.slack_double import SlackDouble  # noqa: E402

REQUEST_TIMEOUT_S = 10.0  # no answer by then counts as an error (Slack gives up after 3 s)
RETRY_WINDOW_S = 2.0  # a retry follows its original by up to this long
WARMUP_PER_REPLICA = 10
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


# ---------------------------------------------------------------------------
# The load: unique kudos, as commands and messages, and retries of some messages


@dataclass(frozen=True)
class Request:
    """One POST to /slack/events: a first delivery, or Slack's retry of request `retry_of`."""

    kind: str  # "command", "message" or "retry"
    body: str
    retry_of: int | None = None
    retry_num: int = 0


@dataclass
class Workload:
    """A phase's requests, in a workspace and channel of its own, and the kudos they give.

    Every giver gives at most four kudos, each to a different receiver, so none is refused
    for the daily limit (5) or merged as a repeat within 10 minutes: each unique request is
    exactly one kudos allybot must store.
    """

    tag: str
    total: int
    unique: int
    givers: list[str]
    receivers: list[str]
    requests: list[Request] = field(default_factory=list)
    kudos: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> giver, receiver

    @property
    def team_id(self) -> str:
        return f"T{self.tag}"

    @property
    def channel_id(self) -> str:
        return f"C{self.tag}"

    def users(self) -> list[tuple[str, str]]:
        """(user_id, team_id) of everyone the double must know for users.info."""
        return [(uid, self.team_id) for uid in [*self.givers, *self.receivers]]

    def count(self, kind: str) -> int:
        return sum(1 for r in self.requests if r.kind == kind)


def new_workload(total: int, retry_share: float) -> Workload:
    """The people of a load of `total` requests, about `retry_share` of them retries."""
    tag = uuid.uuid4().hex[:8].upper()
    unique = total - round(total * retry_share)
    givers = [f"U{tag}G{i:05d}" for i in range(max(1, math.ceil(unique / GIVES_PER_GIVER)))]
    receivers = [f"U{tag}R{i:03d}" for i in range(RECEIVERS_PER_WORKLOAD)]
    return Workload(tag, total, unique, givers, receivers)


def build_requests(
    w: Workload, *, double_origin: str, message_share: float, rate: float, seed: int
) -> None:
    """Fill in the requests: retries in random slots (each of a message event sent up to
    RETRY_WINDOW_S earlier, some only milliseconds earlier, so the two race on two
    replicas), new kudos in the others, a `message_share` of them channel messages
    ("kudos <@U…> …", which allybot stores without a post of its own) and the rest `/kudos`.

    Kudos n comes from giver n mod G in round n div G and goes to receiver (giver + round)
    mod 50, so no giver names the same person twice.
    """
    rng = random.Random(seed)
    retry_slots = set(rng.sample(range(1, w.total), w.total - w.unique))
    window = max(1, int(RETRY_WINDOW_S * rate))
    millis, base_ts = int(time.time() * 1000), int(time.time())
    messages: list[int] = []  # indexes of message events, for retries to pick from
    tries: Counter[int] = Counter()
    n = 0
    for slot in range(w.total):
        recent = [m for m in messages[-window:] if slot - m <= window]
        if (slot in retry_slots and recent) or n >= w.unique:
            original = rng.choice(recent or messages)
            tries[original] += 1
            w.requests.append(
                Request("retry", w.requests[original].body, original, tries[original])
            )
            continue
        giver = w.givers[n % len(w.givers)]
        receiver = w.receivers[(n % len(w.givers) + n // len(w.givers)) % len(w.receivers)]
        if rng.random() < message_share:
            ts = f"{base_ts}.{n:06d}"
            event = payloads.message_event(
                channel=w.channel_id,
                user=giver,
                text=f"kudos <@{receiver}> for the calm release, message {n} #teamwork",
                ts=ts,
                team=w.team_id,
            )
            body = payloads.event_callback(event, team_id=w.team_id, event_id=f"Ev{w.tag}{n:06d}")
            w.kudos[message_source_key(w.channel_id, ts, giver)] = (giver, receiver)
            messages.append(len(w.requests))
            w.requests.append(Request("message", body))
        else:
            trigger_id = f"{millis}.{n}.{uuid.uuid4().hex}"
            body = payloads.slash_command(
                command="/kudos",
                text=f"<@{receiver}|{receiver.lower()}> thanks for the calm release, "
                f"request {n} #teamwork",
                user_id=giver,
                user_name=giver.lower(),
                team_id=w.team_id,
                channel_id=w.channel_id,
                response_url=f"{double_origin}/response/{w.team_id}-{n}",
                trigger_id=trigger_id,
            )
            w.kudos[f"command:/kudos:{trigger_id}"] = (giver, receiver)
            w.requests.append(Request("command", body))
        n += 1
    w.unique = n  # fewer when no message event was there to retry in an early retry slot


def targets(requests: Sequence[Request], replicas: int) -> list[int]:
    """Round robin: request i to replica i mod N; a retry to the replica after its
    original's, as when Slack's retry lands on the other replica."""
    chosen: list[int] = []
    for i, r in enumerate(requests):
        replica = i % replicas
        if r.retry_of is not None and replicas > 1 and replica == chosen[r.retry_of]:
            replica = (replica + 1) % replicas
        chosen.append(replica)
    return chosen


# ---------------------------------------------------------------------------
# The Slack double, in a process of its own, reporting what allybot did through it


def _double_stats(double: SlackDouble) -> dict[str, Counter[str]]:
    """Accepted posts by channel, reactions by message, ephemerals by channel, response_url
    posts by team, accepted calls by method, and every call answered with an error."""
    ok = [c for c in double.calls if c.ok]
    return {
        "methods": Counter(c.method for c in ok),
        "posts": Counter(str(c.args.get("channel")) for c in ok if c.method == "chat.postMessage"),
        "reactions": Counter(
            f"{c.args.get('channel')}|{c.args.get('timestamp')}"
            for c in ok
            if c.method == "reactions.add"
        ),
        "kudos_dms": Counter(
            str(c.args.get("channel"))
            for c in ok
            if c.method == "chat.postMessage" and "gave you kudos" in str(c.args.get("text"))
        ),
        "ephemerals": Counter(
            str(c.args.get("channel")) for c in ok if c.method == "chat.postEphemeral"
        ),
        "responses": Counter(
            str(c.args.get("_key", "")).split("-")[0] for c in ok if c.method == "response_url"
        ),
        "errors": Counter(f"{c.method}: {c.error or c.status}" for c in double.calls if not c.ok),
        "refusal_texts": Counter(
            f"{c.args.get('_key') or c.args.get('channel')}|{str(c.args.get('text'))[:160]}"
            for c in ok
            if c.method in ("response_url", "chat.postEphemeral")
        ),
    }


# ---------------------------------------------------------------------------
# The replicas


async def start_replicas(
    stack: contextlib.AsyncExitStack,
    count: int,
    env: dict[str, str],
    log_dir: Path,
    tick: float,
    workers: int = 0,
) -> list[App]:
    """`count` allybot serve processes started together, each stopped by `stack`."""
    argv = [sys.executable, "-m", "allybot.cli", "serve", "--host", "127.0.0.1", "--port", "0"]
    argv += ["--tick-seconds", f"{tick:g}", "--workers", str(workers)]
    log_dir.mkdir(parents=True, exist_ok=True)
    started = await asyncio.gather(
        *(start_app(f"replica {i}", argv, env, log_dir / f"replica{i}.log") for i in range(count)),
        return_exceptions=True,
    )
    apps = [a for a in started if isinstance(a, App)]
    stack.push_async_callback(stop_replicas, apps)
    for outcome in started:
        if isinstance(outcome, BaseException):
            raise outcome
    return apps


async def stop_replicas(apps: Sequence[App]) -> None:
    """SIGTERM to all at once (each finishes its work in flight), SIGKILL after 20 s."""
    await asyncio.gather(*(asyncio.to_thread(stop_process, a.process) for a in apps))


async def deliveries(apps: Sequence[App]) -> Counter[str]:
    """allybot_deliveries_total summed over the replicas, by outcome (recorded, duplicate,
    done, retry, failed), from each one's /metrics."""
    totals: Counter[str] = Counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for app in apps:
            async with session.get(f"{app.url}/metrics") as response:
                text = await response.text()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == "allybot_deliveries_total":
                        totals[sample.labels["outcome"]] += int(sample.value)
    return totals


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat: everyone's work, not ours."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[float, float], after: tuple[float, float]) -> float:
    return (after[0] - before[0]) / max(after[1] - before[1], 1)


class Probe:
    """Reads the phase's database through one connection, opened before the replicas start:
    with four replicas' pools and other clients, a new connection per poll can be refused
    (max_connections)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def delivery_states(self, team_id: str) -> Counter[str]:
        rows = await self.conn.fetch(
            "SELECT status, count(*) FROM inbound WHERE team_id = $1 GROUP BY status", team_id
        )
        return Counter({str(r[0]): int(r[1]) for r in rows})

    async def reclaimed(self, team_id: str) -> int:
        """Deliveries claimed again after their lease ran out (attempts > 1)."""
        return int(
            await self.conn.fetchval(
                "SELECT count(*) FROM inbound WHERE team_id = $1 AND attempts > 1", team_id
            )
        )

    async def kudos(self, team_id: str) -> list[tuple[Any, ...]]:
        rows = await self.conn.fetch(
            "SELECT source_key, receiver_id, announced_at IS NOT NULL, notified_at IS NOT NULL"
            " FROM kudos WHERE team_id = $1",
            team_id,
        )
        return [tuple(r) for r in rows]


# ---------------------------------------------------------------------------
# The load client


@dataclass(frozen=True)
class Outcome:
    kind: str
    replica: int
    status: int | str  # the HTTP status, or the client error's name
    latency: float  # from the scheduled instant
    lag: float  # how late the client sent it


async def open_loop(
    urls: Sequence[str], requests: Sequence[Request], rate: float
) -> tuple[list[Outcome], float, float]:
    """Send request i at start + i/rate to its replica whatever the others did, timing from
    that schedule (a client that falls behind shows up as latency and lag). Returns the
    outcomes, the start and the last answer (perf_counter)."""
    chosen = targets(requests, len(urls))
    outcomes: list[Outcome] = []
    last = 0.0
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(r: Request, replica: int, due: float) -> None:
            nonlocal last
            lag = time.perf_counter() - due
            try:
                status: int | str = (
                    await signed_post(
                        session,
                        urls[replica],
                        r.body,
                        SIGNING_SECRET,
                        retry_num=r.retry_num or None,
                    )
                )[0]
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__
            now = time.perf_counter()
            last = max(last, now)
            outcomes.append(Outcome(r.kind, replica, status, now - due, lag))

        start = time.perf_counter() + 0.05
        tasks: list[asyncio.Task[None]] = []
        for i, (r, replica) in enumerate(zip(requests, chosen, strict=True)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(r, replica, due)))
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 5)
    return outcomes, start, last


# ---------------------------------------------------------------------------
# A phase: one replica count


@dataclass
class Phase:
    """Everything measured at one replica count, as printed and written to --json."""

    replicas: int
    loadavg: dict[str, float]
    requests: dict[str, int]
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int]
    late: int  # acked, but after Slack's 3 s
    max_lag_ms: float
    per_replica: list[dict[str, float]]
    busy_load: float
    busy_drain: float
    replica_cpu_s: float
    processed_s: float | None
    drain_s: float | None
    deliveries: dict[str, int]
    stored: dict[str, Any]
    slack_errors: dict[str, int]


def ack_figures(
    outcomes: Sequence[Outcome], sent: int, start: float, last: float
) -> dict[str, Any]:
    """Acks are the 2xx answers; errors the other answers, client errors (a timeout after
    REQUEST_TIMEOUT_S) and requests with no outcome when the load ended."""
    ok = [o.latency for o in outcomes if isinstance(o.status, int) and 200 <= o.status < 300]
    errors = Counter(
        f"HTTP {o.status}" if isinstance(o.status, int) else o.status
        for o in outcomes
        if not (isinstance(o.status, int) and 200 <= o.status < 300)
    )
    if sent > len(outcomes):
        errors["no answer when the load ended"] = sent - len(outcomes)
    return {
        "rps": len(ok) / max(last - start, 1e-9),
        "p50_ms": percentile(ok, 0.50) * 1000,
        "p99_ms": percentile(ok, 0.99) * 1000,
        "max_ms": max(ok, default=math.nan) * 1000,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "late": sum(1 for x in ok if x > ACK_DEADLINE_S),
        "max_lag_ms": max((o.lag for o in outcomes), default=0.0) * 1000,
    }


async def wait_processed(probe: Probe, w: Workload, timeout: float) -> float | None:
    """perf_counter() when every unique delivery of the workload is done or failed."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        states = await probe.delivery_states(w.team_id)
        if states["done"] + states["failed"] >= w.unique:
            return time.perf_counter()
        await asyncio.sleep(POLL_S * 5)
    return None


def check_stored(
    w: Workload,
    rows: Sequence[tuple[Any, ...]],
    states: Counter[str],
    double: dict[str, Counter[str]],
) -> dict[str, Any]:
    """Each unique kudos stored once and DMed once to its receiver; each `/kudos` posted once
    in the channel, each message kudos reacted to once; each delivery recorded once."""
    expected = {(key, receiver) for key, (_, receiver) in w.kudos.items()}
    got = Counter((str(r[0]), str(r[1])) for r in rows)
    commands = {key for key in w.kudos if key.startswith("command:")}
    expected_dms = Counter(receiver for _, receiver in w.kudos.values())
    reacted = {k for k in double["reactions"] if k.startswith(w.channel_id + "|")}
    report: dict[str, Any] = {
        "kudos_sent": len(expected),
        "rows": len(rows),
        "missing": len(expected - got.keys()),
        "unexpected": len(got.keys() - expected),
        "duplicated": sum(n - 1 for n in got.values() if n > 1),
        "notified": sum(1 for r in rows if r[3]),
        "announced_commands": sum(1 for r in rows if r[2] and str(r[0]) in commands),
        "channel_posts": double["posts"][w.channel_id],
        "commands": len(commands),
        "dms": sum(double["kudos_dms"][r] for r in w.receivers),
        "dms_match": all(double["kudos_dms"][r] == n for r, n in expected_dms.items()),
        "reactions": sum(double["reactions"][k] for k in reacted),
        "messages": len(w.kudos) - len(commands),
        "refusals": double["responses"][w.team_id] + double["ephemerals"][w.channel_id],
        "refusal_examples": [
            key.split("|", 1)[1]
            for key in double["refusal_texts"]
            if key.startswith((w.team_id, w.channel_id))
        ][:5],
        "inbound_rows": sum(states.values()),
        "inbound_done": states["done"],
        "deliveries_sent": w.unique,
    }
    # Everything else DMed to the load's people is the scheduler's (a tip for each new
    # person): at most one each today, however many replicas ticked.
    nudges = Counter(
        {u: double["posts"][u] - double["kudos_dms"][u] for u in [*w.givers, *w.receivers]}
    )
    report["nudges"] = sum(nudges.values())
    report["nudges_doubled"] = sum(1 for n in nudges.values() if n > 1)
    report["exactly_once"] = (
        report["rows"] == report["kudos_sent"]
        and report["missing"] == report["unexpected"] == report["duplicated"] == 0
        and report["notified"] == report["kudos_sent"]
        and report["announced_commands"] == report["channel_posts"] == report["commands"]
        and report["dms_match"]
        and report["reactions"] == len(reacted) == report["messages"]
        and report["refusals"] == 0
        and report["inbound_rows"] == report["inbound_done"] == w.unique
    )
    return report


async def run_phase(count: int, args: argparse.Namespace, tmp: Path) -> Phase:
    """A fresh database, double and `count` replicas; a warm-up, the load, the drain, the
    checks; everything stopped and dropped on the way out."""
    loadavg = {"start": os.getloadavg()[0]}
    total = max(1, round(args.rate * args.duration))
    warm = new_workload(WARMUP_PER_REPLICA * count, 0.0)
    main = new_workload(total, args.retry_share)
    async with contextlib.AsyncExitStack() as stack:
        double = DoubleProcess(
            functools.partial(add_users, users=warm.users() + main.users()),
            _double_stats,
            bot_token=BOT_TOKEN,
        )
        stack.callback(double.stop)
        slack_url = await double.start()
        origin = slack_url.removesuffix("/api/")
        for i, w in enumerate((warm, main)):
            build_requests(
                w,
                double_origin=origin,
                message_share=args.message_share,
                rate=args.rate,
                seed=args.seed + 1000 * count + i,
            )
        database_url = await stack.enter_async_context(
            scratch_postgres(args.database_url, prefix="allybot_replicas")
        )
        conn = await asyncpg.connect(database_url)
        stack.push_async_callback(conn.close)
        probe = Probe(conn)
        log_dir = (args.logs or tmp) / f"replicas-{count}"
        apps = await start_replicas(
            stack, count, app_env(database_url, slack_url), log_dir, args.tick_seconds, args.workers
        )
        urls = [f"{a.url}/slack/events" for a in apps]
        note(f"{count} replica(s) at " + ", ".join(a.url for a in apps) + f"; double at {origin}")

        await open_loop(urls, warm.requests, 20.0)
        if await wait_processed(probe, warm, START_TIMEOUT_S * 2) is None:
            raise RuntimeError("the warm-up was not processed in time")

        counted_before = await deliveries(apps)
        cpu_before = sum(cpu_seconds(a.process.pid) or 0.0 for a in apps)
        busy_0 = machine_busy()
        note(f"{count} replica(s): {total} requests at {args.rate:g}/s")
        outcomes, start, last = await open_loop(urls, main.requests, args.rate)
        busy_1 = machine_busy()
        loadavg["after_load"] = os.getloadavg()[0]
        note(f"{count} replica(s): load sent; waiting for the work after the acks")
        done = await wait_processed(probe, main, 300 + main.unique / 5)
        busy_2 = machine_busy()
        loadavg["end"] = os.getloadavg()[0]
        cpu_after = sum(cpu_seconds(a.process.pid) or 0.0 for a in apps)
        for app in apps:
            if app.process.poll() is not None:
                raise RuntimeError(f"{app.name} exited:\n{app.log_path.read_text()}")
        counted = await deliveries(apps)
        counted.subtract(counted_before)  # the load's own, without the warm-up's
        await stop_replicas(apps)
        stats = await double.stats()
        states = await probe.delivery_states(main.team_id)
        stored = check_stored(main, await probe.kudos(main.team_id), states, stats)
        stored["reclaimed"] = await probe.reclaimed(main.team_id)

    per_replica = []
    for i in range(count):
        mine = [o for o in outcomes if o.replica == i]
        acked = [o.latency for o in mine if isinstance(o.status, int) and 200 <= o.status < 300]
        per_replica.append(
            {
                "requests": len(mine),
                "p50_ms": percentile(acked, 0.5) * 1000,
                "p99_ms": percentile(acked, 0.99) * 1000,
            }
        )
    return Phase(
        replicas=count,
        loadavg=loadavg,
        requests={
            "total": len(main.requests),
            **{k: main.count(k) for k in ("command", "message", "retry")},
        },
        **ack_figures(outcomes, len(main.requests), start, last),
        per_replica=per_replica,
        busy_load=busy_share(busy_0, busy_1),
        busy_drain=busy_share(busy_1, busy_2),
        replica_cpu_s=cpu_after - cpu_before,
        processed_s=None if done is None else done - start,
        drain_s=None if done is None else max(0.0, done - last),
        deliveries=dict(counted),
        stored=stored,
        slack_errors=dict(stats["errors"]),
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stop_on_sigterm()
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="allybot-replicas-") as tmp:
        for count in args.replicas:
            phases.append(await run_phase(count, args, Path(tmp)))
            print_phase(phases[-1], args)
    return {
        "config": {
            k: getattr(args, k)
            for k in (
                "replicas",
                "rate",
                "duration",
                "retry_share",
                "message_share",
                "tick_seconds",
                "workers",
                "seed",
            )
        },
        "machine": {
            "revision": revision(),
            "nproc": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "phases": [asdict(p) for p in phases],
    }


# ---------------------------------------------------------------------------
# Output


def print_phase(p: Phase, args: argparse.Namespace) -> None:
    s = p.stored
    r = p.requests
    la = p.loadavg
    verdict = "yes" if s["exactly_once"] else "NO"
    processed = (
        "NOT all processed in time"
        if p.processed_s is None or p.drain_s is None
        else f"all processed {p.processed_s:.0f} s after the first request "
        f"({p.drain_s:.0f} s after the last ack)"
    )
    print(
        f"\n== {p.replicas} replica(s): {r['total']} requests at {args.rate:g}/s for "
        f"{args.duration:g} s ({r['command']} /kudos, {r['message']} messages, "
        f"{r['retry']} retries); load average {la['start']:.2f} at start, "
        f"{la['after_load']:.2f} after the load, {la['end']:.2f} at end\n"
        f"acks: {p.rps:.1f} req/s, p50 {p.p50_ms:.0f} ms, p99 {p.p99_ms:.0f} ms, "
        f"max {p.max_ms:.0f} ms, errors {p.errors} {p.error_kinds or ''}, "
        f"acked after 3 s {p.late}, client max lag {p.max_lag_ms:.0f} ms\n"
        "per replica: "
        + "; ".join(
            f"#{i} {x['requests']:.0f} req p50 {x['p50_ms']:.0f} / p99 {x['p99_ms']:.0f} ms"
            for i, x in enumerate(p.per_replica)
        )
        + f"\nmachine busy {p.busy_load:.0%} during the load, {p.busy_drain:.0%} during the "
        f"drain; replicas' CPU {p.replica_cpu_s:.0f} s "
        f"({p.replica_cpu_s / max(s['kudos_sent'], 1) * 1000:.0f} ms per kudos)\n"
        f"work: {processed}; deliveries by outcome over the replicas: {p.deliveries}; "
        f"worked on more than once: {twice(p.deliveries)}\n"
        f"stored exactly once: {verdict} ({s['rows']} rows for {s['kudos_sent']} kudos, "
        f"{s['missing']} missing, {s['unexpected']} unexpected, {s['duplicated']} duplicated; "
        f"{s['notified']} notified, {s['dms']} DMs, receivers match: {s['dms_match']}; "
        f"{s['channel_posts']} channel posts for {s['commands']} /kudos; {s['reactions']} "
        f"reactions for {s['messages']} messages; {s['refusals']} refusals; "
        f"{s['inbound_rows']} deliveries recorded for {s['deliveries_sent']} unique, "
        f"{s['inbound_done']} done, {s['reclaimed']} re-claimed by recovery)\n"
        f"scheduler: {s['nudges']} nudges DMed to the load's people, "
        f"{s['nudges_doubled']} people got more than one"
        + (f"\nSlack calls answered with an error: {p.slack_errors}" if p.slack_errors else "")
        + "".join(f"\n  refused: {text!r}" for text in s["refusal_examples"]),
        flush=True,
    )


def twice(deliveries: dict[str, int]) -> int:
    """Deliveries done more often than recorded: worked on again after another replica's
    claim (each run may repeat a Slack call that is not yet marked done)."""
    return max(0, deliveries.get("done", 0) - deliveries.get("recorded", 0))


def print_summary(report: dict[str, Any]) -> None:
    m, c = report["machine"], report["config"]
    print(
        f"\nallybot replicas on one PostgreSQL, {c['rate']:g} requests/s for {c['duration']:g} s,"
        f" tick {c['tick_seconds']:g} s, workers {c.get('workers', 0)} per replica;"
        f" {m['nproc']} CPUs; code {m['revision']}"
    )
    print(
        f"{'replicas':>8} {'load avg':>11} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'errors':>6} {'>3 s':>5} {'dups seen':>9} {'processed s':>11} {'twice':>5}"
        f" {'once':>5}"
    )
    for p in report["phases"]:
        la = p["loadavg"]
        processed = "-" if p["processed_s"] is None else f"{p['processed_s']:.0f}"
        print(
            f"{p['replicas']:>8} {la['start']:>5.1f}–{la['end']:<5.1f} {p['rps']:>7.1f}"
            f" {p['p50_ms']:>7.0f} {p['p99_ms']:>7.0f} {p['errors']:>6} {p['late']:>5}"
            f" {p['deliveries'].get('duplicate', 0):>9} {processed:>11}"
            f" {twice(p['deliveries']):>5}"
            f" {'yes' if p['stored']['exactly_once'] else 'NO':>5}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--replicas",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 2, 4],
        help="replica counts to run, in order (1,2,4)",
    )
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s (200)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (60)")
    parser.add_argument(
        "--retry-share", type=float, default=0.05, help="share of requests that are retries"
    )
    parser.add_argument(
        "--message-share", type=float, default=0.5, help="share of kudos sent as messages"
    )
    parser.add_argument(
        "--tick-seconds", type=float, default=60.0, help="each replica's clock (60; 0: none)"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="`serve --workers` per replica (0: in-process)"
    )
    parser.add_argument("--seed", type=int, default=9, help="for the mix and retry slots")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_ADMIN_URL,
        help=f"PostgreSQL server to create (and drop) each database on ({DEFAULT_ADMIN_URL})",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--logs", type=Path, default=None, help="keep the replicas' logs here")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or min(args.replicas) < 1:
        parser.error("--rate, --duration and every replica count must be positive")
    if not (0 <= args.retry_share < 0.5 and 0 <= args.message_share <= 1):
        parser.error("--retry-share must be in [0, 0.5) and --message-share in [0, 1]")
    if args.retry_share > 0 and args.message_share == 0:
        parser.error("retries are of message events: --message-share must be above 0")
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL URL: replicas share one PostgreSQL")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = asyncio.run(run(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; every process this run started was stopped", file=sys.stderr)
        return 130
    print_summary(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    ok = all(
        p["errors"] == 0 and p["stored"]["exactly_once"] and not p["stored"]["nudges_doubled"]
        for p in report["phases"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
