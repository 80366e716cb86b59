"""The `allybot` command: serve, socket, migrate, tick."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from aiohttp import web

from allybot.workers import WorkerPool, lower_priority, work_until
from bot import dashboard, logs, migrate
from bot.db import Database
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.runtime import AllyBot
    from scheduler.clock import Clock

logger = logging.getLogger("allybot")
# What `allybot serve` takes at most to stop on SIGTERM (the contract says within 10 s).
SHUTDOWN_SECONDS = 9.0


def _instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO-8601 instant such as 2026-12-01T09:00:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day such as 2026-09-01") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="allybot", description="allybot for Slack")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="HTTP mode: Events API, commands, interactivity")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument(
        "--tick-seconds",
        type=float,
        default=60.0,
        help="seconds between scheduler passes; 0 runs no clock (use `allybot tick` from cron)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes for the work after each ack and the clock (0: this process does it)",
    )
    worker = sub.add_parser(
        "worker", help="work on recorded deliveries and run the clock (what serve --workers runs)"
    )
    worker.add_argument(
        "--tick-seconds", type=float, default=60.0, help="as for serve; 0 runs no clock"
    )
    socket = sub.add_parser("socket", help="Socket Mode (needs SLACK_APP_TOKEN)")
    socket.add_argument(
        "--tick-seconds", type=float, default=60.0, help="as for serve; 0 runs no clock"
    )
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
    report.add_argument("--html", default=None, metavar="FILE", help="write a page with charts")
    report.add_argument("--json", action="store_true", help="print the figures as JSON")
    settings_cmd = sub.add_parser("settings", help="a workspace's settings")
    settings_sub = settings_cmd.add_subparsers(dest="settings_command", required=True)
    apply = settings_sub.add_parser("apply", help="apply a YAML settings file to a workspace")
    apply.add_argument("file", help="YAML file, validated like the /ally admin modal")
    apply.add_argument("--team", required=True, help="the workspace (team id, T…)")
    apply.add_argument("--by", default="cli", help="who is applying it, for the change record")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "serve":
            settings.require_http()
        elif args.command == "socket":
            settings.require_socket()
    except SettingsError as exc:
        print(f"allybot: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.allybot_log_level, settings.allybot_log_format)
    runners = {
        "serve": _serve,
        "worker": _worker,
        "socket": _socket,
        "migrate": _migrate,
        "tick": _tick,
        "nudges": _nudges_preview,
        "report": _report,
        "settings": _settings_apply,
    }
    return asyncio.run(runners[args.command](settings, args))


async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()
    logger.info("database at the newest schema")
    return 0


async def _tick(settings: Settings, args: argparse.Namespace) -> int:
    from allybot.app import create_app
    from scheduler.planner import run_pass

    bot = create_app(settings)
    await migrate.upgrade(bot.db)
    await bot.start()
    try:
        result = await run_pass(bot, now=args.now or datetime.now(UTC))
        await bot.inbox.drain()
    finally:
        await bot.close()
    sent = result.sent
    print(
        f"pass at {(args.now or datetime.now(UTC)).isoformat()}: planned {result.planned}, "
        f"sent {sent.sent}, retry {sent.retry}, failed {sent.failed}, "
        f"cancelled {sent.cancelled}, re-sent after a crash {sent.resent}, "
        f"deliveries recovered {result.recovered}"
    )
    return 0


async def _nudges_preview(settings: Settings, args: argparse.Namespace) -> int:
    from allybot.app import create_app
    from scheduler.preview import preview

    bot = create_app(settings)
    await migrate.upgrade(bot.db)
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

    from bot.services import workspace_settings as ws

    try:
        text = Path(args.file).read_text(encoding="utf-8")
        wanted = ws.parse_file(text, name=args.file)
        team_id = ws.check_team_id(args.team)
        label = ws.check_label(args.by)
    except OSError as exc:
        print(f"allybot: can't read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except ws.SettingsFileError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        print(f"allybot: {args.file} not applied; nothing changed", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db)
        async with db.session() as session:
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


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from allybot.app import create_app
    from scheduler.clock import start_clock

    if args.workers < 0:
        print("allybot: --workers must be 0 or more", file=sys.stderr)
        return 2
    bot = create_app(settings)
    await migrate.upgrade(bot.db)
    await bot.start()
    pool = None
    if args.workers:
        bot.inbox.work_here = False
        pool = WorkerPool(args.workers, tick_seconds=args.tick_seconds)
        bot.inbox.on_recorded = pool.wake
        await pool.start()
    runner = web.AppRunner(bot.web, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, backlog=1024)
    await site.start()
    ticks_here = args.tick_seconds > 0 and pool is None
    clock = start_clock(bot, interval_seconds=args.tick_seconds) if ticks_here else None
    port = runner.addresses[0][1] if runner.addresses else args.port
    logger.info("allybot serving on http://%s:%d", args.host, port)
    logger.info(dashboard.status_line(settings))
    stop = _stop_event()
    await stop.wait()

    async def stop_intake() -> None:
        await runner.cleanup()
        if pool is not None:
            await pool.stop(timeout=SHUTDOWN_SECONDS - 1.0)

    await _shut_down(bot, clock, stop_intake)
    return 0


async def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from allybot.app import create_app
    from scheduler.clock import start_clock

    lower_priority()
    bot = create_app(settings)
    await migrate.upgrade(bot.db)
    await bot.start()
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
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from allybot.app import create_app
    from scheduler.clock import start_clock

    bot = create_app(settings)
    await migrate.upgrade(bot.db)
    await bot.start()
    assert settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(bot.bolt, settings.slack_app_token.get_secret_value())
    await handler.connect_async()
    clock = start_clock(bot, interval_seconds=args.tick_seconds) if args.tick_seconds > 0 else None
    logger.info("allybot connected in Socket Mode")
    stop = _stop_event()
    await stop.wait()
    await _shut_down(bot, clock, handler.close_async)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
