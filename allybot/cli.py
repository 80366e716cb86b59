"""The `allybot` command: run, serve, socket, worker, migrate, tick, nudges, report, settings.

Every fault the operator can fix (a missing setting, a bad argument, a database it cannot
open) ends the command with one line on stderr and exit status 2, never a traceback.

Only what reading the arguments needs is imported up front; the rest (settings, database,
the app) is imported once the arguments are accepted, and only by the command that uses it,
so a refused argument, `--help` or a missing setting answers in a blink, not after the whole
app has loaded (over a second of CPU)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from bot.runtime import AllyBot
    from bot.settings import Settings
    from scheduler.clock import Clock
    from scheduler.planner import PassResult

logger = logging.getLogger("allybot")
# What `allybot serve` takes at most to stop on SIGTERM (the contract says within 10 s).
SHUTDOWN_SECONDS = 9.0


# The instants `--now` may name: allybot reckons days and weeks either side of it.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def _instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO-8601 instant such as 2026-12-01T09:00:00Z"
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not EARLIEST <= parsed < LATEST:
        raise argparse.ArgumentTypeError(
            f"{value!r} is out of range: give an instant from the year 2000 to 2999"
        )
    return parsed


def _html_file(value: str) -> str:
    """Refused before any work when the page could not be written."""
    folder = os.path.dirname(os.path.abspath(value))
    if os.path.isdir(value):
        raise argparse.ArgumentTypeError(f"{value!r} is a folder: name the page's file")
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"the folder {folder} does not exist: create it first")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {folder}: pick another file")
    return value


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day such as 2026-09-01") from None


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a port (from --port or PORT): use 1 to 65535 (0 lets the system "
            "pick a free one)"
        )
    return port


def _host(value: str) -> str:
    try:
        socket.getaddrinfo(value, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an address of this machine: use 0.0.0.0 for every interface "
            "or 127.0.0.1 for this machine only"
        ) from None
    return value


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of seconds: use 60 for a pass a minute, or 0 for no "
            "clock (then run `allybot tick` from cron)"
        )
    return seconds


def _count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = -1
    if not 0 <= count <= 64:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of processes from 0 to 64")
    return count


def _signal_numbers(value: str) -> list[int]:
    try:
        numbers = [int(n) for n in value.split(",") if n]
    except ValueError:
        numbers = [0]
    valid = {int(sig) for sig in signal.valid_signals()} - {signal.SIGKILL, signal.SIGSTOP}
    if not set(numbers) <= valid:
        raise argparse.ArgumentTypeError(f"{value!r} is not a list of signal numbers")
    return numbers


class _Parser(argparse.ArgumentParser):
    """argparse, with its complaints on one line (the usage is one --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _clock_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tick-seconds",
        type=_seconds,
        default=60.0,
        help="seconds between scheduler passes (60); 0 runs no clock (use `allybot tick` "
        "from cron)",
    )


def _http_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", type=_host, default="0.0.0.0", help="address to listen on")
    parser.add_argument(
        "--port",
        type=_port,
        default=os.environ.get("PORT", "3000"),  # a string default goes through _port too
        help="port to listen on (default: $PORT, else 3000)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="allybot", description="allybot for Slack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="Socket Mode when SLACK_APP_TOKEN is set, HTTP mode (serve) otherwise; says which",
    )
    _http_options(run)
    _clock_option(run)
    serve = sub.add_parser("serve", help="HTTP mode: Events API, commands, interactivity")
    _http_options(serve)
    _clock_option(serve)
    serve.add_argument(
        "--workers",
        type=_count,
        default=0,
        help="processes for the work after each ack and the clock (0: this process does it)",
    )
    worker = sub.add_parser(
        "worker", help="work on recorded deliveries and run the clock (what serve --workers runs)"
    )
    _clock_option(worker)
    # Set by `serve` for its workers (allybot.workers.ignored_signals); not for people.
    worker.add_argument("--ignoring", type=_signal_numbers, default=[], help=argparse.SUPPRESS)
    socket_mode = sub.add_parser("socket", help="Socket Mode (needs SLACK_APP_TOKEN)")
    _clock_option(socket_mode)
    sub.add_parser("migrate", help="upgrade the database to the newest schema")
    tick = sub.add_parser("tick", help="run one scheduler pass at an instant, then exit")
    tick.add_argument("--now", type=_instant, default=None, help="ISO-8601 instant (default: now)")
    nudges = sub.add_parser("nudges", help="inspect the scheduler")
    nudges_sub = nudges.add_subparsers(dest="nudges_command", required=True)
    preview = nudges_sub.add_parser("preview", help="print what a pass would send; send nothing")
    preview.add_argument("--now", type=_instant, default=None)
    preview.add_argument("--team", default=None, help="only this workspace (team id)")
    report = sub.add_parser("report", help="workspace insights: counts only, never names")
    report.add_argument("--team", default=None, help="the workspace (team id)")
    report.add_argument("--since", type=_day, default=None, help="first day, YYYY-MM-DD")
    report.add_argument(
        "--html", type=_html_file, default=None, metavar="FILE", help="write a page with charts"
    )
    report.add_argument("--json", action="store_true", help="print the figures as JSON")
    settings_cmd = sub.add_parser("settings", help="a workspace's settings")
    settings_sub = settings_cmd.add_subparsers(dest="settings_command", required=True)
    apply = settings_sub.add_parser("apply", help="apply a YAML settings file to a workspace")
    apply.add_argument("file", help="YAML file, validated like the /ally admin modal")
    apply.add_argument("--team", required=True, help="the workspace (team id, T…)")
    apply.add_argument("--by", default="cli", help="who is applying it, for the change record")
    apply.add_argument(
        "--create",
        action="store_true",
        help="set up a workspace allybot has not seen yet (before its install)",
    )
    return parser


def _require(settings: Settings, command: str) -> None:
    """What each command needs from Slack, all of it reported at once."""
    from bot.settings import SettingsError

    if command == "run" and not settings.socket_mode:
        try:
            settings.require_http()
        except SettingsError as exc:
            raise SettingsError(
                f"HTTP mode (SLACK_APP_TOKEN is not set): {exc}; or set SLACK_APP_TOKEN=xapp-… "
                "for Socket Mode"
            ) from None
    elif command == "serve":
        settings.require_http()
    elif command in ("socket", "run"):
        settings.require_socket()
    elif command in ("worker", "tick", "nudges"):
        settings.require_token()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "worker":
        # What its `serve` ignores (allybot.workers.ignored_signals), before anything slow:
        # a hang-up may come at any time.
        for sig in args.ignoring:
            signal.signal(sig, signal.SIG_IGN)
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        _require(settings, args.command)
    except SettingsError as exc:
        print(f"allybot: {exc}", file=sys.stderr)
        return 2
    from bot import logs
    from bot.preflight import Refusal, explain

    logs.configure(settings.allybot_log_level, settings.allybot_log_format)
    runners = {
        "run": _run,
        "serve": _serve,
        "worker": _worker,
        "socket": _socket,
        "migrate": _migrate,
        "tick": _tick,
        "nudges": _nudges_preview,
        "report": _report,
        "settings": _settings_apply,
    }
    try:
        return _run_loop(runners[args.command](settings, args))
    except Refusal as exc:
        print(f"allybot: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        line = explain(exc, settings.database_url, network=False)
        if line is None:
            raise
        print(f"allybot: {line}", file=sys.stderr)
        return 2


async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.preflight import open_database

    db = await open_database(settings.database_url)
    await db.dispose()
    logger.info("database at the newest schema")
    return 0


async def _app(settings: Settings) -> AllyBot:
    """The app on its database, checked first: a database allybot cannot use is refused
    before the app (most of the command's start) is loaded."""
    from bot.preflight import open_database

    db = await open_database(settings.database_url)
    from allybot.app import create_app

    return create_app(settings, db=db)


async def _tick(settings: Settings, args: argparse.Namespace) -> int:
    now = args.now or datetime.now(UTC)
    bot = await _app(settings)
    from scheduler.planner import run_pass

    await bot.start()
    try:
        result = await run_pass(bot, now=now)
        await bot.inbox.drain()
    finally:
        await bot.close()
    print(describe_pass(result, now=now))
    return 0


def describe_pass(result: PassResult, *, now: datetime) -> str:
    """What a pass did, as a short table a person reads (and cron mails)."""
    planned = {kind: n for kind, n in result.planned.items() if n}
    kinds = ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in sorted(planned.items()))
    sent, intros = result.sent, result.intros
    rows = [
        ("planned", f"{sum(planned.values())} nudges" + (f" ({kinds})" if kinds else "")),
        (
            "sent",
            f"{sent.sent} messages (daily, intros, digests); {sent.retry} to retry, "
            f"{sent.failed} failed, {sent.cancelled} cancelled, "
            f"{sent.resent} re-sent after a crash",
        ),
        ("intros", f"{intros.rounds} rounds matched into {intros.groups} groups"),
        ("digests", f"{result.digests} planned"),
        ("recovered", f"{result.recovered} deliveries a stopped process had left"),
    ]
    stamp = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return "\n".join([f"scheduler pass at {stamp}", *(f"  {k:<10} {v}" for k, v in rows)])


async def _nudges_preview(settings: Settings, args: argparse.Namespace) -> int:
    bot = await _app(settings)
    from scheduler.preview import preview

    try:
        lines = await preview(bot, now=args.now or datetime.now(UTC), team_id=args.team)
    finally:
        await bot.close()
    for line in lines:
        print(line)
    print(f"{len(lines)} nudges would be sent")
    return 0


async def _settings_apply(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 2, changing nothing, when the file or the team id is wrong."""
    from pathlib import Path

    from bot.preflight import Refusal, open_database
    from bot.services import workspace_settings as ws

    try:
        text = Path(args.file).read_text(encoding="utf-8")
        wanted = ws.parse_file(text, name=args.file)
        team_id = ws.check_team_id(args.team)
        label = ws.check_label(args.by)
    except OSError as exc:
        print(f"allybot: can't read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(
            f"allybot: {args.file} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start}): save it as UTF-8; nothing changed",
            file=sys.stderr,
        )
        return 2
    except ws.SettingsFileError as exc:
        if len(exc.problems) == 1:  # one line, as every other refusal
            print(f"allybot: {exc.problems[0]}; nothing changed", file=sys.stderr)
        else:
            print("\n".join(exc.problems), file=sys.stderr)
            print(f"allybot: {args.file} not applied; nothing changed", file=sys.stderr)
        return 2
    db = await open_database(settings.database_url)
    try:
        async with db.session() as session:
            if not args.create and not await ws.exists(session, team_id=team_id):
                raise Refusal(
                    f"allybot has never seen a workspace {team_id} in this database: check "
                    "--team (the T… id in the workspace's URL or `allybot report`), or pass "
                    "--create to set it up before allybot is installed there"
                )
            changes = await ws.apply(
                session, team_id=team_id, settings=wanted, changed_by=label, now=datetime.now(UTC)
            )
    finally:
        await db.dispose()
    for change in changes:
        print(f"{team_id}: {change.summary()}")
    print(f"{team_id}: {len(changes)} settings changed from {args.file}")
    return 0


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.report_cli import run_report

    return await run_report(settings, args)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    """The way manifest.yml sets the app up: Socket Mode when its app-level token is set."""
    if settings.socket_mode:
        logger.info(
            "SLACK_APP_TOKEN is set: running in Socket Mode (no public URL needed; "
            "manifest.yml's socket_mode_enabled: true)"
        )
        return await _socket(settings, args)
    logger.info(
        "SLACK_APP_TOKEN is not set: running in HTTP mode; Slack must reach "
        "https://<your host>/slack/events (manifest.yml with socket_mode_enabled: false)"
    )
    args.workers = 0
    return await _serve(settings, args)


def _run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run a command on uvloop where it is installed (not on Windows): the same asyncio
    program, with the loop's own work (sockets, callbacks, timers) done in C: `serve` takes
    0.83-0.85x the CPU per kudos it takes on asyncio's loop on SQLite, whose driver hands
    each statement to a thread and back, and 0.96-0.98x on PostgreSQL (benchmarks/README.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _settle_memory() -> None:
    """What start-up loaded (modules, catalogues, the ORM's mappers) lives as long as the
    process: moved out of the garbage collector's reach, its full passes no longer walk it,
    which held acks up by tens of milliseconds each."""
    gc.collect()
    gc.freeze()


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    bot = await _app(settings)
    from aiohttp import web

    from allybot.workers import WorkerPool
    from bot import dashboard
    from bot.preflight import Refusal
    from scheduler.clock import start_clock

    # The background work (the clock, and taking over a dead process's deliveries) runs
    # here unless workers do it; `--tick-seconds 0` turns it off (tests drive passes).
    await bot.start(recover=not args.workers and args.tick_seconds > 0)
    bot.inbox.work_here = not args.workers
    # The pool starts once the port is ours; until then a wake-up reaches no process.
    pool = WorkerPool(args.workers, tick_seconds=args.tick_seconds) if args.workers else None
    if pool is not None and bot.db.dialect != "postgresql":
        # On PostgreSQL the recording transaction's notification wakes the workers
        # (bot.arrivals): a signal too would wake each twice, and one wake-up finds nothing.
        bot.inbox.on_recorded = pool.wake
    runner = web.AppRunner(bot.web, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, backlog=1024)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        await bot.close()
        raise Refusal(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}): pick another "
            "--port or --host, or stop what is using it"
        ) from None
    if pool is not None:
        await pool.start()
    ticks_here = args.tick_seconds > 0 and pool is None
    clock = start_clock(bot, interval_seconds=args.tick_seconds) if ticks_here else None
    port = runner.addresses[0][1] if runner.addresses else args.port
    # SIGTERM is handled before anyone is told where allybot listens.
    stop = _stop_event()
    _settle_memory()
    # Where allybot listens is the last line of its start-up, what a supervisor (or a test)
    # waits for: everything else it says at start comes before it.
    logger.info(dashboard.status_line(settings))
    logger.info("allybot serving on http://%s:%d", args.host, port)
    await stop.wait()

    async def stop_intake() -> None:
        await runner.cleanup()
        if pool is not None:
            await pool.stop(timeout=SHUTDOWN_SECONDS - 1.0)

    await _shut_down(bot, clock, stop_intake)
    return 0


async def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from allybot.workers import lower_priority, work_until

    lower_priority()
    bot = await _app(settings)
    from scheduler.clock import start_clock

    await bot.start(recover=True)
    clock = start_clock(bot, interval_seconds=args.tick_seconds) if args.tick_seconds > 0 else None
    logger.info("allybot worker started")
    stop = _stop_event()
    working = asyncio.create_task(work_until(bot, stop))
    await stop.wait()
    await _shut_down(bot, clock, lambda: working)
    return 0


async def _shut_down(
    bot: AllyBot, clock: Clock | None, stop_intake: Callable[[], Awaitable[None]]
) -> None:
    """SIGTERM: take no new requests or work, let what is in flight finish (the requests
    being answered, the work after their acks, the scheduler pass and its sends), close;
    all within SHUTDOWN_SECONDS. Anything still unfinished then is picked up by another
    replica when its lease runs out."""
    deadline = time.monotonic() + SHUTDOWN_SECONDS
    logger.info("shutting down: no new requests; finishing work in flight")
    bot.stopping.set()
    await stop_intake()
    if clock is not None and not await clock.stop(timeout=_left(deadline)):
        logger.warning("shutting down: the scheduler pass did not finish in time")
    await bot.close(timeout=_left(deadline))
    logger.info("stopped")


def _left(deadline: float) -> float:
    return max(0.1, deadline - time.monotonic())


async def _socket(settings: Settings, args: argparse.Namespace) -> int:
    bot = await _app(settings)
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_sdk.errors import SlackApiError

    from bot.preflight import Refusal
    from bot.slack import slack_error
    from scheduler.clock import start_clock

    await bot.start(recover=args.tick_seconds > 0)
    assert settings.slack_app_token is not None
    app_token = settings.slack_app_token.get_secret_value()
    try:
        # Slack's SDK retries a refused connection forever; ask once first, so a wrong token
        # or an unreachable Slack is one line at start.
        await bot.bolt.client.apps_connections_open(app_token=app_token)
    except (SlackApiError, OSError) as exc:
        await bot.close()
        if isinstance(exc, SlackApiError):
            raise Refusal(
                f"Slack refused a Socket Mode connection ({slack_error(exc)}): check "
                "SLACK_APP_TOKEN (an app-level token with connections:write, Basic Information "
                "→ App-Level Tokens) and that Socket Mode is on for the app"
            ) from None
        raise Refusal(
            f"cannot reach Slack at {settings.slack_api_url} ({type(exc).__name__}): check "
            "the network, or SLACK_API_URL"
        ) from None
    handler = AsyncSocketModeHandler(bot.bolt, app_token)
    await handler.connect_async()
    clock = start_clock(bot, interval_seconds=args.tick_seconds) if args.tick_seconds > 0 else None
    _settle_memory()
    logger.info("allybot connected in Socket Mode")
    stop = _stop_event()
    await stop.wait()
    await _shut_down(bot, clock, handler.close_async)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
