"""`allybot serve --workers N`: the serving process records and answers; worker processes
do the work after the ack, and stop with it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from allybot import workers
from bot import arrivals
from bot.db import Database
from bot.inbox import Inbox, Work
from bot.models import Inbound, Kudos
from bot.services import inbound
from tests.conftest import Server, Team, server_env, start_server, stopped
from tests.slack_double import SlackDouble


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text(
        errors="replace"
    )


async def test_workers_do_the_work_and_stop_with_the_server(
    fresh_db: tuple[str, Database], slack: SlackDouble, team: Team, tmp_path: Path
) -> None:
    url, db = fresh_db
    log_path = tmp_path / "allybot.log"
    process, base = await start_server(
        server_env(url, slack.url), log_path, "--tick-seconds", "0", "--workers", "2"
    )
    try:
        for _ in range(500):  # both workers up
            if log_path.read_text(errors="replace").count("allybot worker started") == 2:
                break
            await asyncio.sleep(0.02)
        workers = _children(process.pid)
        assert len(workers) == 2, log_path.read_text(errors="replace")

        giver, ann, bob = team.user("giver"), team.user("ann"), team.user("bob")
        async with aiohttp.ClientSession() as http:
            server = Server(url=base, process=process, log_path=log_path, http=http)
            first, _ = team.command("/kudos", f"<@{ann}|ann> sharp review", user_id=giver)
            second, _ = team.command("/kudos", f"<@{bob}|bob> calm on-call", user_id=giver)
            for body in (first, second):
                assert (await server.post(body))[0] == 200
            assert (await server.post(first, retry_num=1))[0] == 200  # Slack's retry
            await slack.wait_for("chat.postMessage", channel=ann)
            await slack.wait_for("chat.postMessage", channel=bob)
            status, metrics = await server.get("/metrics")
            assert status == 200
            served = {
                line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
                for line in metrics.splitlines()
                if line.startswith("allybot_deliveries_total{")
            }
            assert served.get('kind="kudos_command",outcome="recorded"') == 2, served
            assert served.get('kind="kudos_command",outcome="duplicate"') == 1, served
            assert 'kind="kudos_command",outcome="done"' not in served, "none worked on in serve"

        async with db.session() as session:
            kudos = (
                await session.execute(
                    select(func.count()).select_from(Kudos).where(Kudos.team_id == team.team_id)
                )
            ).scalar_one()
            statuses = (
                await session.execute(
                    select(Inbound.status, Inbound.attempts).where(Inbound.team_id == team.team_id)
                )
            ).all()
        assert kudos == 2, "each kudos once, the retry included"
        for _ in range(100):  # the worker marks a delivery done just after its last post
            async with db.session() as session:
                statuses = (
                    await session.execute(
                        select(Inbound.status, Inbound.attempts).where(
                            Inbound.team_id == team.team_id
                        )
                    )
                ).all()
            if all(status == "done" for status, _ in statuses):
                break
            await asyncio.sleep(0.05)
        assert sorted(statuses) == [("done", 1), ("done", 1)], "worked on once, by one worker"
    finally:
        code = await stopped(process)
    assert code == 0, log_path.read_text(errors="replace")
    assert not any(_alive(pid) for pid in workers), "the workers stopped with the server"


async def _deaf(self: arrivals.Arrivals) -> None:
    await asyncio.Event().wait()


class _NoSlack:
    async def for_team(self, team_id: str) -> Any:
        return None


async def test_an_idle_worker_wakes_on_the_signal_not_on_its_poll(
    fresh_db: tuple[str, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the fallback poll an hour away, a delivery is still worked on once signalled."""
    _, db = fresh_db
    monkeypatch.setattr(arrivals, "POLL", 3600.0)
    monkeypatch.setattr(arrivals, "POLL_LISTENING", 3600.0)
    # PostgreSQL's notifications would wake it too: here, only the signal may.
    monkeypatch.setattr(arrivals.Arrivals, "_listen", _deaf)
    seen: list[int] = []
    inbox = Inbox(db, _NoSlack())  # type: ignore[arg-type]

    async def count(work: Work) -> None:
        seen.append(int(work.body["n"]))

    inbox.handlers["count"] = count
    bot = SimpleNamespace(inbox=inbox)
    stop = asyncio.Event()
    worker = asyncio.create_task(workers.work_until(bot, stop))  # type: ignore[arg-type]
    try:
        await asyncio.sleep(0.3)  # it looked, found nothing, and sleeps
        for n in (1, 2):
            async with db.session() as session:
                await inbound.record_many(
                    session,
                    rows=[{"team_id": "T1", "key": f"k{n}", "kind": "count", "payload": {"n": n}}],
                    now=datetime.now(UTC),
                )
            os.kill(os.getpid(), workers.WAKE_SIGNAL)
            for _ in range(100):
                if n in seen:
                    break
                await asyncio.sleep(0.05)
        assert seen == [1, 2], "each delivery worked on once, right after its signal"
    finally:
        stop.set()
        await asyncio.wait_for(worker, 10)


async def test_a_wake_up_sent_while_a_worker_starts_does_not_end_it(
    fresh_db: tuple[str, Database], slack: SlackDouble, team: Team, tmp_path: Path
) -> None:
    """Kudos posted the moment serve listens, before its worker can take the signal."""
    url, _ = fresh_db
    log_path = tmp_path / "allybot.log"
    process, base = await start_server(
        server_env(url, slack.url), log_path, "--tick-seconds", "0", "--workers", "1"
    )
    try:
        giver, ann = team.user("giver"), team.user("ann")
        async with aiohttp.ClientSession() as http:
            server = Server(url=base, process=process, log_path=log_path, http=http)
            body, _ = team.command("/kudos", f"<@{ann}|ann> sharp review", user_id=giver)
            assert (await server.post(body))[0] == 200
            # The worker's start (imports, migrations) comes first: on a busy machine, slow.
            await slack.wait_for("chat.postMessage", channel=ann, timeout=90)
    finally:
        code = await stopped(process)
    log = log_path.read_text(errors="replace")
    assert code == 0, log
    assert "worker exited" not in log, log


def _ignore_hangups() -> None:
    """What `nohup` (or a shell's background job) does before starting a command."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


async def test_workers_ignore_what_serve_was_started_ignoring(
    fresh_db: tuple[str, Database], slack: SlackDouble, tmp_path: Path
) -> None:
    """`nohup allybot serve --workers 2 &`, then the terminal hangs up: the shell sends SIGHUP
    to the whole job. serve ignores it, as it was told to; so must its workers (a child
    started by fork and exec keeps what its parent ignores), rather than all of them dying
    at once and being started again, the work they were doing left for a lease to run out."""
    url, _ = fresh_db
    log_path = tmp_path / "allybot.log"
    process, _ = await start_server(
        server_env(url, slack.url),
        log_path,
        "--tick-seconds",
        "0",
        "--workers",
        "2",
        preexec_fn=_ignore_hangups,
        start_new_session=True,  # a job of its own, as a shell starts it
    )
    try:
        for _ in range(1500):  # both workers up
            if log_path.read_text(errors="replace").count("allybot worker started") == 2:
                break
            await asyncio.sleep(0.02)
        started = sorted(_children(process.pid))
        assert len(started) == 2, log_path.read_text(errors="replace")
        os.killpg(process.pid, signal.SIGHUP)  # the hang-up, to the job's process group
        await asyncio.sleep(1.5)
        log = log_path.read_text(errors="replace")
        assert "worker exited" not in log, log
        assert sorted(_children(process.pid)) == started
        assert all(_alive(pid) for pid in started)
    finally:
        code = await stopped(process)
    assert code == 0, log_path.read_text(errors="replace")
