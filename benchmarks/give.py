"""CPU of the statements behind one kudos: its give and its receiver's DM admission.

`kudos.give` (the giver's and pair's lock, the three-rule read, the INSERT) and
`dm_budget.admit`, in one transaction as the handler runs them, N times in a row from
distinct givers to 50 receivers (no limit is reached), on a fresh migrated database. CPU is
this process's own (time.thread_time: the event loop's thread, which runs SQLAlchemy and the
driver; PostgreSQL's server is another process). With `--baseline DIR` the same measurement
runs again, in a child process, on the code of another checkout, alternating, in the same
invocation; the table gives the medians.

    .venv/bin/python benchmarks/give.py [-n 2000] [--rounds 3]
        [--databases postgresql,sqlite] [--baseline DIR]
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
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
WARM_UP = 100


async def measure(database: str, n: int) -> float:
    """µs of CPU per give with its admission, on this process's code."""
    from bot.db import Database
    from bot.migrate import upgrade
    from bot.models import Person, Workspace
    from bot.services import dm_budget, kudos, people
    from tests.databases import scratch_postgres

    async def run(url: str) -> float:
        db = Database(url)
        try:
            await upgrade(db)
            at = datetime.now(UTC)
            async with db.session() as session:
                await people.ensure_workspace(session, team_id="T1")
                # The receivers are people allybot knows (a kudos to someone not stored
                # stores nothing: they erased their data since the kudos was read).
                receivers = [
                    people.Profile(f"UR{r:03d}", f"r{r}", "UTC", False, False, False, False)
                    for r in range(50)
                ]
                await people.save_profiles(session, team_id="T1", profiles=receivers, now=at)
            async with db.session() as session:
                workspace = await session.get(Workspace, "T1")
            assert workspace is not None

            async def one(i: int) -> None:
                giver = Person(team_id="T1", user_id=f"UG{i:06d}", tz="Europe/Madrid")
                receiver = f"UR{i % 50:03d}"
                parsed = kudos.ParsedKudos(receivers=(receiver,), reason="thanks", tags=("team",))
                common: dict[str, Any] = {
                    "workspace": workspace,
                    "giver": giver,
                    "parsed": parsed,
                    "channel_id": "C1",
                    "source": "command",
                    "source_key": f"command:/kudos:{i}",
                    "now": at,
                }
                async with db.session() as session:
                    if hasattr(kudos, "Telling"):  # the DM admitted by the give itself
                        telling = kudos.Telling(zones={receiver: "UTC"}, key_suffix="")
                        given = await kudos.give(session, telling=telling, **common)
                        assert len(given.admissions) == 1, "stored, and its DM admitted"
                        return
                    given = await kudos.give(session, **common)  # a checkout from before
                    assert len(given.kudos) == 1, "stored"
                    await dm_budget.admit(
                        session,
                        team_id="T1",
                        sender_id=giver.user_id,
                        recipient_id=receiver,
                        kind="kudos",
                        key=f"kudos:{given.kudos[0].id}",
                        ref={"kudos": given.kudos[0].id},
                        now=at,
                        recipient_tz="UTC",
                        locked=True,
                    )

            for i in range(WARM_UP):
                await one(i)
            started = time.thread_time()
            for i in range(WARM_UP, WARM_UP + n):
                await one(i)
            return (time.thread_time() - started) / n * 1e6
        finally:
            await db.dispose()

    if database == "postgresql":
        async with scratch_postgres(PG_ADMIN, prefix="allybot_give") as url:
            return await run(url)
    with tempfile.TemporaryDirectory() as tmp:
        return await run(f"sqlite:///{tmp}/give.db")


def in_child(code: Path, database: str, n: int) -> float:
    """The same measurement on another checkout's code, in a process of its own."""
    env = dict(os.environ, PYTHONPATH=f"{code}{os.pathsep}{ROOT}")
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "give.py"), "--one", database, "-n", str(n)],
        env=env,
        cwd=code,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["us"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--baseline", type=Path, default=None)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps({"us": asyncio.run(measure(args.one, args.n))}))
        return 0
    print(f"give + DM admission, {args.n} in a row, medians of {args.rounds} rounds")
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| database | code | µs CPU per give [rounds] | × baseline |")
    print("|---|---|---|---|")
    for database in args.databases.split(","):
        mine: list[float] = []
        base: list[float] = []
        for _ in range(args.rounds):
            mine.append(in_child(ROOT, database, args.n))
            if args.baseline is not None:
                base.append(in_child(args.baseline.resolve(), database, args.n))
        each = ", ".join(f"{v:.0f}" for v in mine)
        ratio = f"{statistics.median(mine) / statistics.median(base):.2f}" if base else ""
        print(f"| {database} | this | {statistics.median(mine):.0f} [{each}] | {ratio} |")
        if base:
            each = ", ".join(f"{v:.0f}" for v in base)
            print(f"| {database} | baseline | {statistics.median(base):.0f} [{each}] | |")
    return 0


if __name__ == "__main__":
    sys.path.append(str(ROOT))  # after PYTHONPATH: a baseline child runs its own code
    raise SystemExit(main())
