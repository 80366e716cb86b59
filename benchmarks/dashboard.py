"""How long the dashboard's pages take on the report benchmark's 20,000-person workspace.

The workspace is benchmarks/report.py's (20,000 people, 1,000,000 kudos, 200,000
commitments, 50,000 check-ins on PostgreSQL, loaded with COPY), or one loaded before
(`--database-url`). allybot's web app runs in this process on a real port, with the
dashboard on; an admin's and a member's sessions are opened directly in the database (no
Slack is needed: the admin answer is fresh for an hour). Each page is fetched over HTTP
`--repeat` times and timed from request to the last byte:

- /dashboard/workspace cold: the first answer (the page, or after 0.5 s one that says the
  figures are being worked out and reloads itself), and the time until the figures are
  shown (fetched again every 0.2 s, as the reload would);
- /dashboard/workspace warm (the report kept for 5 minutes), the same for another date
  range (cold again), and its CSV download (warm);
- /dashboard/settings, and /dashboard/me for the member,
- the report built alone (as `allybot report` builds it) and the headline's queries alone;
- rendering alone: the workspace page's HTML from a built report.

    .venv/bin/python benchmarks/dashboard.py [--people 20000] [--kudos 1000000]
        [--commitments 200000] [--repeat 5] [--database-url URL] [--json figures.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from allybot.app import create_app  # noqa: E402
from benchmarks.report import PG_ADMIN_DSN, TEAM, workspace  # noqa: E402
from bot.dashboard import pages  # noqa: E402
from bot.dashboard.signin import SESSION_COOKIE, Identity, SignIn  # noqa: E402
from bot.services import recognition, report  # noqa: E402
from bot.settings import Settings  # noqa: E402

TARGET_SECONDS = 1.0
ADMIN, MEMBER = "U00000000", "U00000001"


async def timed(http: aiohttp.ClientSession, url: str, cookie: str) -> tuple[float, int, int]:
    seconds, status, body = await fetch(http, url, cookie)
    return seconds, status, len(body)


async def fetch(http: aiohttp.ClientSession, url: str, cookie: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    async with http.get(url, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}) as resp:
        body = await resp.read()
    return time.perf_counter() - started, resp.status, body


async def until_shown(http: aiohttp.ClientSession, url: str, cookie: str) -> tuple[float, float]:
    """The first answer's time, and the time until a fetch shows the figures."""
    started = time.perf_counter()
    first, status, body = await fetch(http, url, cookie)
    assert status == 200, status
    while b"Recognised in the last 7 days" not in body:
        await asyncio.sleep(0.2)
        _, status, body = await fetch(http, url, cookie)
        assert status == 200, status
    return first, time.perf_counter() - started


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_s": statistics.median(samples),
        "max_s": max(samples),
        "min_s": min(samples),
        "n": len(samples),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    results: dict[str, Any] = {}
    async with workspace(args, now) as (url, load_seconds):
        settings = Settings(
            slack_client_id="1.2",
            slack_client_secret=SecretStr("bench-secret"),
            slack_signing_secret=SecretStr("bench-signing"),
            slack_api_url="http://127.0.0.1:9/api/",  # never called
            database_url=url,
        )
        bot = create_app(settings)
        await bot.start()
        runner = web.AppRunner(bot.web, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        signin = SignIn(settings, bot.db, bot.clients)
        admin = await signin.open_session(Identity(TEAM, ADMIN, None, None), is_admin=True, now=now)
        member = await signin.open_session(
            Identity(TEAM, MEMBER, None, None), is_admin=False, now=now
        )
        load_before = os.getloadavg()[0]
        try:
            async with aiohttp.ClientSession() as http:
                page = f"{base}/dashboard/workspace"
                first, shown = await until_shown(http, page, admin)
                results["workspace_cold_first_answer"] = summary([first])
                results["workspace_cold_until_figures"] = summary([shown])
                warm = [(await timed(http, page, admin))[0] for _ in range(args.repeat)]
                results["workspace_warm"] = summary(warm)
                results["workspace_bytes"] = (await timed(http, page, admin))[2]
                since = (now - timedelta(weeks=26)).date().isoformat()
                other = f"{page}?since={since}&until={now.date().isoformat()}"
                first, shown = await until_shown(http, other, admin)
                results["workspace_26_weeks_cold_first_answer"] = summary([first])
                results["workspace_26_weeks_cold_until_figures"] = summary([shown])
                csv = f"{base}/dashboard/workspace.csv?since={since}&until={now.date()}"
                results["csv_warm"] = summary(
                    [(await timed(http, csv, admin))[0] for _ in range(args.repeat)]
                )
                for name, path, cookie in (
                    ("settings", "/dashboard/settings", admin),
                    ("me", "/dashboard/me", member),
                ):
                    samples = []
                    for _ in range(args.repeat):
                        seconds, status, _ = await timed(http, f"{base}{path}", cookie)
                        assert status == 200, (path, status)
                        samples.append(seconds)
                    results[name] = summary(samples)
            started = time.perf_counter()
            async with bot.db.session() as session:
                built = await report.build(session, team_id=TEAM, until=now)
            results["report_build_only"] = summary([time.perf_counter() - started])
            started = time.perf_counter()
            async with bot.db.session() as session:
                await recognition.recognition_headline(session, team_id=TEAM, until=now)
            results["headline_queries_only"] = summary([time.perf_counter() - started])
            chrome = pages.Chrome(True, "x", pages.WORKSPACE)
            render = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                pages.workspace_page(built, chrome=chrome, until=now.date())
                render.append(time.perf_counter() - started)
            results["render_only"] = summary(render)
        finally:
            await runner.cleanup()
            await bot.close()
    results["load_average"] = (load_before + os.getloadavg()[0]) / 2
    results["load_seconds"] = load_seconds
    results["people"], results["kudos"] = args.people, args.kudos
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--kudos", type=int, default=1_000_000)
    parser.add_argument("--commitments", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-admin", default=PG_ADMIN_DSN)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    load = results["load_average"]
    print(f"\n{args.people:,} people, {args.kudos:,} kudos; load average {load:.1f}")
    print(f"{'page':<40} {'median':>8} {'max':>8}  n")
    for name, figures in results.items():
        if isinstance(figures, dict) and "median_s" in figures:
            print(
                f"{name:<40} {figures['median_s'] * 1000:>6.0f}ms {figures['max_s'] * 1000:>6.0f}ms"
                f"  {figures['n']}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    pages_ = ("workspace_cold_first_answer", "workspace_warm", "settings", "me")
    warm = max(results[k]["median_s"] for k in pages_)
    verdict = "met" if warm < TARGET_SECONDS else "NOT met"
    print(f"target < {TARGET_SECONDS:.0f} s for a page: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
