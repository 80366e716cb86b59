"""`allybot report`: which workspace, how long it is taking, and where the figures go."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot import i18n, report_html
from bot.db import Database
from bot.models import Workspace
from bot.preflight import open_database
from bot.services import report
from bot.settings import Settings

# As the dashboard's range: a year and a week of weekly figures.
MAX_RANGE = timedelta(weeks=53)
SLOW = 1.0  # seconds before the report says on stderr what it is doing


class Progress:
    """A line on stderr for each stage once the report has taken longer than a second."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.stage = "starting"

    def __call__(self, stage: str) -> None:
        self.stage = stage
        elapsed = time.monotonic() - self.started
        if elapsed > SLOW:
            print(f"allybot report: {stage} ({elapsed:.1f} s)", file=sys.stderr, flush=True)

    async def heartbeat(self) -> None:
        """Says once, after a second, that the report is still being built."""
        await asyncio.sleep(SLOW)
        print(f"allybot report: still working, {self.stage}", file=sys.stderr, flush=True)


async def _team(db: Database, wanted: str | None) -> str | None:
    async with db.session() as session:
        teams = list(
            (await session.execute(select(Workspace.team_id).order_by(Workspace.team_id))).scalars()
        )
    if wanted is not None:
        if wanted not in teams:
            print(f"allybot: no workspace {wanted!r} in this database", file=sys.stderr)
            return None
        return wanted
    if len(teams) == 1:
        return teams[0]
    if not teams:
        print("allybot: no workspace in this database yet", file=sys.stderr)
    else:
        print(f"allybot: several workspaces; pass --team ({', '.join(teams)})", file=sys.stderr)
    return None


async def run_report(settings: Settings, args: argparse.Namespace) -> int:
    until = datetime.now(UTC)
    if args.since is not None and args.since > until.date():
        print(f"allybot: --since {args.since} is after today; nothing to report", file=sys.stderr)
        return 2
    if args.since is not None and until.date() - args.since > MAX_RANGE:
        print(
            f"allybot: --since {args.since} is more than {MAX_RANGE.days // 7} weeks ago: a "
            f"report covers at most that; pass {until.date() - MAX_RANGE} or later",
            file=sys.stderr,
        )
        return 2
    db = await open_database(settings.database_url, must_exist=True, writes=False)
    progress = Progress()
    beat = asyncio.create_task(progress.heartbeat())
    try:
        team_id = await _team(db, args.team)
        if team_id is None:
            return 2
        async with db.session() as session:
            # The HTML page is for the workspace's admins: in the workspace's language.
            workspace = await session.get(Workspace, team_id)
            speaks = workspace.language if args.html and workspace is not None else None
            with i18n.speaking(speaks):
                built = await report.build(
                    session,
                    team_id=team_id,
                    until=until,
                    since=args.since,
                    progress=progress,
                )
    finally:
        beat.cancel()
        await db.dispose()
    if args.html:
        with i18n.speaking(speaks):
            page = report_html.render(built)
        Path(args.html).write_text(page, encoding="utf-8")
    if args.json:
        print(json.dumps(report.to_dict(built), indent=2))
    elif args.html:
        print(f"wrote {args.html}: {report_html.chart_count(built)} charts")
    else:
        print(report.render_text(built), end="")
    return 0
