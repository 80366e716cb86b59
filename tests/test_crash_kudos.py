"""`allybot serve` killed (SIGKILL) in the middle of a batch of kudos, then started again:
each kudos is posted once and DMed once, and the dead process's work is finished within
seconds of its leases running out."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from bot.db import Database
from bot.models import Inbound, Kudos
from tests.conftest import Server, Team, server_env, start_server, stopped
from tests.slack_double import SlackDouble

KUDOS = 30


def posts(
    slack: SlackDouble, team: Team, receivers: list[str]
) -> tuple[Counter[str], Counter[str]]:
    """Accepted kudos posts in the channel by receiver mentioned, and DMs by receiver."""
    channel: Counter[str] = Counter()
    dms: Counter[str] = Counter()
    for call in slack.calls_to("chat.postMessage"):
        if not call.ok:
            continue
        if call.args.get("channel") == team.channel_id:
            text = str(call.args.get("text") or "")
            channel.update(r for r in receivers if f"<@{r}>" in text)
        elif call.args.get("channel") in receivers:
            dms[str(call.args["channel"])] += 1
    return channel, dms


async def pending(db: Database, team_id: str) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).where(Inbound.team_id == team_id, Inbound.status != "done")
            )
            or 0
        )


async def test_kudos_in_flight_when_serve_is_killed_go_out_exactly_once(
    fresh_db: tuple[str, Database], slack: SlackDouble, tmp_path: Path
) -> None:
    url, db = fresh_db
    team = Team(slack=slack)
    givers = [team.user(f"giver{n}") for n in range(KUDOS)]
    receivers = [team.user(f"ann{n}") for n in range(KUDOS)]
    # A lease of 4 s, not 10: the second process takes the work over as the first's leases
    # end, a few seconds after it started, as it would 10 s after the kill in production.
    env = server_env(url, slack.url, ALLYBOT_LEASE_SECONDS="4")
    # Slack takes its time to answer each post, after it has posted: a kill then lands
    # between a post reaching Slack and allybot hearing back, the case a resend would double.
    slack.delay("chat.postMessage", 0.4)
    # A clock (an hour apart) is what makes `serve` watch for a dead process's work.
    first, first_url = await start_server(env, tmp_path / "first.log", "--tick-seconds", "3600")
    second = None
    try:
        async with aiohttp.ClientSession() as http:
            server = Server(
                url=first_url, process=first, log_path=tmp_path / "first.log", http=http
            )
            bodies = [
                team.command("/kudos", f"<@{r}> kept the release calm", user_id=g)[0]
                for g, r in zip(givers, receivers, strict=True)
            ]
            answers = await asyncio.gather(*(server.post(b) for b in bodies))
            assert {status for status, _ in answers} == {200}
            await slack.wait_for(
                "chat.postMessage",
                count=12,
                timeout=30,
                where=lambda c: c.args.get("channel") in {team.channel_id, *receivers},
            )
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            killed_at = time.monotonic()
            # The kill has landed mid-answer: the process that takes over hears back at once.
            slack.delay("chat.postMessage", 0)
            in_flight = await pending(db, team.team_id)
            assert in_flight > 0, "the kill left work unfinished, as it should for this test"

            second, _ = await start_server(env, tmp_path / "second.log", "--tick-seconds", "3600")
            deadline = time.monotonic() + 60
            while await pending(db, team.team_id):
                assert time.monotonic() < deadline, (tmp_path / "second.log").read_text()
                await asyncio.sleep(0.05)
            finished_after = time.monotonic() - killed_at
            # Stopped before counting: SIGTERM lets it finish what it has under way, so
            # anything it would have doubled has been sent by the time it exits.
            assert await stopped(second) == 0, (tmp_path / "second.log").read_text()
    finally:
        slack.delay("chat.postMessage", 0)
        if first.poll() is None:
            first.kill()
        if second is not None and second.poll() is None:
            await stopped(second)
    channel, dms = posts(slack, team, receivers)
    assert channel == Counter({r: 1 for r in receivers}), "each kudos posted exactly once"
    assert dms == Counter({r: 1 for r in receivers}), "each receiver DMed exactly once"
    async with db.session() as session:
        rows = list(
            (await session.execute(select(Kudos).where(Kudos.team_id == team.team_id))).scalars()
        )
    assert len(rows) == KUDOS
    assert all(r.announced_at and r.notified_at for r in rows)
    log = (tmp_path / "second.log").read_text()
    assert len(re.findall(r"delivery done", log)) >= in_flight
    print(f"finished {in_flight} deliveries {finished_after:.1f} s after the kill")
