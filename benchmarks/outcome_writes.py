"""CPU of the writes that end every kudos: an outcome batch (deliveries marked done, version
checked, with their kudos marked posted and told, as bot.outcomes writes a batch), a save
of profiles new to allybot, and a workspace read (people.ensure_workspace, in a
transaction of its own).

Each is timed with `time.thread_time` around the whole transaction (session, statements,
commit), so a noisy machine's waits for the database do not count. With `--baseline DIR`
the same measurement runs from that checkout too, alternating rounds, in one invocation.

    .venv/bin/python benchmarks/outcome_writes.py [--batches 300] [--batch 10] [--saves 300]
        [--rounds 3] [--databases sqlite,postgresql] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # `tests` is not installed; a PYTHONPATH checkout comes first

from sqlalchemy import insert  # noqa: E402

from bot import outcomes  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.models import Kudos, Workspace  # noqa: E402
from bot.services import inbound, people  # noqa: E402

try:  # where the marks are kept, in this checkout or one from before
    from bot.services.kudos_rows import Marks
except ImportError:  # pragma: no cover
    from bot.services.kudos import Marks  # type: ignore[attr-defined,no-redef]
from tests.databases import scratch_postgres  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TEAM = "TBENCH"


async def _seed(db: Database, count: int, now: datetime) -> list[tuple[int, int]]:
    """`count` deliveries claimed by this process, each with a kudos row to mark."""
    async with db.session() as session:
        await session.execute(insert(Workspace).values(team_id=TEAM, custom_tags=[]))
        rows = [
            {"team_id": TEAM, "key": f"k{i}", "kind": "kudos_command", "payload": {"i": i}}
            for i in range(count)
        ]
        ids = await inbound.record_many(session, rows=rows, now=now, attempts=1)
        kudos = [
            {
                "team_id": TEAM,
                "giver_id": "UGIVER",
                "receiver_id": f"U{i}",
                "text": "thanks",
                "tags": [],
                "source": "command",
                "source_key": f"k{i}",
                "created_at": now,
            }
            for i in range(count)
        ]
        await session.execute(insert(Kudos), kudos)
    return [(ids[(TEAM, f"k{i}")], i + 1) for i in range(count)]


async def _measure(url: str, args: argparse.Namespace) -> dict[str, float]:
    db = Database(url)
    try:
        await upgrade(db)
        now = datetime.now(UTC)
        held = await _seed(db, args.batches * args.batch, now)
        writer = outcomes.Outcomes(db)
        batches: list[float] = []
        for start in range(0, len(held), args.batch):
            batch = []
            for inbound_id, kudos_id in held[start : start + args.batch]:
                marks = Marks()
                marks.announced[kudos_id] = ("C1", f"1.{kudos_id}", now)
                marks.notified[kudos_id] = now
                batch.append(outcomes._Outcome(inbound_id, 1, [marks]))
            began = time.thread_time()
            done = await writer._write(batch)  # as the group commit writes a batch
            batches.append(time.thread_time() - began)
            assert all(done), "every delivery of the batch was this process's"
        saves: list[float] = []
        for i in range(args.saves):
            profiles = [
                people.Profile(f"U{i}x{j}", f"name {j}", "Europe/Paris", False, False, False, False)
                for j in range(2)
            ]
            began = time.thread_time()
            async with db.session() as session:
                saved = await people.save_profiles(
                    session, team_id=TEAM, profiles=profiles, now=now, engaged=f"U{i}x0"
                )
            saves.append(time.thread_time() - began)
            assert len(saved) == 2
        reads: list[float] = []
        for _ in range(args.saves):
            began = time.thread_time()
            async with db.session() as session:
                workspace = await people.ensure_workspace(session, team_id=TEAM)
                assert workspace.team_id == TEAM
            reads.append(time.thread_time() - began)
        return {
            "batch_ms": statistics.median(batches) * 1000,
            "save_ms": statistics.median(saves) * 1000,
            "workspace_ms": statistics.median(reads) * 1000,
        }
    finally:
        await db.dispose()


async def _one(database: str, args: argparse.Namespace) -> dict[str, float]:
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return await _measure(f"sqlite:///{tmp}/bench.db", args)
    async with scratch_postgres(args.pg_admin, prefix="allybot_bench") as url:
        return await _measure(url, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10, help="deliveries per outcome batch")
    parser.add_argument("--saves", type=int, default=300, help="saves of two new profiles")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child: one round on one database, figures as JSON
        print(json.dumps(asyncio.run(_one(args.one, args))))
        return
    builds = {"this": None, "baseline": args.baseline} if args.baseline else {"this": None}
    figures: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.rounds):
        for database in args.databases.split(","):
            for name, checkout in builds.items():
                env = dict(os.environ)
                if checkout is not None:
                    env["PYTHONPATH"] = str(checkout)
                argv = [sys.executable, __file__, "--one", database]
                argv += ["--batches", str(args.batches), "--batch", str(args.batch)]
                argv += ["--saves", str(args.saves), "--pg-admin", args.pg_admin]
                out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
                figures.setdefault((database, name), []).append(json.loads(out.stdout))
    print(f"CPU (thread time) medians over {args.rounds} rounds; batch of {args.batch} outcomes")
    print(f"{'database':<11}{'build':<10}{'per batch ms':>14}{'per save ms':>13}{'read ms':>9}")
    for (database, name), runs in figures.items():
        batch: Any = statistics.median(r["batch_ms"] for r in runs)
        save: Any = statistics.median(r["save_ms"] for r in runs)
        read: Any = statistics.median(r["workspace_ms"] for r in runs)
        print(f"{database:<11}{name:<10}{batch:>14.3f}{save:>13.3f}{read:>9.3f}")


if __name__ == "__main__":
    main()
